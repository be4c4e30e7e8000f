/*
 * Binding values to `?` placeholders as Athena ExecutionParameters literals. No AWS SDK here:
 * the config loader checks query files with it at synth time.
 */

/** A run window: both days included, `YYYY-MM-DD`. */
export interface DateWindow {
  readonly start: string;
  readonly end: string;
}

export type SqlValue = string | number | boolean | Date;

/** `?` placeholders in `sql`, outside string literals, quoted identifiers and comments. */
export function countPlaceholders(sql: string): number {
  let n = 0;
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
      n++;
    }
  }
  return n;
}

/** A value as an Athena literal for `ExecutionParameters`. */
export function sqlLiteral(v: SqlValue): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`query parameter ${v} is not a finite number`);
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (v instanceof Date) return `TIMESTAMP '${v.toISOString().replace('T', ' ').replace('Z', '')}'`;
  return `'${v.replace(/'/g, "''")}'`;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The ExecutionParameters for a window and further values, checked against the placeholders. */
export function executionParameters(sql: string, window?: DateWindow, parameters: readonly SqlValue[] = []): string[] | undefined {
  if (window) {
    for (const [k, v] of Object.entries(window)) if (!DATE.test(v)) throw new Error(`window.${k} must be a date written YYYY-MM-DD, got '${v}'`);
    if (window.end < window.start) throw new Error(`window ends (${window.end}) before it starts (${window.start})`);
  }
  const values = [...(window ? [window.start, window.end] : []), ...parameters];
  const placeholders = countPlaceholders(sql);
  if (placeholders !== values.length) {
    throw new Error(`the query has ${placeholders} '?' placeholder(s) but ${values.length} value(s) are bound`
      + `${window ? ' (the window binds the first two: start, end)' : ''}`);
  }
  return values.length > 0 ? values.map(sqlLiteral) : undefined;
}
