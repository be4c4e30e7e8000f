import * as fs from 'node:fs';
import * as path from 'node:path';
import { AthenaClient, GetQueryExecutionCommand, StartQueryExecutionCommand, StopQueryExecutionCommand } from '@aws-sdk/client-athena';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { runCli } from '../../lib/cli/main';
import { SYNC_STATE_FILE } from '../../lib/io/sync';
import { REPO_ROOT, tempDir } from '../helpers';
import { exampleCopy } from './cli-process';
import { startS3Server, type S3Server } from '../s3-server';

/*
 * `batcat pull`, `push` and `query` as a user runs them, against the example project: S3 is a
 * real S3-protocol server (s3rver); CloudFormation (the bucket name) and Athena are mocked.
 */

jest.setTimeout(60_000);

const BUCKET = 'batcat-2022-rnd-battery-dev-data';
// The example project has storage: per-purpose; these are its purposes' buckets.
const USAGE_BUCKET = 'batcat-2022-rnd-battery-dev-usage-analysis';
const REPORT_BUCKET = 'batcat-2022-rnd-battery-dev-fleet-report';
const cfn = mockClient(CloudFormationClient);
const athena = mockClient(AthenaClient);
let server: S3Server;
let s3: S3Client;

beforeAll(async () => {
  server = await startS3Server();
  s3 = server.client();
  for (const b of [BUCKET, USAGE_BUCKET, REPORT_BUCKET]) await s3.send(new CreateBucketCommand({ Bucket: b }));
});
afterAll(async () => {
  s3?.destroy();
  await server?.stop();
});
beforeEach(() => {
  cfn.reset();
  athena.reset();
  cfn.on(DescribeStacksCommand, { StackName: 'batcat-2022-rnd-battery-dev' }).resolves({
    Stacks: [
      {
        StackName: 'batcat-2022-rnd-battery-dev',
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: [
          { OutputKey: 'DataBucketName', OutputValue: BUCKET },
          { OutputKey: 'PurposeBucketusageXanalysis', OutputValue: USAGE_BUCKET },
          { OutputKey: 'PurposeBucketfleetXreport', OutputValue: REPORT_BUCKET },
        ],
      },
    ],
  });
});

/** An S3 client whose `command` fails on its nth call: an interruption half-way. */
function failingOn(command: string, nth: number): S3Client {
  const client = server.client();
  let calls = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === command && ++calls === nth)
        throw Object.assign(new Error('connection reset by peer'), { name: 'NetworkingError' });
      return next(args);
    },
    { step: 'initialize' },
  );
  return client;
}

let clock = 0;
async function cli(argv: string[], opts: { s3?: S3Client; cwd?: string } = {}) {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    cwd: opts.cwd ?? REPO_ROOT,
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    clients: () => ({
      s3: opts.s3 ?? s3,
      cloudformation: new CloudFormationClient({ region: 'eu-west-1' }),
      athena: new AthenaClient({ region: 'eu-west-1' }),
    }),
    sleep: async (ms) => {
      clock += ms;
    },
    now: () => clock,
  });
  return { code, out, err };
}

/** A local folder with some files, one in a subfolder and one with a unicode name. */
function localFolder(): string {
  const dir = tempDir('batcat-push-');
  fs.writeFileSync(path.join(dir, 'a.csv'), 'vin,usage\nV1,1\n');
  fs.mkdirSync(path.join(dir, 'dt=2022-01-02'));
  fs.writeFileSync(path.join(dir, 'dt=2022-01-02', 'b.csv'), 'vin,usage\nV2,2\n');
  fs.writeFileSync(path.join(dir, 'fahrzeug-ä.csv'), 'vin,usage\nV3,3\n');
  fs.writeFileSync(path.join(dir, 'large.bin'), Buffer.alloc(6 * 1024 * 1024, 7));
  return dir;
}

const files = (dir: string) => {
  const out: string[] = [];
  const walk = (d: string) =>
    fs
      .readdirSync(d, { withFileTypes: true })
      .forEach((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : out.push(path.relative(dir, path.join(d, e.name)))));
  walk(dir);
  return out.sort();
};

