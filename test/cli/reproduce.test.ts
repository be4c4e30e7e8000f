import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { defaultDoctorEnv } from '../../lib/cli/doctor-command';
import { runCli } from '../../lib/cli/main';
import { loadProject } from '../../lib/config/load-project';
import { runManifestKeys, type ManifestRun, type RunManifest } from '../../lib/contract/run-manifest';
import { runLocal } from '../../lib/local/local-run';
import { recordRunInputs, recordRunOutputs, type ManifestInputSpec } from '../../lib/runtime/run-manifest';
import { s3Store, s3VersionLister } from '../../lib/runtime/s3-store';
import { motoUnavailable, startMotoServer, type MotoServer } from '../moto-server';
import { exampleCopy } from './cli-process';

/*
 * `batcat reproduce` end to end on a versioned S3 (moto's server; CloudFormation mocked for the
 * stack's outputs): a run of the example purpose on AWS is played with the real run-manifest
 * steps against moto and the real script; then its input is overwritten and a later run replaces
 * its result; reproducing the first run fetches the versions it read and gives its output byte
 * for byte. A version that expired, and code that changed, are refused with the reason.
 */

jest.setTimeout(180_000);
const unavailable = motoUnavailable();
if (unavailable) console.warn(`test/cli/reproduce.test.ts is skipped: ${unavailable}`);
const suite = unavailable ? describe.skip : describe;

const BUCKET = 'batcat-usage-analysis-data';
const DAY = 'dt=2026-11-22';
const INPUT_KEY = `raw/usage/${DAY}/part-0001.csv`;
const OUTPUT_PREFIX = `results/usage-analysis/summary/${DAY}/`;
const RUN_ID = 'usage-analysis-20261122-a1';
const FIRST = 'vin,time,usage\nVIN2,2026-11-22T08:00:00,1.5\nVIN1,2026-11-22T09:00:00,2\nVIN1,2026-11-22T07:00:00,4\n';
const LATER = 'vin,time,usage\nVIN3,2026-11-22T10:00:00,9\n';

let moto: MotoServer;
let s3: S3Client;
let root: string;
const cfn = mockClient(CloudFormationClient);

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const put = (key: string, body: string | Buffer) =>
  s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body })).then((r) => r.VersionId!);
const get = (key: string, versionId?: string) =>
  s3
    .send(new GetObjectCommand({ Bucket: BUCKET, Key: key, VersionId: versionId }))
    .then(async (o) => Buffer.from(await o.Body!.transformToByteArray()));

/** What one purpose's run on AWS reads and writes, for runOnAws. */
interface AwsRun {
  readonly purpose: string;
  readonly runId: string;
  readonly attempt: number;
  readonly inputs: ManifestInputSpec[];
  /** Lays out what the job reads in its data folder (from the bucket as it is now); returns a query.local, if any. */
  readonly stage: (dataDir: string) => Promise<string | undefined>;
  readonly output: { readonly name: string; readonly prefix: string };
}

/**
 * One run as on AWS: RecordRunInputs against the bucket, the job (the real script, run here on
 * what the bucket holds now), its result in the bucket, RecordRunOutputs.
 */
