/*
 * Validation rules of a table output (the project file's `outputs[].rules`): what its profile
 * (lib/contract/profile.ts) must show for a run to count. One home for them: the project file's
 * check (rulesProblems), the check after a run, local or on AWS (checkRules), and
 * `batcat rules suggest` (suggestRules).
 */
import { didYouMean } from './suggest';
import { isNumericType, type TableProfile } from './profile';

/** What a run whose output breaks a rule does. */
export const ON_VIOLATION = ['fail', 'warn'] as const;
export type OnViolation = (typeof ON_VIOLATION)[number];

/** The error of a run that broke a rule with `onViolation: fail`. */
export const RULE_VIOLATION_ERROR = 'BatCat.RuleViolation';
/** The error of a run whose rules could not be checked: no profile, so no success. */
export const CHECKS_NOT_RUN_ERROR = 'BatCat.ChecksNotRun';

/** Rules on one column. */
export interface ColumnRule {
  /** No value is null. */
  readonly notNull?: boolean;
  /** No value occurs twice (nulls aside). */
  readonly unique?: boolean;
  /** Numbers only: the smallest value allowed. */
  readonly min?: number;
  /** Numbers only: the largest value allowed. */
  readonly max?: number;
  /** The only values allowed (nulls aside). */
  readonly values?: ReadonlyArray<string | number>;
}

/** Rules on a table output. */
export interface OutputRules {
  readonly rows?: { readonly min?: number; readonly max?: number };
  readonly columns?: Readonly<Record<string, ColumnRule>>;
  /** The largest relative change from the previous run's profile: `rows: 0.5` allows 50% more or fewer rows. */
  readonly drift?: { readonly rows?: number };
}

/** What the engine counted for the rules beyond the profile itself, per column. */
export interface RuleCounts {
  /** Non-null values minus distinct ones (exact): counted for `unique`. */
  readonly duplicates?: number;
  /** Non-null values outside `values`, and a few of them. */
  readonly notAllowed?: number;
  readonly notAllowedExamples?: readonly string[];
}

/** One broken rule. */
export interface Violation {
  /** `rows.min`, `columns.vin.notNull`, `drift.rows`. */
  readonly rule: string;
  readonly column?: string;
  readonly observed: number | string;
  /** The sentence a user reads: the rule, the column, what was seen. */
  readonly message: string;
}

/** A column of the table the rules are about. */
export interface RuleColumn {
  readonly name: string;
  readonly type: string;
}

/** What is wrong with `rules` on a table of `columns`, each with the path below `rules`. */
export function rulesProblems(rules: OutputRules, columns: readonly RuleColumn[]): Array<{ path: ReadonlyArray<string>; message: string }> {
  const problems: Array<{ path: ReadonlyArray<string>; message: string }> = [];
  const range = (path: string[], what: string, min: number | undefined, max: number | undefined) => {
    if (min !== undefined && max !== undefined && min > max)
      problems.push({ path, message: `${what}: min ${min} is above max ${max}, so no run could pass; swap them or widen the range` });
  };
  const { rows, columns: byColumn, drift } = rules;
  if (rows) {
    for (const k of ['min', 'max'] as const) {
      const v = rows[k];
      if (v !== undefined && (!Number.isInteger(v) || v < 0))
        problems.push({ path: ['rows', k], message: `rows.${k} is a row count, a whole number of 0 or more; got ${v}` });
    }
    range(['rows'], 'rows', rows.min, rows.max);
  }
  if (drift?.rows !== undefined && !(drift.rows > 0))
    problems.push({
      path: ['drift', 'rows'],
      message: `drift.rows is the largest relative change allowed from the previous run (0.5 = 50%), above 0; got ${drift.rows}`,
    });
  const names = columns.map((c) => c.name);
  for (const [name, rule] of Object.entries(byColumn ?? {})) {
    const column = columns.find((c) => c.name === name);
    if (!column) {
      const guess = didYouMean(name, names);
      problems.push({
        path: ['columns', name],
        message: `the table has no column '${name}'${guess ? ` (did you mean '${guess}'?)` : ''}; its columns: ${names.join(', ')}`,
      });
      continue;
    }
    if ((rule.min !== undefined || rule.max !== undefined) && !isNumericType(column.type))
      problems.push({
        path: ['columns', name],
        message: `min and max are for numeric columns; '${name}' is ${column.type} (list its allowed values with values: [...] instead)`,
      });
    range(['columns', name], `columns.${name}`, rule.min, rule.max);
    if (rule.values !== undefined && rule.values.length === 0)
      problems.push({ path: ['columns', name, 'values'], message: `values lists the allowed values; an empty list allows none` });
  }
  return problems;
}

const shown = (v: number | string) => (typeof v === 'number' ? String(Number(v.toPrecision(8))) : `'${v}'`);

/**
 * The rules `profile` breaks. `previous` is the profile of the window's previous successful run,
 * for `drift`; without one, drift is not checked.
 */