describe('batcat push and pull', () => {
  test('push uploads a folder, then skips what is unchanged and uploads only what changed', async () => {
    const dir = localFolder();
    const first = await cli(['push', '2022-rnd-battery', dir, 'raw/push-test']);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toContain(`push ${dir} -> s3://${BUCKET}/raw/push-test/`);
    expect(first.out).toContain('note: no purpose of the project file reads or writes raw/push-test/, so the project bucket holds it');
    expect(first.out).toContain('↑ [1/4] a.csv (15 B)');
    expect(first.out).toMatch(/pushed 4 file\(s\) \(6\.3 MB\), 0 unchanged/);
    const again = await cli(['push', '2022-rnd-battery', dir, 'raw/push-test/']);
    expect(again.out).toMatch(/pushed 0 file\(s\) \(0 B\), 4 unchanged/);
    fs.writeFileSync(path.join(dir, 'a.csv'), 'vin,usage\nV1,10\n');
    const changed = await cli(['push', '2022-rnd-battery', dir, 'raw/push-test/']);
    expect(changed.out).toMatch(/pushed 1 file\(s\) \(16 B\), 3 unchanged/);
  });

  test('pull copies a folder into data/<prefix> byte for byte, skips unchanged files, and re-pulls changed ones', async () => {
    const dir = localFolder();
    await cli(['push', '2022-rnd-battery', dir, 'raw/pull-test/']);
    const root = tempDir('batcat-root-');
    fs.cpSync(path.join(REPO_ROOT, 'projects'), path.join(root, 'projects'), { recursive: true });
    fs.cpSync(path.join(REPO_ROOT, 'containers'), path.join(root, 'containers'), { recursive: true });
    fs.cpSync(path.join(REPO_ROOT, 'queries'), path.join(root, 'queries'), { recursive: true });
    fs.cpSync(path.join(REPO_ROOT, 'spark'), path.join(root, 'spark'), { recursive: true });
    const first = await cli(['pull', '2022-rnd-battery', 'raw/pull-test'], { cwd: root });
    expect(first.code).toBe(0);
    const target = path.join(root, 'data', 'raw', 'pull-test');
    expect(first.out).toContain(`pull s3://${BUCKET}/raw/pull-test/ -> ${target}`);
    expect(files(target)).toEqual([SYNC_STATE_FILE, 'a.csv', path.join('dt=2022-01-02', 'b.csv'), 'fahrzeug-ä.csv', 'large.bin'].sort());
    for (const f of ['a.csv', path.join('dt=2022-01-02', 'b.csv'), 'fahrzeug-ä.csv', 'large.bin']) {
      expect(fs.readFileSync(path.join(target, f)).equals(fs.readFileSync(path.join(dir, f)))).toBe(true);
    }
    const again = await cli(['pull', '2022-rnd-battery', 'raw/pull-test/'], { cwd: root });
    expect(again.out).toMatch(/pulled 0 file\(s\) \(0 B\), 4 unchanged/);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'raw/pull-test/a.csv', Body: 'vin,usage\nV1,99\n' }));
    const changed = await cli(['pull', '2022-rnd-battery', 'raw/pull-test/'], { cwd: root });
    expect(changed.out).toMatch(/pulled 1 file\(s\) \(16 B\), 3 unchanged/);
    expect(fs.readFileSync(path.join(target, 'a.csv'), 'utf8')).toBe('vin,usage\nV1,99\n');
  });

  test('pull keeps a local edit when the bucket changed too, unless --force', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'raw/edit-test/x.csv', Body: 'v1\n' }));
    const target = tempDir('batcat-edit-');
    expect((await cli(['pull', '2022-rnd-battery', 'raw/edit-test/', target])).code).toBe(0);
    fs.writeFileSync(path.join(target, 'x.csv'), 'my local edit\n');
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'raw/edit-test/x.csv', Body: 'v2\n' }));
    const kept = await cli(['pull', '2022-rnd-battery', 'raw/edit-test/', target]);
    expect(kept.code).toBe(1);
    expect(kept.out).toContain(
      '! x.csv: changed here since it was pulled, and changed in the bucket too; kept the local file (--force overwrites it)',
    );
    expect(fs.readFileSync(path.join(target, 'x.csv'), 'utf8')).toBe('my local edit\n');
    const forced = await cli(['pull', '2022-rnd-battery', 'raw/edit-test/', target, '--force']);
    expect(forced.code).toBe(0);
    expect(fs.readFileSync(path.join(target, 'x.csv'), 'utf8')).toBe('v2\n');
  });

  test('an interrupted pull leaves only whole files, and running it again finishes the rest', async () => {
    const dir = localFolder();
    await cli(['push', '2022-rnd-battery', dir, 'raw/resume-pull/']);
    const target = tempDir('batcat-resume-');
    const broken = await cli(['pull', '2022-rnd-battery', 'raw/resume-pull/', target], { s3: failingOn('GetObjectCommand', 3) });
    expect(broken.code).toBe(1);
    expect(broken.err).toContain('connection reset by peer');
    const partial = files(target);
    expect(partial.filter((f) => f.endsWith('.batcat-part'))).toEqual([]);
    expect(partial).toEqual([SYNC_STATE_FILE, 'a.csv', path.join('dt=2022-01-02', 'b.csv')].sort());
    const resumed = await cli(['pull', '2022-rnd-battery', 'raw/resume-pull/', target]);
    expect(resumed.code).toBe(0);
    expect(resumed.out).toMatch(/pulled 2 file\(s\) \(6\.3 MB\), 2 unchanged/);
    expect(fs.readFileSync(path.join(target, 'large.bin')).equals(fs.readFileSync(path.join(dir, 'large.bin')))).toBe(true);
  });

  test('an interrupted push resumes without uploading finished files again', async () => {
    const dir = localFolder();
    const broken = await cli(['push', '2022-rnd-battery', dir, 'raw/resume-push/'], { s3: failingOn('PutObjectCommand', 2) });
    expect(broken.code).toBe(1);
    const resumed = await cli(['push', '2022-rnd-battery', dir, 'raw/resume-push/']);
    expect(resumed.code).toBe(0);
    expect(resumed.out).toMatch(/pushed 3 file\(s\) \(6\.3 MB\), 1 unchanged/);
  });

  test('with storage: per-purpose, a folder is copied to and from the bucket of the purpose that reads or writes it', async () => {
    const dir = localFolder();
    const pushed = await cli(['push', '2022-rnd-battery', dir, 'raw/usage/']);
    expect(pushed.code).toBe(0);
    expect(pushed.out).toContain(`push ${dir} -> s3://${USAGE_BUCKET}/raw/usage/`);
    expect(pushed.out).not.toContain('note:');
    await s3.send(
      new PutObjectCommand({ Bucket: REPORT_BUCKET, Key: 'results/fleet-report/report/dt=2022-01-02/report.csv', Body: 'x\n' }),
    );
    const target = tempDir('batcat-report-');
    const pulled = await cli(['pull', '2022-rnd-battery', 'results/fleet-report/report/dt=2022-01-02', target]);
    expect(pulled.out).toContain(`pull s3://${REPORT_BUCKET}/results/fleet-report/report/dt=2022-01-02/`);
    expect(fs.readFileSync(path.join(target, 'report.csv'), 'utf8')).toBe('x\n');
    // A parent folder of one purpose's folders only is in that purpose's bucket.
    const parent = await cli(['pull', '2022-rnd-battery', 'results/fleet-report/', tempDir('batcat-report-')]);
    expect(parent.out).toContain(`pull s3://${REPORT_BUCKET}/results/fleet-report/`);
  });

  test('a folder that spans the buckets of several purposes is refused, with the folders to copy instead', async () => {
    const r = await cli(['pull', '2022-rnd-battery', 'results/']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      'results/ spans the buckets of several purposes (storage: per-purpose); copy one folder at a time: results/usage-analysis/summary/ (usage-analysis), results/fleet-report/report/ (fleet-report)',
    );
  });

  test('a stack deployed before per-purpose storage (no output for the purpose bucket) is named, with the fix', async () => {
    cfn.reset();
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'batcat-2022-rnd-battery-dev',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [{ OutputKey: 'DataBucketName', OutputValue: BUCKET }],
        },
      ],
    });
    const r = await cli(['pull', '2022-rnd-battery', 'raw/usage/']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      "stack batcat-2022-rnd-battery-dev has no PurposeBucketusageXanalysis output for the bucket of purpose usage-analysis, which holds raw/usage/: the deployed stack is older than the project file's storage (per-purpose); deploy it (npx cdk deploy batcat-2022-rnd-battery-dev), or pass --bucket",
    );
    // --bucket still names any bucket.
    expect((await cli(['pull', '2022-rnd-battery', 'raw/usage/', tempDir('batcat-any-'), '--bucket', USAGE_BUCKET])).code).toBe(0);
  });

  test.each([
    [
      'a prefix leaving the bucket folder',
      ['pull', '2022-rnd-battery', '../secrets/'],
      /prefix '\.\.\/secrets\/' must be a folder of the project bucket/,
    ],
    ['an absolute prefix', ['push', '2022-rnd-battery', '.', '/raw/'], /prefix '\/raw\/' must be a folder/],
    [
      'a missing local folder',
      ['push', '2022-rnd-battery', 'data/does-not-exist', 'raw/x/'],
      /local folder .*data\/does-not-exist does not exist/,
    ],
    ['an unknown project', ['pull', 'no-such-project', 'raw/'], /no project 'no-such-project'/],
  ])('rejects %s with exit code 2 and copies nothing', async (_what, argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  test('refused by the bucket policy (someone dataAccess does not name): the object, and where to add the person', async () => {
    const refusing = server.client();
    refusing.middlewareStack.add(
      () => async () => {
        // What S3 answers a principal that the bucket policy's deny matches.
        throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      },
      { step: 'initialize' },
    );
    const r = await cli(['pull', '2022-rnd-battery', 'raw/'], { s3: refusing });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`access denied: ListObjectsV2 on s3://${USAGE_BUCKET}/raw/`);
    expect(r.err).toContain("the principals under dataAccess in the project file read and write its data; add your role's ARN there");
  });

  test('a project that is not deployed is named, with the fix', async () => {
    cfn.reset();
    cfn
      .on(DescribeStacksCommand)
      .rejects(Object.assign(new Error('Stack with id batcat-2022-rnd-battery-dev does not exist'), { name: 'ValidationError' }));
    const r = await cli(['pull', '2022-rnd-battery', 'raw/']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      'stack batcat-2022-rnd-battery-dev is not deployed in this account and region; deploy it (npx cdk deploy batcat-2022-rnd-battery-dev) or pass --bucket',
    );
  });
});

