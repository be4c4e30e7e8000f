/*
 * `batcat profile <project> <purpose> [--local] [--date D] [--html out.html [--compare D2]]`: the
 * profiles of a run's table outputs, of the runs on AWS (the purpose bucket's profile history) or
 * with --local of batcat run-local's (runs/<purpose>/<run id>/profiles/), as a compact table per
 * output, or as one HTML page (lib/cli/profile-html.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PurposeConfig } from '../config/load-project';
import { isDate } from '../contract/dates';
import { historyWindows, PROFILE_VERSION, profileHistoryPrefix, type ColumnProfile, type TableProfile } from '../contract/profile';
import { localRuns } from '../local/run-records';
import type { ObjectStore } from '../runtime/commit';
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

/** Where profiles are found: local runs, or the profile history of the runs on AWS. */
export interface ProfileSource {
  /** The profile of `output` of the newest run whose window holds `date` (the newest run, without one); undefined: none. */
  find(output: string, date: string | undefined, flag: string): Promise<TableProfile | undefined>;
  /** The profile of the newest counted run of a window before `before`. */
  previous(output: string, before: string): Promise<TableProfile | undefined>;
  /** What to say when `output` has no profile for `date`. */
  missing(output: string, date: string | undefined): string;
}

/** The profile a file holds, refused when its version is not this batcat's. */
function parsed(body: string, where: string): TableProfile {
  const p = JSON.parse(body) as Omit<TableProfile, 'version'> & { version: unknown };
  if (p.version !== PROFILE_VERSION)
    throw new UsageError(`${where} is a profile of version ${String(p.version)}; this batcat reads ${PROFILE_VERSION}`);
  return p as TableProfile;
}

function checkDate(date: string | undefined, flag: string): void {
  if (date !== undefined && !isDate(date))
    throw new UsageError(`${flag} must be a calendar date written YYYY-MM-DD, got ${JSON.stringify(date)}`);
}

/** The profiles batcat run-local kept (runs/<purpose>/<run id>/profiles/). */
export function localProfiles(rootDir: string, purpose: string): ProfileSource {
  const counted = () => localRuns(rootDir, purpose).filter((r) => r.status === 'SUCCEEDED');
  const profileOf = (runId: string, output: string) => {
    const file = path.join(rootDir, 'runs', purpose, runId, 'profiles', `${output}.json`);
    return fs.existsSync(file) ? parsed(fs.readFileSync(file, 'utf8'), file) : undefined;
  };
  return {
    find(output, date, flag) {
      checkDate(date, flag);
      const run = counted().find((r) => date === undefined || (r.window.start <= date && date <= r.window.end));
      if (!run) {
        throw new UsageError(
          `no successful local run of ${purpose}${date ? ` covers ${date}` : ''}; run it with batcat run-local${date ? ` --date ${date}` : ''}`,
        );
      }
      return Promise.resolve(profileOf(run.runId, output));
    },
    previous(output, before) {
      const run = counted().find((r) => r.window.start < before);
      return Promise.resolve(run && profileOf(run.runId, output));
    },
    missing: (output) =>
      `${purpose}/${output}: the run has no profile (it ran before profiles, or DuckDB could not read its files; its output said why)`,
  };
}

/** The profiles the runs on AWS kept in the purpose's bucket, one per counted window (`_batcat/profiles/`). */
export function bucketProfiles(store: ObjectStore, bucket: string, purpose: string): ProfileSource {
  const days = async (output: string) =>
    historyWindows(
      'profile',
      (await store.list(profileHistoryPrefix(purpose, output))).map((o) => o.key),
    );
  const read = async (key: string) => {
    const body = await store.read(key);
    return body === undefined ? undefined : parsed(body, `s3://${bucket}/${key}`);
  };
  return {
    async find(output, date, flag) {
      checkDate(date, flag);
      const hit = (await days(output)).find((x) => date === undefined || x.day <= date);
      return hit && read(hit.key);
    },
    async previous(output, before) {
      const hit = (await days(output)).find((x) => x.day < before);
      return hit && read(hit.key);
    },
    missing: (output, date) =>
      `${purpose}/${output}: no run on AWS kept a profile${date ? ` of a window starting on or before ${date}` : ''} in s3://${bucket}/${profileHistoryPrefix(purpose, output)} (only runs that count keep one)`,
  };
}

/** Prints the profiles of a run of `purpose`, or writes them as an HTML page. */
export async function profileCommand(
  purpose: PurposeConfig,
  source: ProfileSource,
  options: ProfileOptions,
  out: (line: string) => void,
): Promise<number> {
  const tables = purpose.outputs.filter((o) => o.table);
  if (tables.length === 0) {
    throw new UsageError(
      `purpose '${purpose.name}' has no output with a table; a profile is made of each output that declares one (outputs[].table)`,
    );
  }
  if (options.compare !== undefined && options.html === undefined)
    throw new UsageError('--compare shows two runs side by side on the HTML page; give --html <file> too');
  if (options.html !== undefined) {
    const sections: ProfilePageOutput[] = [];
    for (const o of tables) {
      const profile = await source.find(o.name, options.date, '--date');
      if (!profile) {
        out(source.missing(o.name, options.date));
        continue;
      }
      sections.push({
        output: o.name,
        profile,
        compare: options.compare !== undefined ? await source.find(o.name, options.compare, '--compare') : undefined,
        rules: o.rules,
        previous: await source.previous(o.name, profile.window.start),
      });
    }
    if (sections.length === 0) throw new UsageError(`no profile to show of ${purpose.name}`);
    const runs = [...new Set(sections.flatMap((x) => [x.profile.runId, ...(x.compare ? [x.compare.runId] : [])]))];
    const title = `${purpose.name}: ${runs.map((r) => `run ${r}`).join(' and ')}`;
    fs.mkdirSync(path.dirname(path.resolve(options.html)), { recursive: true });
    fs.writeFileSync(options.html, profilePage(title, sections));
    out(
      `wrote ${options.html}: ${sections.length} output(s), ${sections.reduce((n, x) => n + x.profile.columns.length, 0)} column(s); open it in a browser (it needs no network)`,
    );
    return 0;
  }
  const head = ['COLUMN', 'TYPE', 'NULLS', 'DISTINCT', 'MIN', 'MAX', 'MEAN', 'P50', 'HISTOGRAM / TOP'];
  for (const o of tables) {
    const p = await source.find(o.name, options.date, '--date');
    if (!p) {
      out(source.missing(o.name, options.date));
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
