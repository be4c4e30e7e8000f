import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, tempDir } from '../helpers';

/*
 * Another team's CDK app installs the packed package and uses Purpose in its own stack.
 * The install prefers the npm cache that `npm ci` filled, and falls back to the registry.
 */

const CONSUMER_APP = `
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Purpose, SageMakerCreateProcessingJob } from 'batcat-cdk';
import { ProjectStack, loadProject } from 'batcat-cdk/app';

const app = new App({ outdir: path.join(__dirname, 'cdk.out') });
const stack = new Stack(app, 'TeamStack', { stackName: 'team-stack' });
const bucket = new s3.Bucket(stack, 'TeamData', { enforceSSL: true });
const topic = new sns.Topic(stack, 'TeamAlarms');
const purpose = new Purpose(stack, 'Forecast', {
  purposeName: 'forecast',
  bucket,
  notificationTopic: topic,
  containerDirectory: path.join(__dirname, 'forecast'),
  inputs: [{ name: 'features', keyPrefix: 'curated/features/' }],
  outputs: [{ name: 'predictions' }],
});
// A processing job here; a Spark purpose on EMR Serverless has none (purpose.job is the state either way).
const task: SageMakerCreateProcessingJob | undefined = purpose.processingJob;
if (task !== purpose.job) throw new Error('purpose.job is not its processing job');
console.log(JSON.stringify({ jobNamePrefix: purpose.jobNamePrefix, task: purpose.job.node.id, projectStack: typeof ProjectStack, loadProject: typeof loadProject }));
app.synth();
`;

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `npm install` in `dir`, of `specs` or else of its package.json, from npm's cache where it can. */
function npmInstall(dir: string, ...specs: string[]): void {
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', ...specs], dir);
}

const packDir = tempDir('batcat-pack-');
const tarballs: string[] = [];
beforeAll(() => {
  run('npm', ['pack', '--silent', '--pack-destination', packDir], REPO_ROOT);
  tarballs.push(...fs.readdirSync(packDir).filter((f) => f.endsWith('.tgz')));
});

