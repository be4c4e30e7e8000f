/*
 * Binding values to `?` placeholders as Athena ExecutionParameters literals. No AWS SDK here:
 * the config loader checks query files with it at synth time.
 */

import { windowProblem, type RunWindow } from '../contract/dates';
import { countPlaceholders } from '../contract/sql';

export { countPlaceholders };

export type SqlValue = string | number | boolean | Date;

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

/** The ExecutionParameters for a window and further values, checked against the placeholders. */
export function executionParameters(sql: string, window?: RunWindow, parameters: readonly SqlValue[] = []): string[] | undefined {
  if (window) {
    const problem = windowProblem(window);
    if (problem) throw new Error(problem);
  }
  const values = [...(window ? [window.start, window.end] : []), ...parameters];
  const placeholders = countPlaceholders(sql);
  if (placeholders !== values.length) {
    throw new Error(
      `the query has ${placeholders} '?' placeholder(s) but ${values.length} value(s) are bound` +
        `${window ? ' (the window binds the first two: start, end)' : ''}`,
    );
  }
  return values.length > 0 ? values.map(sqlLiteral) : undefined;
}