async function runOnAws(a: AwsRun): Promise<RunManifest> {
  const project = loadProject(path.join(root, 'projects', '2022-rnd-battery.yaml'), root);
  const purpose = project.purposes.find((p) => p.name === a.purpose)!;
  const job = path.join(root, 'job-data', a.runId);
  fs.mkdirSync(job, { recursive: true });
  const queryLocal = await a.stage(job);
  const lines: string[] = [];
  const local = await runLocal({
    rootDir: root,
    project,
    purpose: queryLocal ? { ...purpose, query: { ...purpose.query!, local: queryLocal } } : purpose,
    date: '2026-11-22',
    dataDir: job,
    engine: 'namespace',
    print: (l) => lines.push(l),
  });
  expect({ status: local.status, lines }).toMatchObject({ status: 'SUCCEEDED' });
  const image = (JSON.parse(fs.readFileSync(path.join(local.runDir, 'manifest.json'), 'utf8')) as RunManifest).image.replace(
    /^000000000000\.dkr\.ecr\.local\.(.*)-000000000000-local:/,
    '123456789012.dkr.ecr.eu-west-1.$1-123456789012-eu-west-1:',
  );
  const run: ManifestRun = {
    purpose: a.purpose,
    runId: a.runId,
    execution: `arn:aws:states:eu-west-1:123456789012:execution:batcat-2022-rnd-battery-dev-${a.purpose}:${a.runId}`,
    window: { start: '2026-11-22', end: '2026-11-22', endExclusive: '2026-11-23' },
    timezone: 'UTC',
    attempt: a.attempt,
    trigger: { kind: 'schedule' } as ManifestRun['trigger'],
    jobName: `${a.purpose}-${a.attempt}`,
    image,
    gitCommit: '3c1d2e4f5a6b7c8d9e0f',
  };
  const store = s3Store(s3, BUCKET);
  await recordRunInputs(s3VersionLister(s3), store, { bucket: BUCKET, run, inputs: a.inputs });
  for (const f of local.outputs) await put(`${a.output.prefix}${path.basename(f)}`, fs.readFileSync(f));
  await recordRunOutputs(s3VersionLister(s3), store, {
    bucket: BUCKET,
    purpose: a.purpose,
    runId: a.runId,
    outputs: [{ name: a.output.name, bucket: BUCKET, prefix: a.output.prefix }],
  });
  fs.rmSync(local.runDir, { recursive: true });
  return JSON.parse((await get(runManifestKeys(a.purpose, a.runId).manifest)).toString('utf8')) as RunManifest;
}

/** A run of usage-analysis on the day's usage file as the bucket holds it now. */
const usageRun = (runId: string, attempt: number): AwsRun => ({
  purpose: 'usage-analysis',
  runId,
  attempt,
  inputs: [{ name: 'usage', bucket: BUCKET, prefix: 'raw/usage/', read: 'day' }],
  stage: async (dir) => {
    fs.mkdirSync(path.join(dir, 'raw', 'usage', DAY), { recursive: true });
    fs.writeFileSync(path.join(dir, INPUT_KEY), await get(INPUT_KEY));
    return undefined;
  },
  output: { name: 'summary', prefix: OUTPUT_PREFIX },
});

async function batcat(args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli([...args, '--root', root], {
    cwd: root,
    out: (t) => (out += t),
    err: (t) => (err += t),
    clients: () => ({ s3, cloudformation: new CloudFormationClient({ region: 'eu-west-1' }) }),
  });
  return { code, out, err };
}

let first: RunManifest;
let firstOutput: Buffer;

beforeAll(async () => {
  if (unavailable) return;
  moto = await startMotoServer();
  s3 = moto.s3();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
  root = exampleCopy();
  cfn.on(DescribeStacksCommand, { StackName: 'batcat-2022-rnd-battery-dev' }).resolves({
    Stacks: [
      {
        StackName: 'batcat-2022-rnd-battery-dev',
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: [
          { OutputKey: 'PurposeBucketusageXanalysis', OutputValue: BUCKET },
          { OutputKey: 'PurposeBucketfleetXreport', OutputValue: BUCKET },
        ],
      },
    ],
  });
  // The first run reads FIRST; then the input is overwritten and a second run replaces the result.
  await put(INPUT_KEY, FIRST);
  first = await runOnAws(usageRun(RUN_ID, 1));
  firstOutput = await get(first.outputs[0].objects[0].key, first.outputs[0].objects[0].versionId!);
  await put(INPUT_KEY, LATER);
  await runOnAws(usageRun('usage-analysis-20261122-a2', 2));
}, 180_000);
afterAll(async () => {
  s3?.destroy();
  await moto?.stop();
  cfn.restore();
});

