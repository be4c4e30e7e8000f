import * as fs from 'node:fs';
import * as path from 'node:path';

let root: string | undefined;

/** This package's own folder (holding package.json), from the source tree or from dist/; looked up once per process. */
export function packageRoot(): string {
  return (root ??= findPackageRoot());
}

function findPackageRoot(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file) && JSON.parse(fs.readFileSync(file, 'utf8')).name === 'batcat-cdk') return dir;
  }
  throw new Error(`cannot find the batcat-cdk package above ${__dirname}`);
}
