/*
 * The profile of a table output on AWS: one Athena (Trino) query over what the run attempt wrote
 * computes the whole profile (lib/contract/profile.ts) and what the output's rules count beyond
 * it, as one row; profileFromRow reads that row back. Each column's figures are aliased by its
 * position (c<k>_...), as Athena lowers the case of aliases and a column name may be any Glue name.
 */
import type { ColumnRule, OutputRules, RuleColumn } from './data-rules';
import {
  isNumericType,
  PROFILE_HISTOGRAM_BINS,
  PROFILE_QUANTILES,
  PROFILE_TOP_VALUES,
  PROFILE_VERSION,
  type ColumnProfile,
  type TableProfile,
} from './profile';

/** How many of a column's values outside its allowed `values` a profile names. */
export const NOT_ALLOWED_EXAMPLES = 5;

/** `approx_most_frequent`'s capacity: how many distinct values it tracks for the top values. */
const TOP_CAPACITY = 10_000;

const id = (name: string) => `"${name.replace(/"/g, '""')}"`;
const literal = (v: string) => `'${v.replace(/'/g, "''")}'`;
const isString = (type: string) => /^(string|varchar|char)/i.test(type.trim());

/**
 * The SQL condition of a value of `column` outside the allowed `values` (nulls aside), compared
 * as numbers on a numeric column and as text otherwise; Trino and DuckDB read it alike.
 */
export function outsideAllowed(column: RuleColumn, values: ReadonlyArray<string | number>): string {
  const numeric = isNumericType(column.type) && values.every((v) => typeof v === 'number');
  const [test, list] = numeric
    ? [id(column.name), values.join(', ')]
    : [`CAST(${id(column.name)} AS varchar)`, values.map((v) => literal(String(v))).join(', ')];
  return `${id(column.name)} IS NOT NULL AND ${test} NOT IN (${list})`;
}

/** The columns a rule set counts something for beyond the profile: `unique` and `values`. */
function ruleCountsWanted(rules: OutputRules | undefined, name: string): ColumnRule {
  return rules?.columns?.[name] ?? {};
}

/**
 * The query that profiles `database.table` (an output's attempts table, lib/constructs/result-table.ts
 * `byAttempt`) for the run attempt bound to its one `?`: what the run wrote, before its commit.
 * Numeric columns scan twice (their range first, for the histogram's bins).
 */
export function profileSql(database: string, table: string, columns: readonly RuleColumn[], rules?: OutputRules): string {
  if (columns.length === 0) throw new Error(`table ${table} has no columns to profile; declare them (table.columns)`);
  const numeric = columns.map((c, k) => ({ c, k })).filter(({ c }) => isNumericType(c.type));
  const bins = PROFILE_HISTOGRAM_BINS;
  const select: string[] = ['count(*) AS row_count'];
  for (const [k, c] of columns.entries()) {
    const col = id(c.name);
    select.push(`count(*) - count(${col}) AS c${k}_nulls`, `approx_distinct(${col}) AS c${k}_distinct`);
    if (isNumericType(c.type)) {
      const x = `CAST(${col} AS double)`;
      const bin = `CASE WHEN b.hi${k} = b.lo${k} THEN 0 ELSE least(CAST(floor((${x} - b.lo${k}) / ((b.hi${k} - b.lo${k}) / ${bins})) AS integer), ${bins - 1}) END`;
      select.push(
        `min(${x}) AS c${k}_min`,
        `max(${x}) AS c${k}_max`,
        `avg(${x}) AS c${k}_mean`,
        `stddev_samp(${x}) AS c${k}_stddev`,
        `json_format(CAST(approx_percentile(${x}, ARRAY[${PROFILE_QUANTILES.map((q) => q.toFixed(2)).join(', ')}]) AS JSON)) AS c${k}_quantiles`,
        `json_format(CAST(histogram(${bin}) FILTER (WHERE ${col} IS NOT NULL) AS JSON)) AS c${k}_histogram`,
      );
    } else {
      select.push(`CAST(min(${col}) AS varchar) AS c${k}_min`, `CAST(max(${col}) AS varchar) AS c${k}_max`);
      if (isString(c.type))
        select.push(
          `json_format(CAST(approx_most_frequent(${PROFILE_TOP_VALUES}, CAST(${col} AS varchar), ${TOP_CAPACITY}) FILTER (WHERE ${col} IS NOT NULL) AS JSON)) AS c${k}_top`,
        );
    }
    const rule = ruleCountsWanted(rules, c.name);
    if (rule.unique) select.push(`count(${col}) - count(DISTINCT ${col}) AS c${k}_duplicates`);
    if (rule.values && rule.values.length > 0) {
      const outside = outsideAllowed(c, rule.values);
      select.push(
        `count_if(${outside}) AS c${k}_not_allowed`,
        `json_format(CAST(slice(array_agg(DISTINCT CAST(${col} AS varchar)) FILTER (WHERE ${outside}), 1, ${NOT_ALLOWED_EXAMPLES}) AS JSON)) AS c${k}_not_allowed_examples`,
      );
    }
  }
  const source = `${id(database)}.${id(table)}`;
  const partition = `SELECT * FROM ${source} WHERE attempt = ?`;
  if (numeric.length === 0) return `WITH t AS (${partition})\nSELECT\n  ${select.join(',\n  ')}\nFROM t`;
  const bounds = numeric.flatMap(({ c, k }) => [
    `min(CAST(${id(c.name)} AS double)) AS lo${k}`,
    `max(CAST(${id(c.name)} AS double)) AS hi${k}`,
  ]);
  return `WITH t AS (${partition}),\nb AS (SELECT ${bounds.join(', ')} FROM t)\nSELECT\n  ${select.join(',\n  ')}\nFROM t CROSS JOIN b`;
}