suite('batcat reproduce', () => {
  test('fetches the versions the run read, runs it again, and gets its output byte for byte', async () => {
    // The bucket's current input and result are the later run's, not the first's.
    expect((await get(INPUT_KEY)).toString()).toBe(LATER);
    const current = await get(`${OUTPUT_PREFIX}usage_summary.csv`);
    expect(md5(current)).not.toBe(md5(firstOutput));

    const r = await batcat(['reproduce', '2022-rnd-battery', RUN_ID, '--engine', 'namespace']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      `reproducing run ${RUN_ID} of usage-analysis (window 2026-11-22 .. 2026-11-22, commit 3c1d2e4f5a6b) from s3://${BUCKET}/`,
    );
    expect(r.out).toContain(`  [1/1] usage: ${INPUT_KEY} (version ${first.inputs[0].objects[0].versionId}), `);
    expect(r.out).toContain(`output summary: 1 object(s), identical to run ${RUN_ID}`);
    expect(r.out).toContain(`reproduced: every output is byte for byte the one run ${RUN_ID} wrote`);

    // The versions were fetched into a folder of the reproduction's own; data/ is untouched.
    const staged = path.join(root, 'runs', 'usage-analysis', `reproduce-${RUN_ID}`, 'data');
    expect(fs.readFileSync(path.join(staged, INPUT_KEY), 'utf8')).toBe(FIRST);
    const reproduced = fs.readFileSync(path.join(staged, 'result', 'usage-analysis', DAY, 'summary', 'usage_summary.csv'));
    expect(reproduced.equals(firstOutput)).toBe(true);
    expect(fs.existsSync(path.join(root, 'data'))).toBe(false);
    // The reproduction is a local run of its own, which says what it reproduced.
    const status = JSON.parse(fs.readFileSync(path.join(root, 'runs', 'usage-analysis', RUN_ID, 'status.json'), 'utf8'));
    expect(status).toMatchObject({ status: 'SUCCEEDED', reproduces: RUN_ID });
  });

  test("a query purpose: the query's recorded result (not its .metadata beside it) stands in for the query", async () => {
    const resultKey = 'athena-results/purposes/fleet-report/q-0001.csv';
    const RESULT = 'vin,records,total_usage\nVIN1,2,6.0\nVIN2,1,1.5\n';
    await put(resultKey, RESULT);
    await put(`${resultKey}.metadata`, 'binary metadata');
    const runId = 'fleet-report-20261122-a1';
    const recorded = await runOnAws({
      purpose: 'fleet-report',
      runId,
      attempt: 1,
      inputs: [{ name: 'query', bucket: BUCKET, prefix: resultKey, read: 'all' }],
      stage: async (dir) => {
        fs.writeFileSync(path.join(dir, 'query.csv'), await get(resultKey));
        return path.join(dir, 'query.csv');
      },
      output: { name: 'report', prefix: `results/fleet-report/report/${DAY}/` },
    });
    expect(recorded.inputs[0].objects.map((o) => o.key)).toEqual([resultKey, `${resultKey}.metadata`]);
    await put(resultKey, 'vin,records,total_usage\nVIN3,1,9\n'); // Athena's results folder is not ours to trust later

    const r = await batcat(['reproduce', '2022-rnd-battery', runId, '--engine', 'namespace']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/query stands in: runs\/fleet-report\/reproduce-fleet-report-20261122-a1\/query\/q-0001\.csv /);
    expect(r.out).toContain(`reproduced: every output is byte for byte the one run ${runId} wrote`);
  });

  test('a version that expired is named, and nothing runs', async () => {
    const v = first.inputs[0].objects[0].versionId!;
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: INPUT_KEY, VersionId: v }));
    const r = await batcat(['reproduce', '2022-rnd-battery', RUN_ID, '--engine', 'namespace']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      `batcat: s3://${BUCKET}/${INPUT_KEY} version ${v} no longer exists: a replaced version is kept 90 days (keepVersions`,
    );
    expect(r.out).not.toContain('▶ RunProcessingJob');
  });

  test('a run whose code changed since is refused, with the commit to reproduce it from', async () => {
    const second = JSON.parse(
      (await get(runManifestKeys('usage-analysis', 'usage-analysis-20261122-a2').manifest)).toString(),
    ) as RunManifest;
    fs.appendFileSync(path.join(root, 'containers', 'usage-analysis', 'usage_analysis.py'), '\n# changed\n');
    const r = await batcat(['reproduce', '2022-rnd-battery', second.runId, '--engine', 'namespace']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /batcat: the code of usage-analysis changed since run usage-analysis-20261122-a2: its image was [0-9a-f]{64}, now [0-9a-f]{64}\./,
    );
    expect(r.err).toContain('git worktree add ../usage-analysis-20261122-a2 3c1d2e4f5a6b7c8d9e0f');
    expect(r.out).not.toContain('▶ RunProcessingJob');
  });

  test('--stage, else BATCAT_STAGE, names the stage whose stack holds the run', async () => {
    const stacksAsked = () => cfn.commandCalls(DescribeStacksCommand).map((c) => c.args[0].input.StackName);
    cfn.resetHistory();
    await batcat(['reproduce', '2022-rnd-battery', RUN_ID, '--stage', 'feat1']);
    process.env.BATCAT_STAGE = 'feat2';
    try {
      await batcat(['reproduce', '2022-rnd-battery', RUN_ID]);
    } finally {
      delete process.env.BATCAT_STAGE;
    }
    expect(stacksAsked()).toEqual(['batcat-2022-rnd-battery-feat1', 'batcat-2022-rnd-battery-feat2']);
  });

  test('a run id of no purpose, and a run without a manifest, are usage errors that say what to do', async () => {
    let r = await batcat(['reproduce', '2022-rnd-battery', 'nothing-20261122-a1']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("'nothing-20261122-a1' is not a run id of project '2022-rnd-battery'");
    r = await batcat(['reproduce', '2022-rnd-battery', 'usage-analysis-20261101-a1']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('run usage-analysis-20261101-a1 has no manifest');
  });
});

