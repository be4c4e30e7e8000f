/*
 * `batcat profile <project> <purpose> --local [--date D] [--html out.html [--compare D2]]`: the
 * profiles of a local run's table outputs (runs/<purpose>/<run id>/profiles/), as a compact table
 * per output, or as one HTML page (lib/cli/profile-html.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PurposeConfig } from '../config/load-project';
import { isDate } from '../contract/dates';
import { PROFILE_VERSION, type ColumnProfile, type TableProfile } from '../contract/profile';
import { localRuns, type LocalRunStatus } from '../local/run-records';
import { profilePage, type ProfilePageOutput } from './profile-html';
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

/** Options of `batcat profile`. */
export interface ProfileOptions {
  /** The newest run whose window holds this day (default: the newest run). */
  readonly date?: string;
  /** Write one self-contained HTML page here instead of printing. */
  readonly html?: string;
  /** A second run (the newest whose window holds this day), side by side on the page. */
  readonly compare?: string;
}

/** The newest successful local run of `purpose` whose window holds `date` (any, without one). */
function runHolding(rootDir: string, purpose: PurposeConfig, date: string | undefined, flag: string): LocalRunStatus {
  if (date !== undefined && !isDate(date))
    throw new UsageError(`${flag} must be a calendar date written YYYY-MM-DD, got ${JSON.stringify(date)}`);
  const run = localRuns(rootDir, purpose.name).find(
    (r) => r.status === 'SUCCEEDED' && (date === undefined || (r.window.start <= date && date <= r.window.end)),
  );
  if (!run) {
    throw new UsageError(
      `no successful local run of ${purpose.name}${date ? ` covers ${date}` : ''}; run it with batcat run-local${date ? ` --date ${date}` : ''}`,
    );
  }
  return run;
}

/** The profile of `output` a local run kept, or undefined. */
function profileOf(rootDir: string, purpose: string, runId: string, output: string): TableProfile | undefined {
  const file = path.join(rootDir, 'runs', purpose, runId, 'profiles', `${output}.json`);
  if (!fs.existsSync(file)) return undefined;
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Omit<TableProfile, 'version'> & { version: unknown };
  if (p.version !== PROFILE_VERSION)
    throw new UsageError(`${file} is a profile of version ${String(p.version)}; this batcat reads ${PROFILE_VERSION}`);
  return p as TableProfile;
}

/** Prints the profiles of a successful local run of `purpose`, or writes them as an HTML page. */
export function profileCommand(rootDir: string, purpose: PurposeConfig, options: ProfileOptions, out: (line: string) => void): number {
  const tables = purpose.outputs.filter((o) => o.table);
  if (tables.length === 0) {
    throw new UsageError(
      `purpose '${purpose.name}' has no output with a table; a profile is made of each output that declares one (outputs[].table)`,
    );
  }
  if (options.compare !== undefined && options.html === undefined)
    throw new UsageError('--compare shows two runs side by side on the HTML page; give --html <file> too');
  const run = runHolding(rootDir, purpose, options.date, '--date');
  const missing = (o: string, r: string) =>
    `${purpose.name}/${o}: run ${r} has no profile (it ran before profiles, or DuckDB could not read its files; its output said why)`;
  if (options.html !== undefined) {
    const other = options.compare !== undefined ? runHolding(rootDir, purpose, options.compare, '--compare') : undefined;
    const sections: ProfilePageOutput[] = [];
    for (const o of tables) {
      const profile = profileOf(rootDir, purpose.name, run.runId, o.name);
      if (!profile) {
        out(missing(o.name, run.runId));
        continue;
      }
      const earlier = localRuns(rootDir, purpose.name).find((r) => r.status === 'SUCCEEDED' && r.window.start < run.window.start);
      sections.push({
        output: o.name,
        profile,
        compare: other && profileOf(rootDir, purpose.name, other.runId, o.name),
        rules: o.rules,
        previous: earlier && profileOf(rootDir, purpose.name, earlier.runId, o.name),
      });
    }
    if (sections.length === 0) throw new UsageError(`run ${run.runId} has no profile to show`);
    const title = `${purpose.name}: run ${run.runId}${other ? ` and run ${other.runId}` : ''}`;
    fs.mkdirSync(path.dirname(path.resolve(options.html)), { recursive: true });
    fs.writeFileSync(options.html, profilePage(title, sections));
    out(
      `wrote ${options.html}: ${sections.length} output(s), ${sections.reduce((n, s) => n + s.profile.columns.length, 0)} column(s); open it in a browser (it needs no network)`,
    );
    return 0;
  }
  const head = ['COLUMN', 'TYPE', 'NULLS', 'DISTINCT', 'MIN', 'MAX', 'MEAN', 'P50', 'HISTOGRAM / TOP'];
  for (const o of tables) {
    const p = profileOf(rootDir, purpose.name, run.runId, o.name);
    if (!p) {
      out(missing(o.name, run.runId));
      continue;
    }
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