type Row = Readonly<Record<string, string | undefined>>;

const num = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));
const json = <T>(v: string | undefined): T | undefined => (v === undefined || v === '' ? undefined : (JSON.parse(v) as T));

/** The profile in the row the query returned (each value as Athena's text, a null missing). */
export function profileFromRow(
  row: Row,
  columns: readonly RuleColumn[],
  about: {
    readonly purpose: string;
    readonly output: string;
    readonly table: string;
    readonly runId: string;
    readonly window: { readonly start: string; readonly end: string };
  },
  rules?: OutputRules,
): TableProfile {
  const rows = num(row.row_count);
  if (rows === undefined) throw new Error(`the profile query of table ${about.table} returned no row count`);
  const ruleCounts: Record<string, { duplicates?: number; notAllowed?: number; notAllowedExamples?: string[] }> = {};
  const profiles = columns.map((c, k): ColumnProfile => {
    const f = (name: string) => row[`c${k}_${name}`];
    const base = { name: c.name, type: c.type, nulls: num(f('nulls')) ?? 0, distinct: num(f('distinct')) ?? 0 };
    const rule = ruleCountsWanted(rules, c.name);
    if (rule.unique || rule.values) {
      ruleCounts[c.name] = {
        ...(rule.unique ? { duplicates: num(f('duplicates')) ?? 0 } : {}),
        ...(rule.values
          ? { notAllowed: num(f('not_allowed')) ?? 0, notAllowedExamples: json<string[]>(f('not_allowed_examples')) ?? [] }
          : {}),
      };
    }
    if (isNumericType(c.type)) {
      const lo = num(f('min'));
      const hi = num(f('max'));
      if (lo === undefined || hi === undefined) return base;
      const q = json<number[]>(f('quantiles')) ?? [];
      const counts = json<Record<string, number>>(f('histogram')) ?? {};
      const bins = lo === hi ? 1 : PROFILE_HISTOGRAM_BINS;
      const width = (hi - lo) / bins;
      const stddev = num(f('stddev'));
      return {
        ...base,
        min: lo,
        max: hi,
        mean: num(f('mean')),
        ...(stddev !== undefined ? { stddev } : {}),
        quantiles: Object.fromEntries(PROFILE_QUANTILES.map((p, i) => [`p${Math.round(p * 100)}`, q[i]])),
        histogram: Array.from({ length: bins }, (_, b) => ({
          lower: lo + b * width,
          upper: b === bins - 1 ? hi : lo + (b + 1) * width,
          count: counts[String(b)] ?? 0,
        })),
      };
    }
    const min = f('min');
    const top = json<Record<string, number>>(f('top'));
    return {
      ...base,
      ...(min !== undefined ? { min, max: f('max') } : {}),
      ...(top
        ? {
            top: Object.entries(top)
              .map(([value, count]) => ({ value, count }))
              .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1)),
          }
        : {}),
    };
  });
  return {
    version: PROFILE_VERSION,
    purpose: about.purpose,
    output: about.output,
    table: about.table,
    runId: about.runId,
    window: about.window,
    engine: 'athena',
    rows,
    columns: profiles,
    ...(Object.keys(ruleCounts).length > 0 ? { ruleCounts } : {}),
  };
}

/** The query that draws a uniform sample of `rows` rows of the run attempt bound to its one `?`, in the table's columns. */
export function sampleSql(database: string, table: string, columns: readonly RuleColumn[], rows: number): string {
  return `SELECT ${columns.map((c) => id(c.name)).join(', ')} FROM ${id(database)}.${id(table)} WHERE attempt = ? ORDER BY rand() LIMIT ${rows}`;
}