describe('batcat pull --sample', () => {
  test("pulls each table output's newest sample and its profile into data/, where run-local and query --local read them", async () => {
    const root = exampleCopy();
    const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: USAGE_BUCKET, Key: key, Body: body }));
    await put('_batcat/samples/usage-analysis/summary/dt=2026-11-20/sample.csv', 'vin,records\n"VIN0","1"\n');
    await put('_batcat/samples/usage-analysis/summary/dt=2026-11-22/sample.csv', 'vin,records\n"VIN1","2"\n"VIN2","1"\n');
    await put('_batcat/profiles/usage-analysis/summary/dt=2026-11-22/profile.json', '{"version":1,"rows":2000}');
    const r = await cli(['--root', root, 'pull', '2022-rnd-battery', 'usage-analysis', '--sample']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      'summary: sample of 2026-11-22, 2 row(s) -> data/result/usage-analysis/dt=2026-11-22/summary/sample.csv; its profile -> data/_batcat/profiles/usage-analysis/summary/dt=2026-11-22/profile.json',
    );
    expect(fs.readFileSync(path.join(root, 'data/result/usage-analysis/dt=2026-11-22/summary/sample.csv'), 'utf8')).toBe(
      'vin,records\n"VIN1","2"\n"VIN2","1"\n',
    );
    expect(
      JSON.parse(fs.readFileSync(path.join(root, 'data/_batcat/profiles/usage-analysis/summary/dt=2026-11-22/profile.json'), 'utf8')),
    ).toEqual({
      version: 1,
      rows: 2000,
    });
    // A local result of that window is not mixed with the sample.
    fs.writeFileSync(path.join(root, 'data/result/usage-analysis/dt=2026-11-22/summary/usage_summary.csv'), 'vin\n');
    const again = await cli(['--root', root, 'pull', '2022-rnd-battery', 'usage-analysis', '--sample']);
    expect(again.out).toContain(
      'summary: not pulled: data/result/usage-analysis/dt=2026-11-22/summary holds a local result of 2026-11-22 (usage_summary.csv), which the sample would be read with; remove it to work on the sample',
    );
    // fleet-report's output has no table, so no sample.
    const none = await cli(['--root', root, 'pull', '2022-rnd-battery', 'fleet-report', '--sample']);
    expect(none.code).toBe(2);
    expect(none.err).toContain("purpose 'fleet-report' keeps no sample: none of its outputs has a table (or each has sample: 0)");
  });
});

