import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { GetQueryResultsCommand, GetQueryResultsCommandOutput } from '@aws-sdk/client-athena';
import { CHECKS_NOT_RUN_ERROR, type OutputRules } from '../../lib/contract/data-rules';
import { profileFromRow, profileSql } from '../../lib/contract/profile-sql';
import {
  athenaProfileRow,
  checkOutputs,
  MAX_REASON_LENGTH,
  storedProfiles,
  type CheckedOutput,
  type OutputChecksRequest,
} from '../../lib/runtime/output-checks';
import { s3Store } from '../../lib/runtime/s3-store';
import { startS3Server, type S3Server } from '../s3-server';

/*
 * The data check after a run's commit, as its function runs it on AWS: the profile read from
 * the Athena query's one row (Athena has no local peer: its GetQueryResults answer is made
 * here, in the shape Athena gives it), kept in S3 (an S3-protocol server), checked.
 */

const COLUMNS = [
  { name: 'vin', type: 'string' },
  { name: 'total_usage', type: 'double' },
];
const RULES: OutputRules = { rows: { min: 1 }, columns: { vin: { notNull: true, unique: true } }, drift: { rows: 0.5 } };

/** Athena's GetQueryResults answer for a SELECT of one row: the header, then the values (a null has no VarCharValue). */
function athenaAnswer(row: Record<string, string | null>): GetQueryResultsCommandOutput {
  const names = Object.keys(row);
  return {
    $metadata: {},
    ResultSet: {
      ResultSetMetadata: { ColumnInfo: names.map((Name) => ({ Name, Type: 'varchar' })) },
      Rows: [
        { Data: names.map((n) => ({ VarCharValue: n })) },
        { Data: names.map((n) => (row[n] === null ? {} : { VarCharValue: row[n] })) },
      ],
    },
  };
}

function rowOf(rows: number, duplicates = 0): Record<string, string | null> {
  return {
    row_count: String(rows),
    c0_nulls: '0',
    c0_distinct: String(rows - duplicates),
    c0_min: 'VIN1',
    c0_max: 'VIN9',
    c0_top: '{"VIN1":2,"VIN2":1}',
    c0_duplicates: String(duplicates),
    c1_nulls: '1',
    c1_distinct: String(rows - 1),
    c1_min: '1.5',
    c1_max: '6.0',
    c1_mean: '3.75',
    c1_stddev: null,
    c1_quantiles: '[1.5,2.0,3.75,5.0,6.0]',
    c1_histogram: '{"0":1,"9":1}',
  };
}

describe('the profile query (Athena) and its row', () => {
  test('one query over the window partition, bound to one parameter, with what the rules count', () => {
    const sql = profileSql('batcat_demo_dev', 'usage_analysis_summary', COLUMNS, {
      columns: { vin: { unique: true, values: ["it's", 'VIN2'] } },
    });
    expect(sql).toContain('SELECT * FROM "batcat_demo_dev"."usage_analysis_summary" WHERE attempt = ?');
    expect(sql.replace(/'(?:[^']|'')*'/g, '').match(/\?/g)).toHaveLength(1);
    expect(sql).toContain('count("vin") - count(DISTINCT "vin") AS c0_duplicates');
    expect(sql).toContain(`count_if("vin" IS NOT NULL AND CAST("vin" AS varchar) NOT IN ('it''s', 'VIN2')) AS c0_not_allowed`);
    expect(sql).toContain(
      'approx_percentile(CAST("total_usage" AS double), ARRAY[0.05, 0.25, 0.50, 0.75, 0.95]) AS JSON)) AS c1_quantiles',
    );
    expect(sql).toContain('FROM t CROSS JOIN b');
    expect(() => profileSql('db', 't', [])).toThrow('table t has no columns to profile; declare them (table.columns)');
    expect(profileSql('db', 't', [{ name: 'a"b', type: 'string' }])).toContain('count("a""b")');
  });

  test("Athena's row becomes the same profile document DuckDB writes", async () => {
    const athena = { send: (_: GetQueryResultsCommand) => Promise.resolve(athenaAnswer(rowOf(3, 1))) };
    const row = await athenaProfileRow(athena, 'q-1');
    const about = {
      purpose: 'usage-analysis',
      output: 'summary',
      table: 'usage_analysis_summary',
      runId: 'r1',
      window: { start: '2026-11-22', end: '2026-11-22' },
    };
    const p = profileFromRow(row, COLUMNS, about, RULES);
    expect(p).toMatchObject({ version: 1, engine: 'athena', rows: 3, ruleCounts: { vin: { duplicates: 1 } } });
    expect(p.columns[0]).toEqual({
      name: 'vin',
      type: 'string',
      nulls: 0,
      distinct: 2,
      min: 'VIN1',
      max: 'VIN9',
      top: [
        { value: 'VIN1', count: 2 },
        { value: 'VIN2', count: 1 },
      ],
    });
    expect(p.columns[1]).toMatchObject({ nulls: 1, min: 1.5, max: 6, mean: 3.75, quantiles: { p5: 1.5, p50: 3.75, p95: 6 } });
    expect(p.columns[1].stddev).toBeUndefined();
    expect(p.columns[1].histogram![0]).toEqual({ lower: 1.5, upper: 1.95, count: 1 });
    expect(p.columns[1].histogram![9]).toEqual({ lower: 5.55, upper: 6, count: 1 });
    expect(p.columns[1].histogram!.reduce((n, b) => n + b.count, 0)).toBe(2);
    const empty = { send: () => Promise.resolve({ $metadata: {}, ResultSet: { Rows: [{ Data: [] }] } }) };
    await expect(athenaProfileRow(empty, 'q-2')).rejects.toThrow('the profile query q-2 returned no row');
  });
});

