import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OutputRules } from '../../lib/contract/data-rules';
import { profileFromRow, profileSql } from '../../lib/contract/profile-sql';
import { profileTable } from '../../lib/local/local-profile';
import { duckdb, type LocalTable } from '../../lib/local/local-sql';
import { tempDir } from '../helpers';

/*
 * The Athena profile query's text, run where Athena cannot be: in DuckDB, over the same files
 * the local profile reads, and compared with it for what both compute exactly (rows, nulls,
 * min, max, mean, standard deviation, histogram counts, duplicates, values outside the allowed).
 *
 * This is not Athena. Five Trino functions DuckDB lacks are mapped to DuckDB's (approx_distinct,
 * json_format, approx_percentile, slice; approx_most_frequent by rewriting it to histogram), and
 * `?` is replaced by the literal Athena binds. It proves the query's shape (its CTEs, the cross
 * join of the bounds, the bin formula, the FILTER clauses, the partition filter, the aliases)
 * and that profileFromRow reads its row into the same profile; Trino's own semantics stay
 * unproven here.
 */

const COLUMNS = [
  { name: 'vin', type: 'string' },
  { name: 'status', type: 'string' },
  { name: 'records', type: 'bigint' },
  { name: 'total_usage', type: 'double' },
];
const RULES: OutputRules = { columns: { vin: { unique: true }, status: { values: ['ok', 'degraded'] }, total_usage: { min: 0 } } };
const ABOUT = {
  purpose: 'usage-analysis',
  output: 'summary',
  table: 'usage_analysis_summary',
  runId: 'r1',
  window: { start: '2026-11-22', end: '2026-11-22' },
};

test("the Athena profile query, run in DuckDB over the run's files, gives the profile DuckDB's own profile gives", async () => {
  const root = tempDir('batcat-profile-sql-');
  const csv = ['vin,status,records,total_usage'];
  for (let k = 0; k < 500; k++) {
    const status = k % 50 === 0 ? 'broken' : k % 7 === 0 ? 'degraded' : 'ok';
    csv.push(`VIN${k % 480},${k % 31 === 0 ? '' : status},${1 + (k % 9)},${k % 13 === 0 ? '' : ((k * 37) % 1000) / 4 - 3}`);
  }
  // Two attempts' folders: the query reads only the one it is bound to.
  for (const attempt of ['run-a1', 'run-a2']) {
    const dir = path.join(root, `attempt=${attempt}`, 'summary');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'part-0000.csv'), `${csv.slice(0, attempt === 'run-a2' ? 501 : 40).join('\n')}\n`);
  }
  const table = (attempt: string): LocalTable => ({
    name: 'usage_analysis_summary_attempts',
    folder: root,
    files: path.join(root, `attempt=${attempt}`, 'summary', '**', '*.csv'),
    format: 'csv',
    columns: COLUMNS,
  });
  const local = await profileTable(table('run-a2'), ABOUT, RULES);

  const { DuckDBInstance } = await duckdb();
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    const types = COLUMNS.map((x) => `'${x.name}': '${x.type === 'string' ? 'VARCHAR' : x.type === 'bigint' ? 'BIGINT' : 'DOUBLE'}'`).join(
      ', ',
    );
    await c.run('CREATE SCHEMA batcat_demo_dev');
    // The attempts table: every attempt's files, attempt from the folder names.
    await c.run(
      `CREATE VIEW batcat_demo_dev.usage_analysis_summary_attempts AS SELECT * FROM read_csv('${path.join(root, 'attempt=*', 'summary', '*.csv')}', header = true, hive_partitioning = true, hive_types_autocast = false, columns = {${types}})`,
    );
    for (const m of [
      'CREATE MACRO approx_distinct(x) AS approx_count_distinct(x)',
      'CREATE MACRO json_format(j) AS CAST(j AS VARCHAR)',
      'CREATE MACRO approx_percentile(x, qs) AS quantile_cont(x, qs)',
      'CREATE MACRO slice(l, s, n) AS list_slice(l, s, s + n - 1)',
    ])
      await c.run(m);
    const athenaSql = profileSql('batcat_demo_dev', 'usage_analysis_summary_attempts', COLUMNS, RULES);
    const sql = athenaSql.replace(/approx_most_frequent\(\d+, (.+?), \d+\) FILTER/g, 'histogram($1) FILTER').replace('?', "'run-a2'");
    const [row] = (await c.runAndReadAll(sql)).getRowObjectsJson();
    // As Athena answers: every value as text, a null missing.
    const text = Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? undefined : String(v as string)]));
    const athena = profileFromRow(text, COLUMNS, ABOUT, RULES);

    expect(athena.rows).toBe(500);
    expect(athena.rows).toBe(local.rows);
    expect(athena.ruleCounts).toEqual(local.ruleCounts);
    expect(athena.ruleCounts).toMatchObject({ vin: { duplicates: 20 }, status: { notAllowed: 9, notAllowedExamples: ['broken'] } });
    for (const [k, a] of athena.columns.entries()) {
      const d = local.columns[k];
      expect([a.name, a.nulls, a.min, a.max]).toEqual([d.name, d.nulls, d.min, d.max]);
      if (d.mean !== undefined) {
        expect(a.mean).toBeCloseTo(d.mean, 9);
        expect(a.stddev).toBeCloseTo(d.stddev!, 9);
        expect(a.histogram!.map((b) => [b.lower, b.upper, b.count])).toEqual(d.histogram!.map((b) => [b.lower, b.upper, b.count]));
      }
    }
    expect(athena.columns[3].nulls).toBe(39);
  } finally {
    c.closeSync();
    db.closeSync();
  }
});
