import * as fs from 'node:fs';
import * as path from 'node:path';

/** This package's own folder (holding package.json and cdk.json), from the source tree or from dist/. */
export function packageRoot(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file) && JSON.parse(fs.readFileSync(file, 'utf8')).name === 'batcat-cdk') return dir;
  }
  throw new Error(`cannot find the batcat-cdk package above ${__dirname}`);
}

export interface PackageInfo {
  readonly version: string;
  /** Exact versions a new project should use, from our own lockfile-pinned dependencies. */
  readonly awsCdkLib: string;
  readonly constructs: string;
  readonly awsCdkCli: string;
  /** The CDK feature flags our app is tested with. */
  readonly cdkContext: Record<string, unknown>;
}

export function packageInfo(): PackageInfo {
  const root = packageRoot();
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const cdk = JSON.parse(fs.readFileSync(path.join(root, 'cdk.json'), 'utf8'));
  const pinned = (name: string) => String(pkg.devDependencies?.[name] ?? pkg.peerDependencies?.[name] ?? '').replace(/^[\^~]/, '');
  return {
    version: pkg.version,
    awsCdkLib: pinned('aws-cdk-lib'),
    constructs: pinned('constructs'),
    awsCdkCli: pinned('aws-cdk'),
    cdkContext: cdk.context ?? {},
  };
}
