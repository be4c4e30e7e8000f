import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { batcat, exampleCopy, filesBelow } from './cli-process';

/*
 * The example's summary output has a feature group: `batcat run-local` puts each committed
 * result into its offline store under data/, in the layout SageMaker writes to S3 (partitioned
 * by event time, with write_time, api_invocation_time and is_deleted), and training reads it
 * as it would with Athena: the newest record per identifier as of a time.
 */

jest.setTimeout(120_000);

const STORE =
  'data/features/usage-analysis/summary/000000000000/sagemaker/local/offline-store/batcat-2022-rnd-battery-dev-usage-analysis-summary/data';

function withUsage(root: string, day: string, csv: string): void {
  const dir = path.join(root, 'data', 'raw', 'usage', `dt=${day}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'part-0001.csv'), csv);
}

const runLocal = (root: string, day: string) =>
  batcat(['run-local', '2022-rnd-battery', 'usage-analysis', '--date', day, '--engine', 'namespace'], root);

test("each run's result lands in the offline store's layout, and a point-in-time read takes the newest record per vehicle", async () => {
  const root = exampleCopy();
  withUsage(root, '2026-11-21', 'vin,time,usage\nVIN1,2026-11-21T07:00:00,4\nVIN2,2026-11-21T08:30:00,1\n');
  withUsage(root, '2026-11-22', 'vin,time,usage\nVIN2,2026-11-22T08:00:00,1.5\nVIN1,2026-11-22T09:00:00,2\nVIN1,2026-11-22T07:00:00,4\n');
  for (const day of ['2026-11-21', '2026-11-22']) {
    const r = runLocal(root, day);
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
    expect(r.out).toMatch(/▶ CommitResults\n✓ CommitResults \(\d+ ms\)\n▶ IngestFeatures-summary\n/);
    expect(r.out).toContain('feature group batcat-2022-rnd-battery-dev-usage-analysis-summary: 2 record(s) in its offline store');
  }
  expect(filesBelow(path.join(root, STORE))).toEqual([
    'year=2026/month=11/day=21/hour=07/usage-analysis-20261121-a1.parquet',
    'year=2026/month=11/day=21/hour=08/usage-analysis-20261121-a1.parquet',
    'year=2026/month=11/day=22/hour=08/usage-analysis-20261122-a1.parquet',
    'year=2026/month=11/day=22/hour=09/usage-analysis-20261122-a1.parquet',
  ]);

  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run(`CREATE VIEW offline AS SELECT * FROM read_parquet('${path.join(root, STORE)}/**/*.parquet', hive_partitioning = true)`);
  const columns = (await c.runAndReadAll('DESCRIBE offline'))
    .getRowObjectsJS()
    .map((r) => `${r.column_name as string} ${r.column_type as string}`);
  expect(columns).toEqual(
    expect.arrayContaining([
      'vin VARCHAR',
      'records BIGINT',
      'total_usage DOUBLE',
      'last_time VARCHAR',
      'write_time TIMESTAMP',
      'is_deleted BOOLEAN',
    ]),
  );
  // What a training set as of 2026-11-22 08:30 reads: each vehicle's newest record not after that time.
  const asOf = await c.runAndReadAll(`
    SELECT vin, total_usage, last_time FROM (
      SELECT *, row_number() OVER (PARTITION BY vin ORDER BY last_time DESC, write_time DESC) AS n
      FROM offline WHERE last_time <= '2026-11-22T08:30:00Z' AND NOT is_deleted)
    WHERE n = 1 ORDER BY vin`);
  expect(asOf.getRowObjectsJS()).toEqual([
    { vin: 'VIN1', total_usage: 4, last_time: '2026-11-21T07:00:00Z' },
    { vin: 'VIN2', total_usage: 1.5, last_time: '2026-11-22T08:00:00Z' },
  ]);
});
