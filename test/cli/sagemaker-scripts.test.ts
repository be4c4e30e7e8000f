import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, tempDir } from '../helpers';
import { batcat, batcatHere, filesBelow } from './cli-process';

/*
 * `batcat run-local` with scripts written for SageMaker Processing (test/fixtures/sagemaker-scripts):
 * hard-coded /opt/ml/processing paths, argparse arguments, a model.tar.gz input, an evaluation
 * JSON output, an image whose ENTRYPOINT is python3 and whose CMD names the script. They run
 * unmodified in a private mount namespace where /opt/ml is the run's folder.
 */

jest.setTimeout(120_000);

const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'sagemaker-scripts');
const args = (purpose: string) => ['run-local', 'sm-scripts', purpose, '--date', '2026-11-20', '--engine', 'namespace'];
const runLocal = (root: string, purpose: string) => batcat(args(purpose), root);
/** The same command in this process: for the failures, which need no child of their own. */
const runLocalHere = (root: string, purpose: string) => batcatHere(['--root', root, ...args(purpose)], root);

function fixtureCopy(): string {
  const root = tempDir('batcat-sm-');
  fs.cpSync(FIXTURE, root, { recursive: true });
  return root;
}

/** A copy of the fixture with `from` replaced by `to` in one of its files (which must contain `from`). */
function fixtureWith(file: string, from: string, to: string): string {
  const root = fixtureCopy();
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  if (!text.includes(from)) throw new Error(`${file} does not contain ${JSON.stringify(from)}`);
  fs.writeFileSync(path.join(root, file), text.replace(from, to));
  return root;
}

describe('SageMaker Processing scripts under batcat run-local', () => {
  const root = fixtureCopy();
  const sources = () => [...filesBelow(path.join(root, 'scripts')), ...filesBelow(path.join(root, 'containers'))];
  const before = sources();

  test('SKLearnProcessor-style preprocessing: script mode with a source folder, arguments with a placeholder, paths of its own', () => {
    const r = runLocal(root, 'preprocessing');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      "engine: a private mount namespace (unshare): the host's Python, with /opt/ml bind-mounted from the run's folder",
    );
    expect(r.out).toMatch(/^interpreter: python3 \(Python 3\.\d+\.\d+\), standing in for the image's python3$/m);
    expect(r.out).toContain(
      "  - scikit-learn 1.2.x (framework sklearn:1.2-1) is not installed\n  install them with: python3 -m pip install 'scikit-learn==1.2.*'",
    );
    expect(r.out).toContain('  input raw: 1 file(s) from data/raw/census/dt=2026-11-20/ at /opt/ml/processing/input\n');
    expect(r.out).toContain('  input code: 2 file(s) from scripts/preprocessing at /opt/ml/processing/input/code\n');
    expect(r.out).toMatch(/ \/opt\/ml\/processing\/input\/code\/preprocessing\.py --train-test-split-ratio 0\.2 --run-date 2026-11-20\n/);
    expect(r.out).toContain("  | Received arguments Namespace(train_test_split_ratio=0.2, run_date='2026-11-20')");
    const train = fs
      .readFileSync(path.join(root, 'data/result/preprocessing/dt=2026-11-20/train/train_features.csv'), 'utf8')
      .trim()
      .split(/\r?\n/);
    const test = fs
      .readFileSync(path.join(root, 'data/result/preprocessing/dt=2026-11-20/test/test_features.csv'), 'utf8')
      .trim()
      .split(/\r?\n/);
    expect([train.length, test.length]).toEqual([9, 3]); // header + 8, header + 2: a 0.2 split of 10 rows
    expect(train[1]).toBe('39,bachelors,2174.0,0,2026-11-20');
  });

  test('abalone-style evaluation: a model.tar.gz object in, evaluation.json out, unpacked in a temporary working directory', () => {
    const r = runLocal(root, 'evaluation');
    expect(r.code).toBe(0);
    expect(r.out).toContain('  input model: 1 file(s) from data/s3/sm-scripts-models/abalone/model.tar.gz at /opt/ml/processing/model\n');
    expect(r.out).toContain('  input test: 1 file(s) from data/result/preprocessing/dt=2026-11-20/test/ at /opt/ml/processing/test\n');
    const report = JSON.parse(fs.readFileSync(path.join(root, 'data/result/evaluation/dt=2026-11-20/evaluation/evaluation.json'), 'utf8'));
    expect(report).toEqual({ regression_metrics: { mse: { value: expect.any(Number), standard_deviation: expect.any(Number) } } });
  });

  test('ScriptProcessor-style image: ENTRYPOINT python3 with the script in CMD, its ENV and WORKDIR, two instances sharing a sharded input', () => {
    const r = runLocal(root, 'scoring');
    expect(r.code).toBe(0);
    expect(r.out).toContain('  - batcat-test-absent-package==9.9.9 (containers/scoring/requirements.txt) is not installed');
    expect(r.out).toContain(
      '  input records: 5 file(s) from data/raw/records/ at /opt/ml/processing/input/records (ShardedByS3Key: split between 2 instances)',
    );
    expect(r.out).toContain('  $ python3 /opt/program/score.py --threshold 0.5\n');
    expect(r.out).toContain('  | [algo-1] algo-1: scored 3 file(s)');
    expect(r.out).toContain('  | [algo-2] algo-2: scored 2 file(s)');
    const scores = (host: string) =>
      fs
        .readFileSync(path.join(root, `data/result/scoring/dt=2026-11-20/scores/scores-${host}.csv`), 'utf8')
        .trim()
        .split('\n')
        .slice(1);
    expect(scores('algo-1')).toEqual([
      'part-1.csv,abalone,0.5,/opt/program',
      'part-3.csv,abalone,0.5,/opt/program',
      'part-5.csv,abalone,0.5,/opt/program',
    ]);
    expect(scores('algo-2')).toEqual(['part-2.csv,abalone,0.5,/opt/program', 'part-4.csv,abalone,0.5,/opt/program']);
    const config = JSON.parse(fs.readFileSync(path.join(root, 'runs/scoring/scoring-20261120-a1/job.json'), 'utf8'));
    expect(config.job.AppSpecification.ImageUri).toMatch(
      /^000000000000\.dkr\.ecr\.local\.amazonaws\.com\/cdk-[a-z0-9]+-container-assets-000000000000-local:[0-9a-f]{64}$/,
    );
  });

  test('nothing a script wrote lands in the scripts or container folders', () => {
    expect(sources()).toEqual(before);
  });
});