describe('batcat reproduce --local-run, and doctor --run', () => {
  let here: string;
  const cli = async (args: string[], installed?: Record<string, string | null>) => {
    let out = '';
    let err = '';
    const code = await runCli([...args, '--root', here], {
      cwd: here,
      out: (t) => (out += t),
      err: (t) => (err += t),
      ...(installed
        ? {
            doctor: (rootDir: string) => ({
              ...defaultDoctorEnv(rootDir),
              installedVersions: (_python, names) => Object.fromEntries(names.map((n) => [n, installed[n] ?? null])),
            }),
          }
        : {}),
    });
    return { code, out, err };
  };
  const setArguments = (args: string) => {
    const file = path.join(here, 'projects', '2022-rnd-battery.yaml');
    const text = fs.readFileSync(file, 'utf8').replace(/\n {4}arguments: .*/, '');
    fs.writeFileSync(
      file,
      text.replace(
        '    description: Per-vehicle battery usage summary\n',
        `    description: Per-vehicle battery usage summary\n    arguments: ${args}\n`,
      ),
    );
  };
  beforeAll(() => {
    here = exampleCopy();
    setArguments("['--mode', 'recorded']");
    fs.mkdirSync(path.join(here, 'data', 'raw', 'usage', DAY), { recursive: true });
    fs.writeFileSync(path.join(here, 'data', INPUT_KEY), FIRST);
  });

  test('a local run is reproduced from the files it read, which must be unchanged (local files have no versions)', async () => {
    let r = await cli(['run-local', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-22', '--engine', 'namespace']);
    expect(r.code).toBe(0);
    // The project's arguments changed since; the reproduction runs with the run's own.
    setArguments("['--mode', 'changed']");
    r = await cli(['reproduce', '2022-rnd-battery', RUN_ID, '--local-run', '--engine', 'namespace']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`from runs/usage-analysis/${RUN_ID}/manifest.json`);
    expect(r.out).toContain(`reproduced: every output is byte for byte the one run ${RUN_ID} wrote`);
    // The reproduction is the window's next local attempt.
    expect(
      JSON.parse(fs.readFileSync(path.join(here, 'runs', 'usage-analysis', 'usage-analysis-20261122-a2', 'status.json'), 'utf8')),
    ).toMatchObject({
      reproduces: RUN_ID,
    });
    const job = JSON.parse(
      fs.readFileSync(path.join(here, 'runs', 'usage-analysis', 'usage-analysis-20261122-a2', 'job.json'), 'utf8'),
    ).job;
    expect(job.AppSpecification.ContainerArguments).toEqual(['--mode', 'recorded']);

    fs.writeFileSync(path.join(here, 'data', INPUT_KEY), LATER);
    r = await cli(['reproduce', '2022-rnd-battery', RUN_ID, '--local-run', '--engine', 'namespace']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      `batcat: s3://local-data-bucket/${INPUT_KEY} is not the object run ${RUN_ID} read (its MD5 is ${md5(LATER)}, the manifest recorded ${md5(FIRST)}): it was overwritten, and its bucket keeps no versions.`,
    );
    r = await cli(['reproduce', '2022-rnd-battery', 'usage-analysis-20261101-a1', '--local-run']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      'no local run usage-analysis-20261101-a1: runs/usage-analysis/usage-analysis-20261101-a1/manifest.json does not exist',
    );
  });

  test("doctor --run compares an interpreter with the packages the run's manifest recorded", async () => {
    const runDir = path.join(here, 'runs', 'usage-analysis', 'usage-analysis-20261121-a1');
    fs.mkdirSync(runDir, { recursive: true });
    const manifest = {
      version: 1,
      runId: 'usage-analysis-20261121-a1',
      requirements: [
        { name: 'numpy', version: '1.26.4', exact: true, from: 'containers/usage-analysis/requirements.txt', hashes: ['sha256:aa'] },
        { name: 'scikit-learn', version: '1.2', exact: false, from: 'framework sklearn:1.2-1' },
        { name: 'pyarrow', exact: false, from: 'containers/usage-analysis/requirements.txt' },
      ],
    };
    fs.writeFileSync(path.join(runDir, 'manifest.json'), JSON.stringify(manifest));
    let r = await cli(['doctor', '--run', 'usage-analysis-20261121-a1', '--python', 'py'], {
      numpy: '1.26.4',
      'scikit-learn': '1.2.2',
      pyarrow: '15.0.0',
    });
    expect(r.code).toBe(0);
    expect(r.out.trimEnd().split('\n')).toEqual([
      'run usage-analysis-20261121-a1 (runs/usage-analysis/usage-analysis-20261121-a1/manifest.json): 3 package(s) recorded',
      '✓ numpy==1.26.4 (containers/usage-analysis/requirements.txt, 1 hash(es) pinned): 1.26.4',
      '✓ scikit-learn 1.2.x (framework sklearn:1.2-1): 1.2.2',
      '✓ pyarrow (containers/usage-analysis/requirements.txt): 15.0.0',
      "py has every package the run's image had",
    ]);
    r = await cli(['doctor', '--run', 'usage-analysis-20261121-a1', '--python', 'py'], { numpy: '2.0.0', 'scikit-learn': '1.2.2' });
    expect(r.code).toBe(2);
    expect(r.out).toContain('✗ numpy==1.26.4 (containers/usage-analysis/requirements.txt): 2.0.0 is installed');
    expect(r.out).toContain('✗ pyarrow (containers/usage-analysis/requirements.txt) is not installed');
    expect(r.out).toContain("2 package(s) differ from run usage-analysis-20261121-a1's image");
    expect(r.out).toContain("    fix: py -m pip install 'numpy==1.26.4' 'pyarrow'");
    r = await cli(['doctor', '--run', 'weekly-20261121-a1']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("no purpose of the projects here has a run 'weekly-20261121-a1'");
  });
});