describe('checkOutputs with profiles kept in S3', () => {
  let server: S3Server;
  let s3: S3Client;
  beforeAll(async () => {
    server = await startS3Server();
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'purpose-bucket' }));
  });
  afterAll(async () => {
    s3?.destroy();
    await server?.stop();
  });

  const output = (over: Partial<CheckedOutput> = {}): CheckedOutput => ({
    name: 'summary',
    table: 'usage_analysis_summary',
    columns: COLUMNS,
    rules: RULES,
    onViolation: 'fail',
    queryExecutionId: 'q',
    ...over,
  });
  const request = (day: string, outputs: CheckedOutput[]): OutputChecksRequest => ({
    bucket: 'purpose-bucket',
    purpose: 'usage-analysis',
    runId: `usage-analysis-${day.replace(/-/g, '')}-a1`,
    window: { start: day, end: day },
    outputs,
  });
  async function run(req: OutputChecksRequest, row: Record<string, string | null> | Error, log: string[] = []) {
    const athena = { send: () => (row instanceof Error ? Promise.reject(row) : Promise.resolve(athenaAnswer(row))) };
    const store = storedProfiles(s3Store(s3, req.bucket), req, async (o) =>
      profileFromRow(await athenaProfileRow(athena, o.queryExecutionId!), o.columns, { ...req, output: o.name, table: o.table }, o.rules),
    );
    return checkOutputs(req, store, (l) => log.push(l));
  }
  const keys = async (prefix: string) =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: 'purpose-bucket', Prefix: prefix }))).Contents ?? []).map((o) => o.Key);

  test('a run that keeps its rules: its profile next to its manifest and in the history of counted windows', async () => {
    const r = await run(request('2026-11-20', [output()]), rowOf(100));
    expect(r).toEqual({
      failed: false,
      warned: false,
      reason: '',
      violations: 0,
      warnings: 0,
      profiles: { summary: '_batcat/runs/usage-analysis/usage-analysis-20261120-a1/profiles/summary.json' },
      samples: {},
    });
    expect(await keys('_batcat/profiles/')).toEqual(['_batcat/profiles/usage-analysis/summary/dt=2026-11-20/profile.json']);
    const kept = await s3.send(new GetObjectCommand({ Bucket: 'purpose-bucket', Key: r.profiles.summary }));
    expect(JSON.parse(await kept.Body!.transformToString())).toMatchObject({ rows: 100, engine: 'athena' });
  });

  test('the next window drops by 70% and has a duplicate: it fails, naming each rule, compared with the newest earlier window', async () => {
    await run(request('2026-11-18', [output()]), rowOf(1000));
    const r = await run(request('2026-11-21', [output()]), rowOf(30, 2));
    expect(r.failed).toBe(true);
    expect(r.violations).toBe(2);
    expect(r.reason).toContain(
      'output summary (table usage_analysis_summary) has 30 row(s), 70% fewer than the 100 of run usage-analysis-20261120-a1; rule drift.rows allows 50%',
    );
    expect(r.reason).toContain('column vin has 2 duplicate value(s); rule unique');
    // Kept with the run, to look at; not in the history a later run compares with.
    expect(await keys('_batcat/runs/usage-analysis/usage-analysis-20261121-a1/')).toEqual([
      '_batcat/runs/usage-analysis/usage-analysis-20261121-a1/profiles/summary.json',
    ]);
    expect(await keys('_batcat/profiles/usage-analysis/summary/dt=2026-11-21/')).toEqual([]);
  });

  test('warn: the run goes on, counted as warnings, and the window joins the history', async () => {
    const r = await run(request('2026-11-22', [output({ onViolation: 'warn', rules: { rows: { min: 500 } } })]), rowOf(100));
    expect(r).toMatchObject({ failed: false, warned: true, violations: 0, warnings: 1 });
    expect(r.reason).toMatch(/^warning: the run broke its data rules \(onViolation: warn\):\n {2}- .* rule rows\.min is 500/);
    expect(await keys('_batcat/profiles/usage-analysis/summary/dt=2026-11-22/')).toHaveLength(1);
  });

  test("a run that counts keeps its sample in the output's sample history; a failed run or a missing sample keeps none", async () => {
    const withSample = async (req: OutputChecksRequest, rows: number, sample: () => Promise<string | undefined>, log: string[] = []) => {
      const athena = { send: () => Promise.resolve(athenaAnswer(rowOf(rows))) };
      const store = storedProfiles(
        s3Store(s3, req.bucket),
        req,
        async (o) => profileFromRow(await athenaProfileRow(athena, 'q'), o.columns, { ...req, output: o.name, table: o.table }, o.rules),
        sample,
      );
      return checkOutputs(req, store, (l) => log.push(l));
    };
    const csv = 'vin,total_usage\nVIN1,1.5\n';
    const kept = await withSample(request('2026-11-25', [output({ rules: { rows: { min: 1 } } })]), 100, () => Promise.resolve(csv));
    expect(kept.samples).toEqual({ summary: '_batcat/samples/usage-analysis/summary/dt=2026-11-25/sample.csv' });
    const body = await s3.send(new GetObjectCommand({ Bucket: 'purpose-bucket', Key: kept.samples.summary }));
    expect(await body.Body!.transformToString()).toBe(csv);
    const failed = await withSample(request('2026-11-26', [output({ rules: { rows: { min: 500 } } })]), 100, () => Promise.resolve(csv));
    expect(failed).toMatchObject({ failed: true, samples: {} });
    expect(await keys('_batcat/samples/usage-analysis/summary/dt=2026-11-26/')).toEqual([]);
    const log: string[] = [];
    const missing = await withSample(
      request('2026-11-27', [output({ rules: { rows: { min: 1 } } })]),
      100,
      () => Promise.reject(new Error('the sample query of output summary did not run')),
      log,
    );
    expect(missing).toMatchObject({ failed: false, samples: {} });
    expect(log).toContain('warning: no sample of summary: the sample query of output summary did not run');
  });

  test('checks that could not run: with rules the run does not count (BatCat.ChecksNotRun); without, the missing profile is reported', async () => {
    const scanCap = new Error('Query cancelled! : Bytes scanned limit was exceeded');
    const failing = run(request('2026-11-23', [output()]), scanCap);
    await expect(failing).rejects.toMatchObject({
      name: CHECKS_NOT_RUN_ERROR,
      message:
        'the profile of output summary (table usage_analysis_summary) could not be made, so its rules were not checked and run usage-analysis-20261123-a1 does not count: Query cancelled! : Bytes scanned limit was exceeded',
    });
    const log: string[] = [];
    const r = await run(request('2026-11-23', [output({ rules: undefined })]), scanCap, log);
    expect(r).toMatchObject({ failed: false, warned: false, profiles: {} });
    expect(log).toEqual(['warning: no profile of summary: Query cancelled! : Bytes scanned limit was exceeded']);
  });

  test('a profile too large for a state payload stays in S3: the verdict the state machine reads is bounded', async () => {
    const columns = Array.from({ length: 400 }, (_, k) => ({ name: `measure_${k}`, type: 'double' }));
    const rules: OutputRules = { columns: Object.fromEntries(columns.map((c) => [c.name, { notNull: true, max: 1 }])) };
    const row: Record<string, string | null> = { row_count: '10' };
    columns.forEach((_, k) =>
      Object.assign(row, {
        [`c${k}_nulls`]: '3',
        [`c${k}_distinct`]: '7',
        [`c${k}_min`]: '0',
        [`c${k}_max`]: '1000',
        [`c${k}_quantiles`]: '[0,1,2,3,4]',
        [`c${k}_histogram`]: '{"0":3,"9":4}',
      }),
    );
    const r = await run(request('2026-11-24', [output({ columns, rules })]), row);
    expect(r.violations).toBe(800);
    expect(r.reason.length).toBeLessThanOrEqual(MAX_REASON_LENGTH);
    expect(r.reason).toMatch(/… \(cut; every violation is in the run's log\)$/);
    expect(JSON.stringify(r).length).toBeLessThan(8 * 1024);
    const kept = await s3.send(new GetObjectCommand({ Bucket: 'purpose-bucket', Key: r.profiles.summary }));
    // Far above Step Functions' 256 KB payload: it never passes through the state machine.
    expect((await kept.Body!.transformToString()).length).toBeGreaterThan(256 * 1024);
  });
});
