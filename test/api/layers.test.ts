import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../helpers';

/*
 * The import rules of lib/README.md, checked on every file: a folder imports only the folders
 * below it, the contract imports nothing, constructs never load the AWS SDK, and code that
 * runs in AWS never loads aws-cdk-lib.
 */

const MAY_IMPORT: Record<string, string[]> = {
  contract: [],
  io: ['contract'],
  runtime: ['contract'],
  config: ['contract'],
  constructs: ['contract'],
  app: ['contract', 'config', 'constructs'],
  local: ['contract', 'config', 'runtime', 'app'],
  cli: ['contract', 'config', 'runtime', 'app', 'io', 'local', 'constructs'],
};
const NO_CDK = ['contract', 'io', 'runtime', 'config'];
const NO_SDK = ['contract', 'config', 'constructs', 'app'];

function filesBelow(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesBelow(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const LIB = path.join(REPO_ROOT, 'lib');
const imports = (file: string) => [...fs.readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from '([^']+)';/gm)].map((m) => m[1]);

test('every lib/ folder is a layer of lib/README.md', () => {
  const folders = fs
    .readdirSync(LIB, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  expect(folders.sort()).toEqual(Object.keys(MAY_IMPORT).sort());
  const readme = fs.readFileSync(path.join(LIB, 'README.md'), 'utf8');
  for (const f of folders) expect(readme).toContain(`| \`${f}/\` |`);
});

test.each(Object.keys(MAY_IMPORT))('lib/%s imports only what its layer may', (layer) => {
  const problems: string[] = [];
  for (const file of filesBelow(path.join(LIB, layer))) {
    for (const spec of imports(file)) {
      const shown = `${path.relative(REPO_ROOT, file)} imports '${spec}'`;
      if (spec.startsWith('.')) {
        const target = path.relative(LIB, path.resolve(path.dirname(file), spec)).split(path.sep)[0];
        if (target !== layer && !MAY_IMPORT[layer].includes(target)) problems.push(shown);
      } else if (NO_CDK.includes(layer) && /^(aws-cdk-lib|constructs|cdk-nag)(\/|$)/.test(spec)) {
        problems.push(shown);
      } else if (NO_SDK.includes(layer) && spec.startsWith('@aws-sdk/')) {
        problems.push(shown);
      }
    }
  }
  expect(problems).toEqual([]);
});

test('the check sees imports: the example file of each kind is found', () => {
  expect(imports(path.join(LIB, 'constructs', 'purpose.ts'))).toContain('aws-cdk-lib/aws-stepfunctions');
  expect(imports(path.join(LIB, 'io', 's3.ts'))).toContain('../contract/s3-uri');
});
