/*
 * SQL text as BatCat reads it: the `?` placeholders Athena binds ExecutionParameters to.
 */

/** `?` placeholders in `sql`, outside string literals, quoted identifiers and comments. */
export function countPlaceholders(sql: string): number {
  return splitAtPlaceholders(sql).length - 1;
}

/** `sql` cut at its `?` placeholders (outside string literals, quoted identifiers and comments): one piece more than placeholders. */
export function splitAtPlaceholders(sql: string): string[] {
  const pieces: string[] = [];
  let from = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === '`') {
      const close = sql.indexOf(c, i + 1);
      if (close === -1) break;
      i = close;
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      if (nl === -1) break;
      i = nl;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      if (close === -1) break;
      i = close + 1;
    } else if (c === '?') {
      pieces.push(sql.slice(from, i));
      from = i + 1;
    }
  }
  pieces.push(sql.slice(from));
  return pieces;
}

/** Where a purpose's query runs. */
export const QUERY_ENGINES = ['athena', 'redshift'] as const;
export type QueryEngine = (typeof QUERY_ENGINES)[number];

/** What a Redshift UNLOAD writes: CSV with a header line, or Parquet. */
export const UNLOAD_FORMATS = ['csv', 'parquet'] as const;
export type UnloadFormat = (typeof UNLOAD_FORMATS)[number];

/**
 * The UNLOAD statement that writes the result of `query` below `to` (an `s3://` folder) as
 * `iamRole`: one file (`PARALLEL OFF`, split only above 6.2 GB), `000.csv` or `000.parquet`.
 * `bind(n)` is what stands at the n-th `?`, inside the statement's quoted query, so a literal
 * there must be written with doubled quotes (`''2026-11-16''`). The query's own quotes are
 * doubled, as UNLOAD requires, and a trailing semicolon is dropped.
 */
export function unloadStatement(
  query: string,
  o: { readonly to: string; readonly iamRole: string; readonly format: UnloadFormat; readonly bind: (n: number) => string },
): string {
  const pieces = splitAtPlaceholders(query.trim().replace(/;\s*$/, ''));
  const inner = pieces.map((p, n) => p.replace(/'/g, "''") + (n < pieces.length - 1 ? o.bind(n) : '')).join('');
  const format = o.format === 'csv' ? "FORMAT AS CSV HEADER EXTENSION 'csv'" : 'FORMAT AS PARQUET';
  return `UNLOAD ('${inner}') TO '${o.to}' IAM_ROLE '${o.iamRole}' ${format} PARALLEL OFF`;
}
