/*
 * SQL text as BatCat reads it: the `?` placeholders Athena binds ExecutionParameters to.
 */

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
