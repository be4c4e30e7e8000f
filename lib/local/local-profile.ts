/*
 * The profile of a table output of a local run (lib/contract/profile.ts), computed with DuckDB
 * over the files the run wrote for its window: one query for the row count, one per column.
 */
import {
  isNumericType,
  PROFILE_HISTOGRAM_BINS,
  PROFILE_QUANTILES,
  PROFILE_TOP_VALUES,
  PROFILE_VERSION,
  type ColumnProfile,
  type TableProfile,
} from '../contract/profile';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { OutputRules, RuleColumn, RuleCounts } from '../contract/data-rules';
import { NOT_ALLOWED_EXAMPLES, outsideAllowed } from '../contract/profile-sql';
import { duckdb, quoteId, viewOf, type LocalTable } from './local-sql';

type Row = Record<string, unknown>;

const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));
const text = (v: unknown): string | undefined =>
  v === null || v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v);

/** Profiles `table` (this run's files of one output), with what `rules` count beyond the profile. */
export async function profileTable(
  table: LocalTable,
  about: { readonly purpose: string; readonly output: string; readonly runId: string; readonly window: { start: string; end: string } },
  rules?: OutputRules,
): Promise<TableProfile> {
  const { DuckDBInstance } = await duckdb();
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const one = async (sql: string): Promise<Row> => (await connection.runAndReadAll(sql)).getRowObjectsJson()[0];
  const all = async (sql: string): Promise<Row[]> => (await connection.runAndReadAll(sql)).getRowObjectsJson();
  // The profile asks a query or more per column: CSV files are parsed once, into DuckDB, which
  // spills to a temporary folder of its own when they do not fit in memory (Parquet is faster
  // read where it lies: bench/local-profile.ts).
  const spill = fs.mkdtempSync(path.join(os.tmpdir(), 'batcat-profile-'));
  try {
    await connection.run(`SET temp_directory = '${spill.replace(/'/g, "''")}'`);
    await connection.run(viewOf(table, table.format === 'csv' ? 'TABLE' : 'VIEW'));
    const t = quoteId(table.name);
    const rows = num((await one(`SELECT count(*) AS n FROM ${t}`)).n) ?? 0;
    const columns: ColumnProfile[] = [];
    const ruleCounts: Record<string, RuleCounts> = {};
    for (const c of table.columns) {
      const col = quoteId(c.name);
      const base = await one(
        `SELECT count(*) - count(${col}) AS nulls, approx_count_distinct(${col}) AS distinct_values, min(${col}) AS lo, max(${col}) AS hi FROM ${t}`,
      );
      const profile: Record<string, unknown> = {
        name: c.name,
        type: c.type,
        nulls: num(base.nulls) ?? 0,
        distinct: num(base.distinct_values) ?? 0,
      };
      if (isNumericType(c.type)) {
        const s = await one(
          `SELECT CAST(min(${col}) AS DOUBLE) AS lo, CAST(max(${col}) AS DOUBLE) AS hi, avg(${col}) AS mean, stddev_samp(${col}) AS sd, ` +
            `quantile_cont(${col}, [${PROFILE_QUANTILES.join(', ')}]) AS q FROM ${t}`,
        );
        const lo = num(s.lo);
        const hi = num(s.hi);
        if (lo !== undefined && hi !== undefined) {
          const q = (s.q as unknown[]).map(Number);
          Object.assign(profile, {
            min: lo,
            max: hi,
            mean: num(s.mean),
            ...(s.sd !== null ? { stddev: num(s.sd) } : {}),
            quantiles: Object.fromEntries(PROFILE_QUANTILES.map((p, k) => [`p${Math.round(p * 100)}`, q[k]])),
            histogram: await histogram(all, t, col, lo, hi),
          });
        }
      } else {
        if (base.lo !== null) Object.assign(profile, { min: text(base.lo), max: text(base.hi) });
        if (/^(string|varchar|char)/i.test(c.type)) {
          const top = await all(
            `SELECT CAST(${col} AS VARCHAR) AS value, count(*) AS n FROM ${t} WHERE ${col} IS NOT NULL GROUP BY 1 ORDER BY n DESC, value LIMIT ${PROFILE_TOP_VALUES}`,
          );
          profile.top = top.map((r) => ({ value: String(r.value as string), count: Number(r.n) }));
        }
      }
      columns.push(profile as unknown as ColumnProfile);
      const rule = rules?.columns?.[c.name];
      if (rule?.unique || rule?.values) ruleCounts[c.name] = await countForRules(one, all, t, c, rule);
    }
    return {
      version: PROFILE_VERSION,
      ...about,
      table: table.name,
      engine: 'duckdb',
      rows,
      columns,
      ...(Object.keys(ruleCounts).length > 0 ? { ruleCounts } : {}),
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
    fs.rmSync(spill, { recursive: true, force: true });
  }
}

/** Duplicates for `unique`, values outside `values` (as the Athena query counts them, lib/contract/profile-sql.ts). */
async function countForRules(
  one: (sql: string) => Promise<Row>,
  all: (sql: string) => Promise<Row[]>,
  t: string,
  column: RuleColumn,
  rule: { readonly unique?: boolean; readonly values?: ReadonlyArray<string | number> },
): Promise<RuleCounts> {
  const col = quoteId(column.name);
  const counts: { duplicates?: number; notAllowed?: number; notAllowedExamples?: string[] } = {};
  if (rule.unique) counts.duplicates = num((await one(`SELECT count(${col}) - count(DISTINCT ${col}) AS n FROM ${t}`)).n) ?? 0;
  if (rule.values && rule.values.length > 0) {
    const outside = outsideAllowed(column, rule.values);
    counts.notAllowed = num((await one(`SELECT count(*) AS n FROM ${t} WHERE ${outside}`)).n) ?? 0;
    const examples = await all(
      `SELECT DISTINCT CAST(${col} AS VARCHAR) AS v FROM ${t} WHERE ${outside} ORDER BY v LIMIT ${NOT_ALLOWED_EXAMPLES}`,
    );
    counts.notAllowedExamples = examples.map((r) => String(r.v as string));
  }
  return counts;
}

/** Equal-width bins from `lo` to `hi`, the last one closed; one bin when every value is the same. */
async function histogram(all: (sql: string) => Promise<Row[]>, t: string, col: string, lo: number, hi: number) {
  const bins = lo === hi ? 1 : PROFILE_HISTOGRAM_BINS;
  const width = (hi - lo) / bins;
  const counts = new Map<number, number>();
  const binOf = lo === hi ? '0' : `least(CAST(floor((CAST(${col} AS DOUBLE) - ${lo}) / ${width}) AS INTEGER), ${bins - 1})`;
  for (const r of await all(`SELECT ${binOf} AS b, count(*) AS n FROM ${t} WHERE ${col} IS NOT NULL GROUP BY 1`)) {
    counts.set(Number(r.b), Number(r.n));
  }
  return Array.from({ length: bins }, (_, k) => ({
    lower: lo + k * width,
    upper: k === bins - 1 ? hi : lo + (k + 1) * width,
    count: counts.get(k) ?? 0,
  }));
}

/**
 * A uniform sample of `rows` rows of `table` (reservoir sampling, fixed seed: a run's sample is
 * the same each time), written as CSV with a header to `file`, in the table's columns.
 */
export async function sampleTable(table: LocalTable, rows: number, file: string): Promise<void> {
  const { DuckDBInstance } = await duckdb();
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(viewOf(table));
    const columns = table.columns.map((c) => quoteId(c.name)).join(', ');
    await connection.run(
      `COPY (SELECT ${columns} FROM ${quoteId(table.name)} USING SAMPLE reservoir(${rows} ROWS) REPEATABLE (42)) TO '${file.replace(/'/g, "''")}' (FORMAT csv, HEADER true)`,
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
