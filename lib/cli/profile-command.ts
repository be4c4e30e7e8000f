/*
 * `batcat profile <project> <purpose> --local [--date D]`: the profiles of a local run's table
 * outputs (runs/<purpose>/<run id>/profiles/), as a compact table per output.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PurposeConfig } from '../config/load-project';
import { isDate } from '../contract/dates';
import { PROFILE_VERSION, type ColumnProfile, type TableProfile } from '../contract/profile';
import { localRuns } from '../local/run-records';
import { UsageError } from './project-context';

// An empty bin is a dot, so a histogram stays one word in the table.
const BARS = '·▁▂▃▄▅▆▇█';

/** A histogram as one line of bars, highest bin full. */
export function sparkline(counts: readonly number[]): string {
  const top = Math.max(...counts);
  return counts.map((c) => (top === 0 || c === 0 ? BARS[0] : BARS[Math.max(1, Math.round((c / top) * (BARS.length - 1)))])).join('');
}

function shown(v: number | string | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v.length > 20 ? `${v.slice(0, 19)}…` : v;
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}

function columnRow(c: ColumnProfile): string[] {
  const shape = c.histogram
    ? sparkline(c.histogram.map((b) => b.count))
    : (c.top ?? [])
        .slice(0, 3)
        .map((t) => `${shown(t.value)} (${t.count})`)
        .join(', ');
  return [c.name, c.type, String(c.nulls), String(c.distinct), shown(c.min), shown(c.max), shown(c.mean), shown(c.quantiles?.p50), shape];
}

/** Prints the profiles of the newest successful local run of `purpose` (covering `date`, if given). */
export function profileCommand(rootDir: string, purpose: PurposeConfig, date: string | undefined, out: (line: string) => void): number {
  if (date !== undefined && !isDate(date))
    throw new UsageError(`--date must be a calendar date written YYYY-MM-DD, got ${JSON.stringify(date)}`);
  const tables = purpose.outputs.filter((o) => o.table);
  if (tables.length === 0) {
    throw new UsageError(
      `purpose '${purpose.name}' has no output with a table; a profile is made of each output that declares one (outputs[].table)`,
    );
  }
  const run = localRuns(rootDir, purpose.name).find(
    (r) => r.status === 'SUCCEEDED' && (date === undefined || (r.window.start <= date && date <= r.window.end)),
  );
  if (!run) {
    throw new UsageError(
      `no successful local run of ${purpose.name}${date ? ` covers ${date}` : ''}; run it with batcat run-local${date ? ` --date ${date}` : ''}`,
    );
  }
  const head = ['COLUMN', 'TYPE', 'NULLS', 'DISTINCT', 'MIN', 'MAX', 'MEAN', 'P50', 'HISTOGRAM / TOP'];
  for (const o of tables) {
    const file = path.join(rootDir, 'runs', purpose.name, run.runId, 'profiles', `${o.name}.json`);
    if (!fs.existsSync(file)) {
      out(
        `${purpose.name}/${o.name}: run ${run.runId} has no profile (it ran before profiles, or DuckDB could not read its files; its output said why)`,
      );
      continue;
    }
    const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Omit<TableProfile, 'version'> & { version: unknown };
    if (p.version !== PROFILE_VERSION)
      throw new UsageError(`${file} is a profile of version ${String(p.version)}; this batcat reads ${PROFILE_VERSION}`);
    out(`${purpose.name}/${o.name} (table ${p.table}), run ${p.runId}, window ${p.window.start} .. ${p.window.end}: ${p.rows} row(s)`);
    const rows = p.columns.map(columnRow);
    const width = head.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k].length)));
    for (const r of [head, ...rows])
      out(
        `  ${r
          .map((c, k) => c.padEnd(width[k]))
          .join('  ')
          .trimEnd()}`,
      );
  }
  return 0;
}