test('the packed package installs into a fresh CDK app, which synthesizes a Purpose in its own stack', () => {
  expect(tarballs).toEqual(['batcat-cdk-0.1.0.tgz']);

  const listing = run('tar', ['-tzf', path.join(packDir, tarballs[0])], packDir).split('\n');
  expect(listing).toEqual(expect.arrayContaining(['package/dist/lib/index.js', 'package/dist/lib/index.d.ts', 'package/README.md']));
  expect(listing.filter((f) => f.startsWith('package/test/') || f.startsWith('package/dist/test/'))).toEqual([]);

  const app = tempDir('batcat-consumer-');
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  const lock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8'));
  const version = (name: string) => lock.packages[`node_modules/${name}`].version;
  npmInstall(app, path.join(packDir, tarballs[0]), `aws-cdk-lib@${version('aws-cdk-lib')}`, `constructs@${version('constructs')}`);
  // Construct users do not install the AWS SDK (an optional peer, for the batcat command and batcat-cdk/io).
  expect(fs.existsSync(path.join(app, 'node_modules', '@aws-sdk'))).toBe(false);
  const batcat = path.join(app, 'node_modules', '.bin', 'batcat');
  // The command starts without it, and init (what npx --package=... batcat init runs) works.
  run(batcat, ['init', 'sdk-free', '--purpose', 'first'], app);
  expect(fs.existsSync(path.join(app, 'sdk-free', 'projects', 'sdk-free.yaml'))).toBe(true);
  // A command that calls AWS names what is missing and how to get it.
  const refused = spawnSync(batcat, ['runs', 'sdk-free', 'first'], { cwd: path.join(app, 'sdk-free'), encoding: 'utf8' });
  expect([refused.status, refused.stderr]).toEqual([
    2,
    expect.stringMatching(/this command needs the AWS SDK \(@aws-sdk\/client-\w+ is not installed\); run npm install in the project/),
  ]);

  fs.mkdirSync(path.join(app, 'forecast'));
  fs.writeFileSync(path.join(app, 'forecast', 'Dockerfile'), 'FROM public.ecr.aws/docker/library/python:3.12-slim\n');
  fs.writeFileSync(path.join(app, 'app.ts'), CONSUMER_APP);
  // Type-check and compile against the installed declarations, as the other team's build would.
  run(
    process.execPath,
    [
      path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '--strict',
      '--esModuleInterop',
      '--skipLibCheck',
      '--module',
      'commonjs',
      '--target',
      'es2022',
      '--types',
      'node',
      '--typeRoots',
      path.join(REPO_ROOT, 'node_modules', '@types'),
      'app.ts',
    ],
    app,
  );
  const out = JSON.parse(run(process.execPath, ['app.js'], app).trim().split('\n').pop()!);
  expect(out).toMatchObject({
    jobNamePrefix: expect.stringMatching(/^forecast-[0-9a-f]{6}$/),
    task: 'RunProcessingJob',
    projectStack: 'function',
    loadProject: 'function',
  });

  // The constructs alone, as another team's stack imports them: aws-cdk-lib and constructs, nothing else.
  fs.writeFileSync(
    path.join(app, 'constructs.js'),
    String.raw`
const loaded = () => Object.keys(require.cache).filter((k) => !k.endsWith('constructs.js'));
const constructs = require('batcat-cdk/constructs');
const atImport = loaded().length;
const { Purpose } = constructs;
const root = require('batcat-cdk');
const packages = new Set(loaded().map((k) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(k)?.[1] ?? 'consumer'));
console.log(JSON.stringify({ atImport, purpose: typeof Purpose, same: root.Purpose === Purpose, packages: [...packages].sort() }));
`,
  );
  // Importing loads the entry file alone; reading Purpose loads what it needs, and only aws-cdk-lib and constructs besides.
  expect(JSON.parse(run(process.execPath, ['constructs.js'], app).trim())).toEqual({
    atImport: 1,
    purpose: 'function',
    same: true,
    packages: ['aws-cdk-lib', 'batcat-cdk', 'constructs'],
  });

  // The IO library alone, as a script or a Lambda function uses it, with the SDK clients it names as peers: no aws-cdk-lib loaded.
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
  const ioClients = ['client-s3', 'client-athena', 'client-glue', 'client-redshift-data', 'lib-storage'].map((n) => `@aws-sdk/${n}`);
  npmInstall(app, ...ioClients.map((n) => `${n}@${pkg.devDependencies[n]}`));
  fs.writeFileSync(
    path.join(app, 'io.js'),
    "const io = require('batcat-cdk/io');\n" +
      "console.log(JSON.stringify({ exports: Object.keys(io).sort(), cdk: Object.keys(require.cache).some((k) => k.includes('aws-cdk-lib')) }));\n",
  );
  const io = JSON.parse(run(process.execPath, ['io.js'], app).trim());
  expect(io.cdk).toBe(false);
  expect(io.exports).toEqual(
    expect.arrayContaining([
      'readCsvFromBucket',
      'readCsvBatchesFromBucket',
      'saveToBucket',
      'listKeys',
      'runAthenaQuery',
      'readAthenaRows',
      'describeTable',
      'listPartitions',
      'requireTables',
      'queryRedshift',
      'pullPrefix',
      'pushFolder',
      'NoSuchKeyError',
    ]),
  );

  const template = JSON.parse(fs.readFileSync(path.join(app, 'cdk.out', 'TeamStack.template.json'), 'utf8'));
  const resources = Object.values<any>(template.Resources);
  const machines = resources.filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  // Named by nobody: generated from the stack name and the construct path.
  const names = machines.map((m) => m.Properties.StateMachineName).sort();
  expect(names).toEqual([expect.stringMatching(/^team-stack-Forecast-[0-9A-F]{8}$/), `${names[0]}-backfill`]);
  expect(JSON.stringify(machines.find((m) => m.Properties.StateMachineName === names[0]).Properties.DefinitionString)).toContain(
    ':states:::sagemaker:createProcessingJob.sync',
  );
  expect(resources.filter((r) => r.Type === 'AWS::CloudWatch::Alarm')).toHaveLength(6);

  // The trigger, the commit of results and the run manifest were bundled from the published JavaScript with the esbuild the package brings.
  const functions = resources.filter((r) => r.Type === 'AWS::Lambda::Function');
  const trigger = functions.find((f) => f.Properties.FunctionName === `${names[0]}-trigger`);
  const commit = functions.find((f) => /commits the results/.test(f.Properties.Description));
  const runManifest = functions.find((f) => /records the manifests/.test(f.Properties.Description));
  const redriveGate = functions.find((f) => /ends failed runs/.test(f.Properties.Description));
  expect(functions).toHaveLength(4);
  for (const f of [trigger, commit, runManifest, redriveGate]) {
    expect(f.Properties).toMatchObject({ Runtime: 'nodejs24.x', Handler: 'index.handler' });
  }
  const bundle = (f: any) => path.join(app, 'cdk.out', `asset.${f.Properties.Code.S3Key.replace(/\.zip$/, '')}`, 'index.js');
  expect(fs.readFileSync(bundle(trigger), 'utf8')).toContain('ExecutionAlreadyExists');
  expect(fs.readFileSync(bundle(commit), 'utf8')).toContain('.manifest.json');
  expect(fs.readFileSync(bundle(runManifest), 'utf8')).toContain('ListObjectVersions');
  expect(fs.readFileSync(bundle(redriveGate), 'utf8')).toContain('BatCat.RunFailed');
});