export function checkRules(rules: OutputRules, profile: TableProfile, previous?: TableProfile): Violation[] {
  const found: Violation[] = [];
  const where = `output ${profile.output} (table ${profile.table})`;
  const { rows } = profile;
  if (rules.rows?.min !== undefined && rows < rules.rows.min)
    found.push({ rule: 'rows.min', observed: rows, message: `${where} has ${rows} row(s); rule rows.min is ${rules.rows.min}` });
  if (rules.rows?.max !== undefined && rows > rules.rows.max)
    found.push({ rule: 'rows.max', observed: rows, message: `${where} has ${rows} row(s); rule rows.max is ${rules.rows.max}` });
  if (rules.drift?.rows !== undefined && previous) {
    const before = previous.rows;
    const change = before === 0 ? (rows === 0 ? 0 : Infinity) : Math.abs(rows - before) / before;
    if (change > rules.drift.rows)
      found.push({
        rule: 'drift.rows',
        observed: rows,
        message: `${where} has ${rows} row(s), ${before === 0 ? 'after none' : `${Math.round(change * 100)}% ${rows > before ? 'more' : 'fewer'} than the ${before}`} of run ${previous.runId}; rule drift.rows allows ${Math.round(rules.drift.rows * 100)}%`,
      });
  }
  for (const [name, rule] of Object.entries(rules.columns ?? {})) {
    const c = profile.columns.find((x) => x.name === name);
    const counts = profile.ruleCounts?.[name];
    const rule_ = (r: string) => `columns.${name}.${r}`;
    if (!c) {
      found.push({ rule: rule_('exists'), column: name, observed: 'missing', message: `${where} has no column ${name}` });
      continue;
    }
    if (rule.notNull && c.nulls > 0)
      found.push({
        rule: rule_('notNull'),
        column: name,
        observed: c.nulls,
        message: `${where}: column ${name} has ${c.nulls} null value(s); rule notNull`,
      });
    if (rule.unique && (counts?.duplicates ?? 0) > 0)
      found.push({
        rule: rule_('unique'),
        column: name,
        observed: counts!.duplicates!,
        message: `${where}: column ${name} has ${counts!.duplicates} duplicate value(s); rule unique`,
      });
    if (rule.min !== undefined && typeof c.min === 'number' && c.min < rule.min)
      found.push({
        rule: rule_('min'),
        column: name,
        observed: c.min,
        message: `${where}: column ${name} has minimum ${shown(c.min)}; rule min is ${rule.min}`,
      });
    if (rule.max !== undefined && typeof c.max === 'number' && c.max > rule.max)
      found.push({
        rule: rule_('max'),
        column: name,
        observed: c.max,
        message: `${where}: column ${name} has maximum ${shown(c.max)}; rule max is ${rule.max}`,
      });
    if (rule.values && (counts?.notAllowed ?? 0) > 0) {
      const examples = (counts!.notAllowedExamples ?? []).map((v) => `'${v}'`).join(', ');
      found.push({
        rule: rule_('values'),
        column: name,
        observed: counts!.notAllowed!,
        message: `${where}: column ${name} has ${counts!.notAllowed} value(s) outside the allowed ${rule.values.map((v) => shown(v)).join(', ')}${examples ? ` (such as ${examples})` : ''}; rule values`,
      });
    }
  }
  return found;
}

/** What a user reads about a run's violations: each on a line, and where the rules are. */
export function violationText(violations: readonly Violation[], onViolation: OnViolation): string {
  const head = onViolation === 'fail' ? 'the run broke its data rules' : 'warning: the run broke its data rules (onViolation: warn)';
  return `${head}:\n${violations.map((v) => `  - ${v.message}`).join('\n')}\n(rules: the output's rules in the project file; a rule that no longer fits can be changed there, or suggested anew with batcat rules suggest)`;
}

/**
 * Rules that every one of `profiles` (the same output's, newest first) passes, as TFDV infers a
 * schema: the smallest row count halved, not-null where no run had a null, the observed range,
 * allowed values for strings with few distinct values, unique where no run had a duplicate,
 * and a row drift half again as large as the largest change between consecutive runs.
 */
export function suggestRules(profiles: readonly TableProfile[]): OutputRules {
  if (profiles.length === 0) return {};
  const newest = profiles[0];
  const rowCounts = profiles.map((p) => p.rows);
  const columns: Record<string, ColumnRule> = {};
  for (const c of newest.columns) {
    const seen = profiles.map((p) => p.columns.find((x) => x.name === c.name)).filter((x) => x !== undefined);
    if (seen.length < profiles.length) continue;
    const rule: { -readonly [K in keyof ColumnRule]: ColumnRule[K] } = {};
    if (seen.every((x) => x.nulls === 0)) rule.notNull = true;
    const nonNull = profiles.map((p, k) => p.rows - seen[k].nulls);
    if (seen.every((x, k) => x.distinct === nonNull[k] && nonNull[k] > 1 && (profiles[k].ruleCounts?.[c.name]?.duplicates ?? 0) === 0))
      rule.unique = true;
    if (isNumericType(c.type)) {
      const mins = seen.map((x) => x.min).filter((x): x is number => typeof x === 'number');
      const maxs = seen.map((x) => x.max).filter((x): x is number => typeof x === 'number');
      if (mins.length > 0) rule.min = Math.min(...mins);
      if (maxs.length > 0) rule.max = Math.max(...maxs);
    } else if (/^(string|varchar|char)/i.test(c.type)) {
      const values = new Set<string>();
      let complete = true;
      for (const [k, x] of seen.entries()) {
        const top = x.top ?? [];
        for (const t of top) values.add(t.value);
        if (top.reduce((n, t) => n + t.count, 0) !== nonNull[k]) complete = false;
      }
      if (complete && values.size > 0 && values.size <= 10) rule.values = [...values].sort();
    }
    if (Object.keys(rule).length > 0) columns[c.name] = rule;
  }
  let largest = 0;
  for (let k = 0; k + 1 < rowCounts.length; k++) {
    const before = rowCounts[k + 1];
    if (before > 0) largest = Math.max(largest, Math.abs(rowCounts[k] - before) / before);
  }
  return {
    rows: { min: Math.max(1, Math.floor(Math.min(...rowCounts) / 2)) },
    ...(Object.keys(columns).length > 0 ? { columns } : {}),
    ...(profiles.length > 1 ? { drift: { rows: Math.max(0.5, Math.ceil(largest * 1.5 * 10) / 10) } } : {}),
  };
}
