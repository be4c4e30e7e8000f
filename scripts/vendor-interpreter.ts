/*
 * Copies the local Step Functions interpreter, aws-local-stepfunctions, into lib/local/vendor/
 * from the npm registry: its CommonJS build, its types and its licence (MIT), unchanged.
 *
 * Why vendored: its package declares `engines: { node: '>=22' }`, so every install on Node.js
 * 20, which batcat-cdk supports, printed EBADENGINE; its code runs on Node.js 20 with the one
 * fix lib/local/interpreter.ts applies (Promise.withResolvers). Its dependencies are ours
 * (package.json): @aws-sdk/client-lambda, @aws-sdk/credential-providers, asl-validator,
 * jsonpath-plus, p-limit and wildcard-match.
 *
 *   npm run vendor:interpreter [-- <version>]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const version = process.argv[2] ?? '3.0.0';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'batcat-vendor-'));
const tarball = execFileSync('npm', ['pack', `aws-local-stepfunctions@${version}`, '--silent'], { cwd: work, encoding: 'utf8' }).trim();
execFileSync('tar', ['xzf', tarball], { cwd: work });
const pkg = path.join(work, 'package');
const out = path.join(__dirname, '..', 'lib', 'local', 'vendor');
fs.mkdirSync(out, { recursive: true });
const header = `/* aws-local-stepfunctions ${version} (https://github.com/nibble-4bits/aws-local-stepfunctions), MIT licence: see aws-local-stepfunctions.LICENSE. Copied by scripts/vendor-interpreter.ts; do not edit. */\n`;
fs.writeFileSync(path.join(out, 'aws-local-stepfunctions.cjs'), header + fs.readFileSync(path.join(pkg, 'build', 'main.node.cjs'), 'utf8'));
fs.writeFileSync(path.join(out, 'aws-local-stepfunctions.d.ts'), header + fs.readFileSync(path.join(pkg, 'build', 'main.d.ts'), 'utf8'));
fs.copyFileSync(path.join(pkg, 'LICENSE'), path.join(out, 'aws-local-stepfunctions.LICENSE'));
const deps: Record<string, string> = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')).dependencies;
console.log(
  `vendored aws-local-stepfunctions ${version} into ${path.relative(process.cwd(), out)}/; its dependencies, which package.json must have:`,
);
for (const [name, range] of Object.entries(deps)) console.log(`  ${name} ${range}`);