test('a project made by batcat init installs, passes doctor, synthesizes, runs its purpose locally, and guards its pull requests from a clean clone', () => {
  const cwd = tempDir('batcat-init-e2e-');
  const cli = path.join(REPO_ROOT, 'dist', 'lib', 'cli', 'bin.js'); // built by npm pack's prepack
  run(
    process.execPath,
    [cli, 'init', '2026-rnd-battery', '--purpose', 'cell-aging', '--batcat-version', path.join(packDir, tarballs[0])],
    cwd,
  );
  const dir = path.join(cwd, '2026-rnd-battery');
  npmInstall(dir);
  // The installed bin, as the README's getting-started section uses it.
  const batcat = path.join(dir, 'node_modules', '.bin', 'batcat');
  expect(run(batcat, ['doctor'], dir)).toContain('✓ project files: OK, projects/2026-rnd-battery.yaml (1 purpose)');
  // As the README says: the scaffold's cdk.json is quiet, and the app prints a summary instead of the template.
  const synth = spawnSync(path.join(dir, 'node_modules', '.bin', 'cdk'), ['synth'], { cwd: dir, encoding: 'utf8' });
  expect(synth.status).toBe(0);
  expect(synth.stdout).not.toContain('Resources:');
  expect(synth.stderr).toMatch(
    /^batcat: batcat-2026-rnd-battery-dev: 1 purpose, 3 templates, \d+ resources; largest template \d+ KB of 1000 KB/m,
  );
  expect(synth.stderr).toContain("batcat: checks passed: cdk-nag AwsSolutions, template size, CloudFormation's own validation;");
  const template = JSON.parse(fs.readFileSync(path.join(dir, 'cdk.out', 'batcat-2026-rnd-battery-dev.template.json'), 'utf8'));
  // The purpose's nested stack and the dashboard's.
  expect(Object.values<any>(template.Resources).filter((r) => r.Type === 'AWS::CloudFormation::Stack')).toHaveLength(2);
  const report = JSON.parse(fs.readFileSync(path.join(dir, 'cdk.out', 'validation-report.json'), 'utf8'));
  expect(report.pluginReports.flatMap((p: any) => p.violations)).toEqual([]);

  fs.mkdirSync(path.join(dir, 'data', 'raw', 'cell-aging', 'dt=2026-01-05'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'data', 'raw', 'cell-aging', 'dt=2026-01-05', 'cells.csv'), 'cell,capacity\nc1,2.9\n');
  expect(run(batcat, ['run-local', '2026-rnd-battery', 'cell-aging', '--date', '2026-01-05', '--engine', 'namespace'], dir)).toContain(
    'run cell-aging-20260105-a1 succeeded',
  );
  expect(fs.readFileSync(path.join(dir, 'data', 'result', 'cell-aging', 'dt=2026-01-05', 'result', 'summary.csv'), 'utf8')).toContain(
    'cells.csv,1,2,2026-01-05,2026-01-05',
  );

  // The pull-request guard: the first npm test writes the template snapshots, which are committed.
  const first = spawnSync('npm', ['test'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '' } });
  expect([first.status, first.stderr]).toEqual([0, expect.stringMatching(/snapshots? written/)]);
  const git = (cwd: string, ...args: string[]) => run('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], cwd);
  git(dir, 'init', '-q');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'the project');
  expect(git(dir, 'ls-files')).toMatch(/^test\/__snapshots__\/stacks\.test\.js\.snap$/m);
  expect(git(dir, 'ls-files')).toMatch(/^vendor\/batcat-cdk-0\.1\.0\.tgz$/m);

  // A colleague's clone, or CI: installs from the lockfile and the vendored package alone, with an empty npm cache.
  const clone = path.join(tempDir('batcat-clone-'), 'clone');
  run('git', ['clone', '-q', dir, clone], cwd);
  run('npm', ['ci', '--cache', tempDir('batcat-empty-cache-'), '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], clone);
  const ci = { ...process.env, CI: 'true' };
  const same = spawnSync('npm', ['test'], { cwd: clone, encoding: 'utf8', env: ci });
  expect([same.status, same.stderr]).toEqual([0, expect.stringMatching(/Snapshots:\s+\d+ passed/)]);

  // A pull request that changes the instance type fails, with a diff that names the field.
  const projectFile = path.join(clone, 'projects', '2026-rnd-battery.yaml');
  const yaml = fs.readFileSync(projectFile, 'utf8');
  expect(yaml).toMatch(/^ {4}instanceType: ml\.m5\.large/m);
  fs.writeFileSync(projectFile, yaml.replace(/^( {4}instanceType: )ml\.m5\.large/m, '$1ml.m5.xlarge'));
  const changed = spawnSync('npm', ['test'], { cwd: clone, encoding: 'utf8', env: ci });
  expect(changed.status).not.toBe(0);
  expect(changed.stderr).toMatch(/-\s+"InstanceType": "ml\.m5\.large",\n\s+\+\s+"InstanceType": "ml\.m5\.xlarge",/);
});
