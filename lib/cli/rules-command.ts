/*
 * `batcat rules suggest <project> <purpose>`: rules that every recent profile of each table
 * output passes (lib/contract/data-rules.ts suggestRules), written into the project file under
 * the output (comments and layout kept), as TFDV infers a schema from statistics.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMap, isSeq, parseDocument, type YAMLMap } from 'yaml';
import type { PurposeConfig } from '../config/load-project';
import { rulesProblems, suggestRules, type OutputRules } from '../contract/data-rules';
import { historyWindows, PROFILE_VERSION, profileHistoryPrefix, type TableProfile } from '../contract/profile';
import { localRuns } from '../local/run-records';
import type { ObjectStore } from '../runtime/commit';
import { UsageError } from './project-context';

/** The profiles of an output, newest window first, at most `count`, one per window. */
export type ProfileSource = (purpose: string, output: string, count: number) => Promise<TableProfile[]>;

/** The profiles of successful local runs (runs/<purpose>/<run id>/profiles/). */
export function localProfileSource(rootDir: string): ProfileSource {
  return (purpose, output, count) => {
    const byWindow = new Map<string, TableProfile>();
    // Newest run first: a window's newest successful run speaks for it.
    for (const run of localRuns(rootDir, purpose)) {
      if (run.status !== 'SUCCEEDED' || byWindow.has(run.window.start)) continue;
      const file = path.join(rootDir, 'runs', purpose, run.runId, 'profiles', `${output}.json`);
      if (!fs.existsSync(file)) continue;
      const p = JSON.parse(fs.readFileSync(file, 'utf8')) as TableProfile;
      if (p.version === PROFILE_VERSION) byWindow.set(run.window.start, p);
    }
    return Promise.resolve(
      [...byWindow.entries()]
        .sort(([a], [b]) => (a < b ? 1 : -1))
        .slice(0, count)
        .map(([, p]) => p),
    );
  };
}

/** Options of `batcat rules suggest`. */
export interface SuggestOptions {
  /** How many recent windows' profiles to read. */
  readonly runs: number;
  /** Only this output. */
  readonly output?: string;
  /** Print, do not write. */
  readonly print: boolean;
  /** Replace rules the output already has. */
  readonly replace: boolean;
}

/** Suggests and (unless `print`) writes the rules of each table output of `purpose` into `projectFile`. */
export async function rulesSuggestCommand(
  projectFile: string,
  purpose: PurposeConfig,
  profiles: ProfileSource,
  options: SuggestOptions,
  out: (line: string) => void,
): Promise<number> {
  if (!Number.isInteger(options.runs) || options.runs < 1)
    throw new UsageError(`--runs is how many recent windows to learn from, a whole number of 1 or more; got ${options.runs}`);
  const tables = purpose.outputs.filter((o) => o.table && (options.output === undefined || o.name === options.output));
  if (tables.length === 0) {
    const all = purpose.outputs.filter((o) => o.table).map((o) => o.name);
    throw new UsageError(
      options.output !== undefined && all.length > 0
        ? `purpose '${purpose.name}' has no table output '${options.output}'; its table outputs: ${all.join(', ')}`
        : `purpose '${purpose.name}' has no output with a table; rules are about a table's profile (outputs[].table)`,
    );
  }
  const doc = parseDocument(fs.readFileSync(projectFile, 'utf8'));
  const shown = path.relative(process.cwd(), projectFile) || projectFile;
  let written = 0;
  for (const o of tables) {
    const recent = await profiles(purpose.name, o.name, options.runs);
    if (recent.length === 0) {
      out(`${purpose.name}/${o.name}: no profile of a successful run yet; run it (batcat run-local, or on AWS) and suggest again`);
      continue;
    }
    const suggested = onlyDeclared(suggestRules(recent), o.table!.columns);
    const problems = rulesProblems(suggested, o.table!.columns);
    if (problems.length > 0) throw new Error(`the suggested rules of ${o.name} do not hold: ${problems.map((p) => p.message).join('; ')}`);
    const windows = recent.map((p) => p.window.start);
    out(
      `${purpose.name}/${o.name}: rules every one of ${recent.length} profile(s) passes (windows ${windows[windows.length - 1]} .. ${windows[0]}):`,
    );
    const yaml = parseDocument('{}');
    yaml.set('rules', suggested);
    for (const line of yaml.toString().trimEnd().split('\n')) out(`  ${line}`);
    if (options.print) continue;
    const at = outputNode(doc, purpose.name, o.name);
    if (at.has('rules') && !options.replace) {
      out(`  not written: ${o.name} has rules already in ${shown}; add --replace to replace them`);
      continue;
    }
    at.set('rules', doc.createNode(suggested, { flow: false }));
    written++;
  }
  if (written > 0) {
    fs.writeFileSync(projectFile, doc.toString());
    out(`written into ${shown}; a run that breaks one now fails (onViolation: fail, the default; warn alarms and goes on)`);
  }
  return 0;
}

/** The suggestion, without columns the table no longer declares. */
function onlyDeclared(rules: OutputRules, columns: ReadonlyArray<{ readonly name: string }>): OutputRules {
  if (!rules.columns) return rules;
  const kept = Object.entries(rules.columns).filter(([name]) => columns.some((c) => c.name === name));
  const { columns: _, ...rest } = rules;
  return kept.length > 0 ? { ...rest, columns: Object.fromEntries(kept) } : rest;
}

/** The YAML map of `purpose`'s output `output` in the project file. */
function outputNode(doc: ReturnType<typeof parseDocument>, purpose: string, output: string): YAMLMap {
  const byName = (seq: unknown, name: string) =>
    isSeq(seq) ? seq.items.find((item): item is YAMLMap => isMap(item) && item.get('name') === name) : undefined;
  const p = byName(doc.get('purposes'), purpose);
  const o = p && byName(p.get('outputs'), output);
  if (!o) throw new UsageError(`the project file has no output '${output}' under purpose '${purpose}' to write rules into`);
  return o;
}

/** The profiles a purpose's runs on AWS kept in its bucket: one per counted window (lib/runtime/output-checks.ts). */
export function storedProfileSource(store: (purpose: string) => Promise<ObjectStore>): ProfileSource {
  return async (purpose, output, count) => {
    const s = await store(purpose);
    const listed = (await s.list(profileHistoryPrefix(purpose, output))).map((o) => o.key);
    const found: TableProfile[] = [];
    for (const { key } of historyWindows('profile', listed).slice(0, count)) {
      const body = await s.read(key);
      const p = body === undefined ? undefined : (JSON.parse(body) as TableProfile);
      if (p?.version === PROFILE_VERSION) found.push(p);
    }
    return found;
  };
}
