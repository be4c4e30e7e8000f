import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UNPACK_AND_RUN } from '../../lib/constructs/private/script-code';
import { LocalRunError } from '../../lib/local/container-spec';
import { containerRunArgs, detectEngine, namespaceArgs } from '../../lib/local/engine';
import { tempDir } from '../helpers';
import { batcat, exampleCopy } from '../cli/cli-process';

test('docker run as SageMaker starts the container: /opt/ml mounted, the environment, no network, entrypoint and arguments', () => {
  expect(
    containerRunArgs({
      root: '/tmp/job/algo-1/ml',
      host: 'algo-1',
      image: 'batcat-local/scoring:latest',
      command: ['python3', '/opt/program/score.py', '--threshold', '0.5'],
      env: { MODEL_NAME: 'abalone', BATCAT_RUN_ID: 'scoring-manual-20261120' },
      networkIsolation: true,
      name: 'scoring-0a1b-algo-1',
    }),
  ).toEqual([
    'run',
    '--rm',
    '--name',
    'scoring-0a1b-algo-1',
    '--hostname',
    'algo-1',
    '--platform',
    'linux/amd64',
    '--network',
    'none',
    '-v',
    '/tmp/job/algo-1/ml:/opt/ml',
    '-e',
    'MODEL_NAME=abalone',
    '-e',
    'BATCAT_RUN_ID=scoring-manual-20261120',
    '--entrypoint',
    'python3',
    'batcat-local/scoring:latest',
    '/opt/program/score.py',
    '--threshold',
    '0.5',
  ]);
});

test('a namespace run: unshare with the setup script, the folders, then the command', () => {
  const args = namespaceArgs({ root: '/r', work: '/w', workdir: '/opt/program', hold: '/h', command: ['python3', 'x.py'] });
  expect(args.slice(0, 3)).toEqual(['-Urm', 'sh', '-c']);
  expect(args.slice(4)).toEqual(['batcat-namespace', '/r', '/w', '/opt/program', '/h', 'python3', 'x.py']);
});

test('the script-mode entrypoint unpacks the code asset once and runs the script with its arguments, in the working directory', () => {
  const code = tempDir('batcat-code-');
  const src = tempDir('batcat-src-');
  fs.mkdirSync(path.join(src, 'helpers'));
  fs.writeFileSync(path.join(src, 'helpers', 'util.py'), 'GREETING = "hello"\n');
  fs.writeFileSync(
    path.join(src, 'job.py'),
    'import os, sys\nfrom helpers.util import GREETING\nprint(GREETING, sys.argv[1:], os.getcwd())\n',
  );
  const zip = path.join(code, 'a'.repeat(64) + '.zip');
  const zipped = spawnSync('python3', ['-m', 'zipfile', '-c', zip, 'job.py', 'helpers'], { cwd: src, encoding: 'utf8' });
  expect(zipped.status).toBe(0);
  const cwd = tempDir('batcat-cwd-');
  const r = spawnSync('python3', ['-c', UNPACK_AND_RUN, zip, path.join(code, 'job.py'), '--day', '2026-11-20'], { cwd, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe(`hello ['--day', '2026-11-20'] ${fs.realpathSync(cwd)}`);
  expect(fs.readdirSync(code).sort()).toEqual(['helpers', 'job.py']);
  expect(UNPACK_AND_RUN).not.toContain('\n');
  expect(UNPACK_AND_RUN.length).toBeLessThanOrEqual(256); // ContainerEntrypointString's limit
});

test('detection: a wanted engine that does not answer is refused with what to do', () => {
  const docker = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8' });
  if (docker.status === 0) {
    console.warn('skipped the refusal half: docker answers here');
    expect(detectEngine('docker').kind).toBe('docker');
    return;
  }
  expect(() => detectEngine('docker')).toThrow(
    new LocalRunError("--engine docker: 'docker' does not answer (is its daemon or machine running?)"),
  );
});

const engineAnswers = ['docker', 'podman'].find((e) => spawnSync(e, ['version', '--format', '{{.Server.Version}}']).status === 0);
if (!engineAnswers) console.warn('run-local with a container engine: skipped, neither docker nor podman answers on this machine');
(engineAnswers ? test : test.skip)(
  'run-local in a real container engine runs the example purpose',
  () => {
    const root = exampleCopy();
    const day = path.join(root, 'data', 'raw', 'usage', 'dt=2026-11-22');
    fs.mkdirSync(day, { recursive: true });
    fs.writeFileSync(path.join(day, 'part-0001.csv'), 'vin,time,usage\nVIN1,2026-11-22T08:00:00,1.5\n');
    const r = batcat(['run-local', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-22', '--engine', engineAnswers!], root);
    expect(r.code).toBe(0);
    expect(fs.existsSync(path.join(root, 'data/result/usage-analysis/dt=2026-11-22/summary/usage_summary.csv'))).toBe(true);
  },
  600_000,
);
