import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseDocument } from 'yaml';
import { runCli } from '../../lib/cli/main';
import { loadProject } from '../../lib/config/load-project';
import { REPO_ROOT, tempDir } from '../helpers';
import { batcat, batcatHere, exampleCopy, filesBelow, TERMINAL_DRIVER } from './cli-process';

/*
 * `batcat init`, `add purpose` and `doctor` as a user runs them: child processes with flags,
 * and the prompts driven through @clack/prompts' input and output streams. That a scaffolded
 * project installs and synthesizes is checked in test/package/pack.test.ts, with the packed package.
 */

jest.setTimeout(120_000);

/** Runs the CLI with a scripted terminal (test/cli/terminal-driver.ts): `keys` are typed one batch per prompt, each ending with a submit. */
function withTerminal(argv: string[], cwd: string, keys: string[]) {
  const r = spawnSync(process.execPath, [TERMINAL_DRIVER, JSON.stringify({ argv, cwd, keys })], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  if (r.status !== 0) throw new Error(`terminal driver failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { code: number; out: string; err: string; screen: string };
}

/** The placeholders that keep the data folders of a project whose first purpose is cell-aging. */
const DATA_KEEPS = [
  'data/raw/.gitkeep',
  'data/raw/cell-aging/.gitkeep',
  'data/result/.gitkeep',
  'data/test/.gitkeep',
  'data/tmp/.gitkeep',
  'data/train/.gitkeep',
];

describe('batcat init', () => {
  test('scaffolds the BatCat layout, a valid project file, a container following the contract, and a package.json for cdk synth', () => {
    const cwd = tempDir('batcat-init-');
    const r = batcat(['init', '2026-rnd-battery', '--purpose', 'cell-aging', '--description', 'Cell aging of the 2026 fleet'], cwd);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const dir = path.join(cwd, '2026-rnd-battery');
    expect(r.out).toContain(`created ${dir}:`);
    expect(r.out).toContain('  projects/2026-rnd-battery.yaml');
    expect(r.out).toContain('  npx batcat run-local 2026-rnd-battery cell-aging --date <YYYY-MM-DD>');
    expect(filesBelow(dir)).toEqual(
      [
        '.gitignore',
        'README.md',
        'cdk.json',
        'containers/cell-aging/Dockerfile',
        'containers/cell-aging/cell_aging.py',
        'containers/cell-aging/requirements.txt',
        ...DATA_KEEPS,
        'doc/.gitkeep',
        'doc/README.md',
        'log/.gitkeep',
        'model/.gitkeep',
        'notebook/.gitkeep',
        'package.json',
        'projects/2026-rnd-battery.yaml',
        'report/.gitkeep',
        'test/.gitkeep',
        'test/stacks.test.js',
        '.github/workflows/ci.yml',
      ].sort(),
    );
    expect(fs.readFileSync(path.join(dir, 'doc', 'README.md'), 'utf8')).toMatch(
      /## Abstract[\s\S]*## Data[\s\S]*## Method[\s\S]*## Results/,
    );
    const config = loadProject(path.join(dir, 'projects', '2026-rnd-battery.yaml'), dir);
    expect(config.purposes.map((p) => [p.name, p.inputs[0].prefix, p.outputs[0].name])).toEqual([
      ['cell-aging', 'raw/cell-aging/', 'result'],
    ]);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    // The AWS SDK and DuckDB, optional peers of batcat-cdk, pinned as batcat-cdk is tested with: the batcat command needs them.
    const ours = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    const sdk = Object.keys(ours.peerDependencies).filter((n) => n.startsWith('@aws-sdk/') || n === '@duckdb/node-api');
    expect(sdk.length).toBeGreaterThan(5);
    expect(pkg.dependencies).toEqual({
      'aws-cdk-lib': '2.276.0',
      'batcat-cdk': '^0.1.0',
      constructs: '10.8.1',
      ...Object.fromEntries(sdk.map((n) => [n, ours.devDependencies[n]])),
    });
    expect(pkg.devDependencies).toEqual({ 'aws-cdk': '2.1148.1', jest: '30.5.2' });
    expect(pkg.scripts.test).toBe('jest');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'cdk.json'), 'utf8')).app).toBe('node node_modules/batcat-cdk/dist/bin/app.js');
  });

  test("git keeps the data folders' layout and none of the data, and the pull-request guard is written", () => {
    const cwd = tempDir('batcat-init-');
    expect(batcat(['init', 'demo-project', '--purpose', 'cell-aging'], cwd).code).toBe(0);
    const dir = path.join(cwd, 'demo-project');
    fs.mkdirSync(path.join(dir, 'data/raw/cell-aging/dt=2026-01-05'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'data/raw/cell-aging/dt=2026-01-05/cells.csv'), 'cell,capacity\nc1,2.9\n');
    fs.writeFileSync(path.join(dir, 'data/notes.txt'), 'local only\n');
    const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' });
    git('init', '-q');
    git('add', '-A');
    const tracked = git('ls-files').trim().split('\n');
    expect(tracked.filter((f) => f.startsWith('data/')).sort()).toEqual([...DATA_KEEPS].sort());
    expect(tracked).toEqual(expect.arrayContaining(['test/stacks.test.js', '.github/workflows/ci.yml', 'package.json']));
    const workflow = fs.readFileSync(path.join(dir, '.github/workflows/ci.yml'), 'utf8');
    for (const step of ['run: npm ci', 'run: npm test', 'run: npx cdk synth', 'git diff "$BASE...HEAD" -- test/__snapshots__'])
      expect(workflow).toContain(step);
  });

  test('--batcat-version with a packed batcat-cdk copies it into vendor/ and depends on it by a relative path, never an absolute one', () => {
    const cwd = tempDir('batcat-init-');
    const tarball = path.join(tempDir('batcat-tgz-'), 'batcat-cdk-0.1.0.tgz');
    fs.writeFileSync(tarball, 'not really a tarball, only copied');
    expect(batcat(['init', 'demo-project', '--batcat-version', `file:${tarball}`], cwd).code).toBe(0);
    const dir = path.join(cwd, 'demo-project');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).dependencies['batcat-cdk']).toBe(
      'file:vendor/batcat-cdk-0.1.0.tgz',
    );
    expect(fs.readFileSync(path.join(dir, 'vendor', 'batcat-cdk-0.1.0.tgz'), 'utf8')).toBe('not really a tarball, only copied');
    const missing = batcat(['init', 'other-project', '--batcat-version', '/nowhere/batcat-cdk-0.1.0.tgz'], cwd);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain(
      '--batcat-version /nowhere/batcat-cdk-0.1.0.tgz: no such file /nowhere/batcat-cdk-0.1.0.tgz; pass the path of a packed batcat-cdk (npm pack) or a version range such as ^0.1.0',
    );
    expect(fs.existsSync(path.join(cwd, 'other-project'))).toBe(false);
  });

  test('the scaffolded purpose runs locally and writes its result', () => {
    const cwd = tempDir('batcat-init-');
    expect(batcat(['init', 'demo-project'], cwd).code).toBe(0);
    const dir = path.join(cwd, 'demo-project');
    fs.mkdirSync(path.join(dir, 'data/raw/analysis/dt=2026-01-05'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'data/raw/analysis/dt=2026-01-05/cells.csv'), 'cell,capacity\nc1,2.9\nc2,3.1\nc3,3.0\n');
    const r = batcat(['run-local', 'demo-project', 'analysis', '--date', '2026-01-05', '--engine', 'namespace'], dir);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'data/result/analysis/dt=2026-01-05/result/summary.csv'), 'utf8')).toBe(
      'file,rows,columns,window_start,window_end\r\ncells.csv,3,2,2026-01-05,2026-01-05\r\n',
    );
    // And it reports failure by the contract: no input files.
    const failed = batcat(['run-local', 'demo-project', 'analysis', '--date', '2026-01-06', '--engine', 'namespace'], dir);
    expect(failed.code).toBe(1);
  });

  test.each([
    [
      'a name with capitals',
      ['init', '2026-RnD-Battery'],
      /project name '2026-RnD-Battery' is invalid: .*e\.g\. '2026-rnd-battery' \(\[year\]-\[department\]-\[topic\]\)\); try '2026-rnd-battery'/,
    ],
    ['a name with spaces', ['init', 'my project'], /try 'my-project'/],
    ['a bad purpose name', ['init', 'demo-project', '--purpose', 'Cell_Aging'], /purpose name 'Cell_Aging' is invalid.*try 'cell-aging'/],
    ['no name and no terminal', ['init'], /Project name: give the name: batcat init <name> \(there is no terminal to ask on\)/],
  ])('rejects %s with exit code 2 and creates nothing', async (_what, args, message) => {
    const cwd = tempDir('batcat-init-');
    const r = await batcatHere(args, cwd);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  test('refuses a folder that is not empty unless --force, and then keeps the files it does not write', () => {
    const cwd = tempDir('batcat-init-');
    fs.mkdirSync(path.join(cwd, 'demo-project'));
    fs.writeFileSync(path.join(cwd, 'demo-project', 'notes.txt'), 'mine');
    const refused = batcat(['init', 'demo-project'], cwd);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/demo-project is not empty \(notes\.txt\); choose another folder with --dir, or pass --force/);
    expect(fs.readdirSync(path.join(cwd, 'demo-project'))).toEqual(['notes.txt']);
    expect(batcat(['init', 'demo-project', '--force'], cwd).code).toBe(0);
    expect(fs.readFileSync(path.join(cwd, 'demo-project', 'notes.txt'), 'utf8')).toBe('mine');
    expect(fs.existsSync(path.join(cwd, 'demo-project', 'projects', 'demo-project.yaml'))).toBe(true);
  });

  test('asks for what the flags do not give when there is a terminal, and validates as you type', async () => {
    const cwd = tempDir('batcat-init-');
    const r = withTerminal(['init'], cwd, [`Bad Name\r${'\x7f'.repeat(8)}lab-notes\r`, '\r', 'Notes of the lab\r']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.screen).toContain("project name 'Bad Name' is invalid");
    const config = loadProject(path.join(cwd, 'lab-notes', 'projects', 'lab-notes.yaml'), path.join(cwd, 'lab-notes'));
    expect(config.description).toBe('Notes of the lab');
    expect(config.purposes.map((p) => p.name)).toEqual(['analysis']);
  });
});

describe('batcat add purpose', () => {
  test('appends the purpose, keeping every byte of the file (comments included), and creates its container folder', () => {
    const root = exampleCopy();
    const file = path.join(root, 'projects', '2022-rnd-battery.yaml');
    const before = fs.readFileSync(file, 'utf8');
    const r = batcat(
      [
        'add',
        'purpose',
        '2022-rnd-battery',
        'anomaly-scan',
        '--instance',
        'ml.m5.xlarge',
        '--schedule',
        '0 3 * * ? *',
        '--timezone',
        'Europe/Berlin',
      ],
      root,
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain("added purpose 'anomaly-scan' to projects/2022-rnd-battery.yaml");
    expect(r.out).toContain('created containers/anomaly-scan/anomaly_scan.py');
    const after = fs.readFileSync(file, 'utf8');
    expect(after.startsWith(before)).toBe(true);
    // The old comments are still comments of the same lines.
    for (const comment of before.split('\n').filter((l) => l.includes('#'))) expect(after).toContain(comment);
    const config = loadProject(file, root);
    expect(config.purposes.map((p) => p.name)).toEqual(['usage-analysis', 'fleet-report', 'fleet-daily', 'anomaly-scan']);
    expect(config.purposes[3]).toMatchObject({
      instanceType: 'ml.m5.xlarge',
      schedule: 'cron(0 3 * * ? *)',
      timezone: 'Europe/Berlin',
      inputs: [{ name: 'raw', prefix: 'raw/anomaly-scan/', partitioned: true }],
    });
    // The new purpose is documented in the file too.
    expect(parseDocument(after).toString()).toContain('# the script reads /opt/ml/processing/input/raw/');
    expect(filesBelow(path.join(root, 'containers', 'anomaly-scan'))).toEqual(['Dockerfile', 'anomaly_scan.py', 'requirements.txt']);
  });

  test('with --query it declares the query, creates the query file, and the script reads the query result', () => {
    const root = exampleCopy();
    const r = batcat(
      ['add', 'purpose', '2022-rnd-battery', 'weekly-report', '--query', 'queries/weekly-report.sql', '--tables', 'usage_analysis_summary'],
      root,
    );
    expect(r.code).toBe(0);
    const config = loadProject(path.join(root, 'projects', '2022-rnd-battery.yaml'), root);
    expect(config.purposes[3].query).toMatchObject({ tables: ['usage_analysis_summary'], parameters: ['start', 'end'] });
    expect(fs.readFileSync(path.join(root, 'queries', 'weekly-report.sql'), 'utf8')).toContain(
      'FROM usage_analysis_summary\nWHERE dt BETWEEN ? AND ?',
    );
    expect(fs.readFileSync(path.join(root, 'containers', 'weekly-report', 'weekly_report.py'), 'utf8')).toContain('INPUT = "query"');
  });

  test.each([
    ['an existing purpose', ['usage-analysis'], /has a purpose 'usage-analysis' already/],
    ['a bad name', ['Anomaly Scan'], /purpose name 'Anomaly Scan' is invalid.*try 'anomaly-scan'/],
    [
      'an unknown instance type',
      ['anomaly-scan', '--instance', 'ml.m5.huge'],
      /'ml\.m5\.huge' is not a SageMaker Processing instance type; did you mean 'ml\.m5\.large'/,
    ],
    [
      'a bad cron',
      ['anomaly-scan', '--schedule', 'every day'],
      /the project file invalid[\s\S]*'every day' has 2 fields; an EventBridge Scheduler cron has six/,
    ],
    ['a cron hour out of range', ['anomaly-scan', '--schedule', '0 25 * * ? *'], /hours '25' is out of range \(0-23\)/],
    ['--query without --tables', ['anomaly-scan', '--query', 'queries/x.sql'], /--query needs --tables/],
    [
      'a query over an unknown table',
      ['anomaly-scan', '--query', 'queries/x.sql', '--tables', 'nope'],
      /'nope' is not a table of this project/,
    ],
    ['an unknown project', [], /no project/],
  ])('rejects %s with exit code 2 and changes nothing', async (_what, args, message) => {
    const root = exampleCopy();
    const file = path.join(root, 'projects', '2022-rnd-battery.yaml');
    const before = fs.readFileSync(file, 'utf8');
    const files = filesBelow(root);
    const r = await batcatHere(
      ['add', 'purpose', args.length === 0 ? 'nope' : '2022-rnd-battery', ...(args.length === 0 ? ['x'] : args)],
      root,
    );
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
    expect(filesBelow(root)).toEqual(files);
  });

  test('prompts for the name, the instance type and the schedule in a terminal', async () => {
    const root = exampleCopy();
    const r = withTerminal(['--root', root, 'add', 'purpose', '2022-rnd-battery'], root, ['anomaly-scan\r', '\x1b[B\r', '0 4 * * ? *\r']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const config = loadProject(path.join(root, 'projects', '2022-rnd-battery.yaml'), root);
    expect(config.purposes[3]).toMatchObject({ name: 'anomaly-scan', instanceType: 'ml.m5.xlarge', schedule: 'cron(0 4 * * ? *)' });
  });
});

describe('batcat doctor', () => {
  test('in the example project, every check is OK or a hint, and the exit code is 0', () => {
    const root = exampleCopy();
    fs.mkdirSync(path.join(root, 'node_modules', 'aws-cdk-lib'), { recursive: true });
    const r = batcat(['doctor'], root, { AWS_PROFILE: '', HOME: root, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^✓ Node\.js: OK, \d+\.\d+\.\d+/m);
    expect(r.out).toMatch(/^✓ python3: OK, Python 3\.\d+/m);
    expect(r.out).toMatch(/^! AWS credentials: none found in the environment or ~\/\.aws\n {4}fix: configure a profile/m);
    expect(r.out).toMatch(/^! CDK bootstrap: cannot be checked offline\n {4}fix: .*npx cdk bootstrap/m);
    expect(r.out).toContain('✓ project files: OK, projects/2022-rnd-battery.yaml (3 purposes)');
    expect(r.out).toContain(
      "✓ buckets: OK, projects/2022-rnd-battery.yaml: 5 per stage (storage: per-purpose); 15 for 3 stage(s), 0.1% of the account's 10000 general purpose buckets",
    );
    expect(r.out).toContain('✓ container usage-analysis: OK, containers/usage-analysis, runs: python3 /opt/program/usage_analysis.py');
    // The example lists no one who may pull and push: a hint with the fix, which does not fail doctor.
    expect(r.out).toMatch(
      /^! data access: projects\/2022-rnd-battery\.yaml lists no one under dataAccess: .*batcat pull, push and query are refused to people\n {4}fix: add the IAM role you work with/m,
    );
  });

  test("checks that python3 has the image's packages: a requirements.txt pin, a framework's version", () => {
    const root = tempDir('batcat-doctor-sm-');
    fs.cpSync(path.join(REPO_ROOT, 'test', 'fixtures', 'sagemaker-scripts'), root, { recursive: true });
    const r = batcat(['doctor'], root);
    expect(r.out).toContain('✓ container preprocessing: OK, sklearn:1.2-1, runs: python3 scripts/preprocessing/preprocessing.py');
    expect(r.out).toContain(
      '! packages preprocessing: python3 lacks what the image has, so batcat run-local without Docker may fail where AWS would not: ' +
        "scikit-learn 1.2.x (framework sklearn:1.2-1) is not installed\n    fix: python3 -m pip install 'scikit-learn==1.2.*'",
    );
    expect(r.out).toContain('✓ container scoring: OK, containers/scoring, runs: python3 /opt/program/score.py --threshold 0.5');
    expect(r.out).toContain(
      'batcat-test-absent-package==9.9.9 (containers/scoring/requirements.txt) is not installed\n    fix: python3 -m pip install -r containers/scoring/requirements.txt',
    );
  });

  test("warns when the projects' buckets would take more than the allowed share of the account's quota, with the ways out", async () => {
    const root = exampleCopy();
    const doctor = async (...options: string[]) => {
      let out = '';
      const code = await runCli(['--root', root, 'doctor', ...options], {
        cwd: root,
        out: (t) => {
          out += t;
        },
        err: (t) => {
          out += t;
        },
      });
      return { code, out };
    };
    // 5 buckets per stage, 30 stages: 150, above 1% (100) of 10,000.
    const over = await doctor('--stages', '30', '--bucket-share', '1');
    expect(over.out).toMatch(/^! buckets: .*projects\/2022-rnd-battery\.yaml: /m);
    expect(over.out).toContain(
      "2022-rnd-battery.yaml: 5 per stage (storage: per-purpose); 150 for 30 stage(s), 1.5% of the account's 10000 general purpose buckets, more than the 1% (100) allowed here\n    fix: set storage: shared in the largest project file",
    );
    expect((await doctor('--stages', '20', '--bucket-share', '1')).out).toMatch(/^✓ buckets: OK, .* 100 for 20 stage\(s\)/m);
    const bad = await doctor('--bucket-share', '0');
    expect(bad.code).toBe(2);
    expect(bad.out).toContain("option '--bucket-share <percent>' argument '0' is invalid. expected a percentage above 0, at most 100");
  });

  test('finds credentials in a profile without calling AWS, and names each problem with its fix', async () => {
    const root = exampleCopy();
    fs.mkdirSync(path.join(root, 'home', '.aws'), { recursive: true });
    fs.writeFileSync(path.join(root, 'home', '.aws', 'config'), '[profile rnd]\nregion = eu-west-1\n');
    fs.rmSync(path.join(root, 'containers', 'fleet-report', 'requirements.txt'));
    let out = '';
    const code = await runCli(['--root', root, 'doctor'], {
      cwd: root,
      out: (t) => {
        out += t;
      },
      err: () => undefined,
      doctor: (rootDir) => ({
        rootDir,
        env: { AWS_PROFILE: 'rnd', AWS_REGION: 'eu-west-1' },
        nodeVersion: '18.19.0',
        home: path.join(root, 'home'),
        pythonVersion: () => undefined,
        installedVersions: () => undefined,
      }),
    });
    expect(code).toBe(2);
    expect(out).toContain('✗ Node.js: 18.19.0\n    fix: install Node.js 20 or later');
    expect(out).toContain('✗ python3: not found on PATH\n    fix: install Python 3.9 or later');
    expect(out).toMatch(/✓ AWS credentials: OK, profile 'rnd' in .*home\/\.aws\/config \(not checked against AWS\)/);
    expect(out).toContain('✓ AWS region: OK, eu-west-1');
    expect(out).toContain('✗ dependencies: no node_modules');
    expect(out).toContain('✗ container fleet-report: containers/fleet-report has no requirements.txt');
    expect(out).toMatch(/problem\(s\) to fix before a first deploy\n$/);
  });

  test('a project-file warning is shown as a hint with its place, and does not fail doctor', () => {
    const root = exampleCopy();
    fs.mkdirSync(path.join(root, 'node_modules', 'aws-cdk-lib'), { recursive: true });
    const file = path.join(root, 'projects', '2022-rnd-battery.yaml');
    fs.writeFileSync(
      file,
      fs
        .readFileSync(file, 'utf8')
        .replace(
          '  - name: fleet-report\n',
          '  - name: fleet-report\n    image: 111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/report:v1\n',
        ),
    );
    const r = batcat(['doctor'], root, { AWS_PROFILE: '', HOME: root, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' });
    expect(r.out).toMatch(/^! project files: projects\/2022-rnd-battery\.yaml:\d+:\d+: purposes\[1\]\.image: image tag "v1" can be moved/m);
    expect(r.code).toBe(0);
  });

  test('an invalid project file is reported with its lines', () => {
    const root = exampleCopy();
    const file = path.join(root, 'projects', '2022-rnd-battery.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('instanceType: ml.m5.large', 'instanceType: ml.m5.huge'));
    const r = batcat(['doctor'], root);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(
      /✗ project files: .*\n.*\.yaml:\d+:\d+: purposes\[0\]\.instanceType: 'ml\.m5\.huge' is not a SageMaker Processing instance type/,
    );
  });
});