describe('batcat profile of the runs on AWS', () => {
  const profile = (day: string, rows: number, min: number) => ({
    version: 1,
    purpose: 'usage-analysis',
    output: 'summary',
    table: 'usage_analysis_summary',
    runId: `usage-analysis-${day.replace(/-/g, '')}-a1`,
    window: { start: day, end: day },
    engine: 'athena',
    rows,
    columns: [
      { name: 'vin', type: 'string', nulls: 0, distinct: rows, min: 'VIN1', max: 'VIN9', top: [{ value: 'VIN1', count: 1 }] },
      {
        name: 'total_usage',
        type: 'double',
        nulls: 0,
        distinct: rows,
        min,
        max: 9,
        mean: 4,
        quantiles: { p50: 4 },
        histogram: [{ lower: min, upper: 9, count: rows }],
      },
    ],
  });

  test("reads the profile history in the purpose's bucket: a table per output, or the page comparing two windows with the rules' state", async () => {
    const root = exampleCopy();
    const put = (day: string, body: object) =>
      s3.send(
        new PutObjectCommand({
          Bucket: USAGE_BUCKET,
          Key: `_batcat/profiles/usage-analysis/summary/dt=${day}/profile.json`,
          Body: JSON.stringify(body),
        }),
      );
    await put('2026-11-20', profile('2026-11-20', 40, 1));
    await put('2026-11-21', profile('2026-11-21', 50, -2));
    const r = await cli(['--root', root, 'profile', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-21']);
    expect(r.err).toBe('');
    expect(r.out.split('\n')[0]).toBe(
      'usage-analysis/summary (table usage_analysis_summary), run usage-analysis-20261121-a1, window 2026-11-21 .. 2026-11-21: 50 row(s)',
    );
    const out = path.join(tempDir('batcat-html-'), 'p.html');
    const html = await cli([
      '--root',
      root,
      'profile',
      '2022-rnd-battery',
      'usage-analysis',
      '--date',
      '2026-11-21',
      '--html',
      out,
      '--compare',
      '2026-11-20',
    ]);
    expect(html.err).toBe('');
    expect(html.out).toBe(`wrote ${out}: 1 output(s), 2 column(s); open it in a browser (it needs no network)\n`);
    const page = fs.readFileSync(out, 'utf8');
    expect(page).toContain('<title>usage-analysis: run usage-analysis-20261121-a1 and run usage-analysis-20261120-a1</title>');
    // The example's rule total_usage: { min: 0 } fails on the newest window's -2.
    expect(page).toContain('<tr class="fail"><td>columns.total_usage.min</td><td>fail</td>');
    const before = await cli(['--root', root, 'profile', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-19']);
    expect(before.out).toContain(
      `usage-analysis/summary: no run on AWS kept a profile of a window starting on or before 2026-11-19 in s3://${USAGE_BUCKET}/_batcat/profiles/usage-analysis/summary/`,
    );
  });
});

describe('batcat query', () => {
  const RESULT = '"vin","records","total_usage"\n"V1","3","9.0"\n';

  function succeeded(id: string) {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: id });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce({
        QueryExecution: {
          QueryExecutionId: id,
          Status: { State: 'RUNNING' },
          Statistics: { DataScannedInBytes: 1e6, TotalExecutionTimeInMillis: 2000 },
        },
      })
      .resolves({
        QueryExecution: {
          QueryExecutionId: id,
          Status: { State: 'SUCCEEDED' },
          ResultConfiguration: { OutputLocation: `s3://${BUCKET}/athena-results/${id}.csv` },
          Statistics: { DataScannedInBytes: 3.5e6, EngineExecutionTimeInMillis: 4200, TotalExecutionTimeInMillis: 4500 },
        },
      });
  }

  test("runs the file in the project's workgroup with the window as parameters and writes the result CSV", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'athena-results/q-1.csv', Body: RESULT }));
    succeeded('q-1');
    const out = path.join(tempDir('batcat-query-'), 'result', 'fleet.csv');
    const r = await cli([
      'query',
      '2022-rnd-battery',
      '--sql',
      'queries/fleet-report.sql',
      '--from',
      '2026-11-01',
      '--to',
      '2026-11-07',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toBe(RESULT);
    const start = athena.commandCalls(StartQueryExecutionCommand)[0].args[0].input;
    expect(start).toMatchObject({
      QueryString: fs.readFileSync(path.join(REPO_ROOT, 'queries', 'fleet-report.sql'), 'utf8'),
      ExecutionParameters: ["'2026-11-01'", "'2026-11-07'"],
      WorkGroup: 'batcat-2022-rnd-battery-dev',
      QueryExecutionContext: { Database: 'batcat_2022_rnd_battery_dev' },
    });
    expect(r.err.split('\n')).toEqual(
      expect.arrayContaining([
        'query queries/fleet-report.sql in workgroup batcat-2022-rnd-battery-dev, database batcat_2022_rnd_battery_dev, window 2026-11-01 .. 2026-11-07',
        '  running 2s, 1.0 MB scanned',
        'query q-1 succeeded: 3.5 MB scanned in 4s',
        `wrote ${out} (${RESULT.length} B) from s3://${BUCKET}/athena-results/q-1.csv`,
      ]),
    );
  });

  test('without --out the CSV goes to standard output and progress to standard error', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'athena-results/q-2.csv', Body: RESULT }));
    succeeded('q-2');
    const r = await cli(['query', '2022-rnd-battery', '--sql', 'queries/fleet-report.sql', '--date', '2026-11-01']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(RESULT);
    expect(athena.commandCalls(StartQueryExecutionCommand)[0].args[0].input.ExecutionParameters).toEqual(["'2026-11-01'", "'2026-11-01'"]);
  });

  test("a failed query exits 1 with Athena's reason; a timeout stops the query", async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-3' });
    athena.on(GetQueryExecutionCommand).resolves({
      QueryExecution: { QueryExecutionId: 'q-3', Status: { State: 'FAILED', StateChangeReason: 'Bytes scanned limit was exceeded' } },
    });
    const failed = await cli(['query', '2022-rnd-battery', '--sql', 'queries/fleet-report.sql', '--date', '2026-11-01']);
    expect(failed.code).toBe(1);
    expect(failed.err).toContain('batcat: Athena query q-3 failed: Bytes scanned limit was exceeded');

    athena.reset();
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-4' });
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { QueryExecutionId: 'q-4', Status: { State: 'RUNNING' } } });
    athena.on(StopQueryExecutionCommand).resolves({});
    const slow = await cli([
      'query',
      '2022-rnd-battery',
      '--sql',
      'queries/fleet-report.sql',
      '--date',
      '2026-11-01',
      '--timeout-minutes',
      '1',
    ]);
    expect(slow.code).toBe(1);
    expect(slow.err).toContain('batcat: query q-4 did not finish within 60 s; it was stopped');
    expect(athena.commandCalls(StopQueryExecutionCommand)).toHaveLength(1);
  });

  test.each([
    [
      'no window for a query with placeholders',
      ['--sql', 'queries/fleet-report.sql'],
      /has 2 '\?' placeholder\(s\); give the window with --from and --to \(or --date\)/,
    ],
    ['a missing query file', ['--sql', 'queries/nope.sql', '--date', '2026-11-01'], /query file .*queries\/nope\.sql does not exist/],
    ['a bad date', ['--sql', 'queries/fleet-report.sql', '--date', '2026-13-01'], /--date must be a calendar date written YYYY-MM-DD/],
    [
      '--to before --from',
      ['--sql', 'queries/fleet-report.sql', '--from', '2026-11-05', '--to', '2026-11-01'],
      /--to 2026-11-01 is before --from 2026-11-05/,
    ],
    ['no --sql', [], /required option '--sql <file>' not specified/],
  ])('rejects %s with exit code 2 and starts no query', async (_what, args, message) => {
    const r = await cli(['query', '2022-rnd-battery', ...args]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
  });
});