test('a script the Dockerfile copies into a subfolder outside /opt runs from the container folder, in a temporary working directory', async () => {
  const root = fixtureCopy();
  const dir = path.join(root, 'containers/scoring');
  fs.mkdirSync(path.join(dir, 'src/jobs'), { recursive: true });
  fs.renameSync(path.join(dir, 'score.py'), path.join(dir, 'src/jobs/score.py'));
  fs.writeFileSync(
    path.join(dir, 'Dockerfile'),
    'FROM public.ecr.aws/docker/library/python:3.12-slim\nENV MODEL_NAME=abalone\nWORKDIR /app\nCOPY src/ /app/src/\n' +
      'ENTRYPOINT ["python3"]\nCMD ["/app/src/jobs/score.py", "--threshold", "0.7"]\n',
  );
  const r = await runLocalHere(root, 'scoring');
  expect(r.code).toBe(0);
  expect(r.out).toContain(
    '  note: /app/src/jobs/score.py (where the Dockerfile puts the script) runs from the copy of containers/scoring/src/jobs/score.py',
  );
  const rows = fs
    .readFileSync(path.join(root, 'data/result/scoring/dt=2026-11-20/scores/scores-algo-1.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1);
  const cwd = rows[0].split(',')[3];
  expect(rows[0]).toMatch(/^part-1\.csv,abalone,0\.7,/);
  expect(cwd.startsWith(dir)).toBe(false);
  expect(fs.existsSync(path.join(dir, 'scratch.txt'))).toBe(false);
});

describe('failures a SageMaker script meets, told as the user needs them', () => {
  test('a script that crashes without /opt/ml/output/message: the exit code and the last lines of its stderr', async () => {
    const root = fixtureWith('projects/sm-scripts.yaml', 'localPath: /opt/ml/processing/train', 'localPath: /opt/ml/processing/training');
    const r = await runLocalHere(root, 'preprocessing');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /run preprocessing-20261120-a1 FAILED: States\.TaskFailed: AlgorithmError: the script exited with code 1 and wrote no \/opt\/ml\/output\/message; the last lines of its stderr: .*FileNotFoundError: \[Errno 2\] No such file or directory: '\/opt\/ml\/processing\/train\/train_features\.csv'\n/,
    );
    expect(r.out).toContain("the script's whole stderr: runs/preprocessing/preprocessing-20261120-a1/stderr.log");
  });

  test('a script that writes to a misnamed folder: the run fails naming the output, its local path and the folders written', async () => {
    const root = fixtureWith(
      'containers/scoring/score.py',
      'out = pathlib.Path("/opt/ml/processing/output/scores")',
      'out = pathlib.Path("/opt/ml/processing/output/score")\nout.mkdir()',
    );
    const r = await runLocalHere(root, 'scoring');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /FAILED: BatCat\.EmptyOutput: output scores is empty: the job wrote nothing to \/opt\/ml\/processing\/output\/scores, .* The script wrote files to: \/opt\/ml\/processing\/output\/score\.\n/,
    );
  });

  test('an input in Pipe mode is refused before anything runs, saying why and what to do', async () => {
    const root = fixtureWith(
      'projects/sm-scripts.yaml',
      'distribution: ShardedByS3Key',
      'distribution: ShardedByS3Key\n        mode: Pipe',
    );
    const r = await runLocalHere(root, 'scoring');
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      "input 'records' of purpose 'scoring' uses mode Pipe: on AWS it is streamed through a named pipe, which run-local does not provide",
    );
    expect(fs.existsSync(path.join(root, 'runs'))).toBe(false);
  });
});
