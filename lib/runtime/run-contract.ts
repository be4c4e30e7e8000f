import { createHash } from 'node:crypto';

/*
 * The run contract: the one input shape every trigger produces, and the rules that derive a
 * run's window, name and S3 locations. Runs inside the trigger Lambda, the CLI and local runs,
 * so it never imports aws-cdk-lib.
 */

export const RUN_CONTRACT_VERSION = 1;

/** The most windows one backfill may start: its run inputs must fit one Step Functions input. */
export const MAX_BACKFILL_WINDOWS = 200;

/** What started a run. */
export type TriggerKind = 'schedule' | 's3' | 'manual' | 'upstream';

/** The days a run covers, both inclusive, as `YYYY-MM-DD`. */
export interface RunWindow {
  readonly start: string;
  readonly end: string;
}

/** The details of each kind of trigger. */
export type TriggerDetails =
  | { readonly kind: 'schedule'; readonly scheduledTime: string; readonly timezone: string }
  | { readonly kind: 's3'; readonly bucket: string; readonly key: string; readonly versionId?: string; readonly eventTime: string }
  | { readonly kind: 'manual'; readonly rerun: boolean; readonly backfill?: RunWindow }
  | { readonly kind: 'upstream'; readonly purpose: string; readonly executionArn: string; readonly runId: string };

/** The input of every run of a purpose's state machine. Documented in README.md, "The run contract". */
export interface RunInput {
  readonly version: typeof RUN_CONTRACT_VERSION;
  /** The execution name: deterministic for the same purpose, trigger and window (see `runName`). */
  readonly runId: string;
  readonly purpose: string;
  readonly window: RunWindow;
  readonly trigger: TriggerDetails;
  /** Input name -> the S3 folder the job reads. */
  readonly inputs: Record<string, string>;
  /** Output name -> the S3 folder the job writes (`.../dt=<window start>/`). */
  readonly outputs: Record<string, string>;
}

/** What the trigger of one purpose needs to know. The construct writes it; the trigger reads it. */
export interface PurposeRunConfig {
  readonly purpose: string;
  readonly stateMachineArn: string;
  /** Starts one run per window, at most `backfillConcurrency` at a time. */
  readonly backfillStateMachineArn: string;
  /** The project bucket: S3 arrival events must come from it. */
  readonly bucket: string;
  /** The days one scheduled run or one backfill window covers. */
  readonly windowDays: number;
  /** The most days a single manual run may cover. */
  readonly maxWindowDays: number;
  /** The most windows one backfill may start. */
  readonly maxBackfillWindows: number;
  /** The time zone that decides which day a schedule tick falls on. */
  readonly timezone: string;
  /** `uri` ends with '/'; a partitioned input is read from `<uri>dt=<window start>/`. */
  readonly inputs: ReadonlyArray<{ readonly name: string; readonly uri: string; readonly partitioned: boolean }>;
  /** `uri` ends with '/'; every run writes to `<uri>dt=<window start>/`. */
  readonly outputs: ReadonlyArray<{ readonly name: string; readonly uri: string }>;
  /** Object-created events under these folders of `bucket` start runs. */
  readonly s3Arrival: ReadonlyArray<{ readonly input: string; readonly prefix: string; readonly suffix?: string }>;
  /** Runs start when this purpose's state machine succeeds. */
  readonly upstream?: { readonly purpose: string; readonly stateMachineArn: string };
}

/** A request that can never start a run: bad dates, an unknown purpose, an unexpected event. Retrying does not help. */
export class RunRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunRequestError';
  }
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** Checks a `YYYY-MM-DD` calendar date; `field` names it in the error. */
export function parseDate(value: unknown, field: string): string {
  const m = typeof value === 'string' ? DATE.exec(value) : null;
  if (m) {
    const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
    if (d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3])) return value as string;
  }
  throw new RunRequestError(`${field} must be a calendar date written YYYY-MM-DD, got ${JSON.stringify(value)}`);
}

/** `date` plus `days` (which may be negative). */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** The number of days from `start` to `end`, both included. */
export function daysIn(window: RunWindow): number {
  return Math.round((Date.parse(`${window.end}T00:00:00Z`) - Date.parse(`${window.start}T00:00:00Z`)) / DAY_MS) + 1;
}

/** The calendar date of `instant` in `timezone` (an IANA name such as `Europe/Berlin`). */
export function localDate(instant: Date, timezone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(instant);
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** True if `timezone` is an IANA time zone this runtime knows. */
export function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** The `days`-long window that ended the day before `instant` (in `timezone`): what a schedule tick covers. */
export function windowJustEnded(instant: Date, days: number, timezone: string): RunWindow {
  const today = localDate(instant, timezone);
  return { start: addDays(today, -days), end: addDays(today, -1) };
}

/** The `days`-long window starting on `start`. */
export function windowStartingOn(start: string, days: number): RunWindow {
  return { start, end: addDays(start, days - 1) };
}

/** The partition folder of a window's results: `dt=<start>/`. */
export function partitionOf(window: RunWindow): string {
  return `dt=${window.start}/`;
}

/** `dt=YYYY-MM-DD` in a key (the Hive partition convention), if it holds a real date. */
export function partitionDateOf(key: string): string | undefined {
  const m = /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})\//.exec(key);
  if (!m) return undefined;
  try {
    return parseDate(m[1], 'dt');
  } catch {
    return undefined;
  }
}

const compact = (date: string) => date.replace(/-/g, '');

/**
 * The execution name of a run: `<purpose>-<trigger>-<window>[-<discriminator>][-rerun-<time>]`,
 * at most 80 characters (a 30-character purpose name leaves room for every trigger) of `[A-Za-z0-9-]`. The same purpose, trigger, window and
 * discriminator always give the same name, so Step Functions refuses a duplicate run.
 * `rerunAt` makes a visibly different name for a deliberate rerun.
 */
export function runName(purpose: string, kind: TriggerKind | 'backfill', window: RunWindow, discriminator?: string, rerunAt?: Date): string {
  const days = window.start === window.end ? compact(window.start) : `${compact(window.start)}-${compact(window.end)}`;
  const rerun = rerunAt ? `-rerun-${rerunAt.toISOString().replace(/[-:]/g, '').slice(0, 15)}` : '';
  const name = `${purpose}-${kind}-${days}${discriminator ? `-${discriminator}` : ''}${rerun}`;
  if (name.length > MAX_RUN_NAME_LENGTH) throw new Error(`run name '${name}' is longer than ${MAX_RUN_NAME_LENGTH} characters`);
  return name;
}

/** Step Functions' limit on execution names. */
export const MAX_RUN_NAME_LENGTH = 80;

/** The first `length` hex digits of SHA-256 over `parts`: a short, stable discriminator. */
export function shortHash(length: number, ...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, length);
}

/** The run input for `window`: where this purpose reads and writes for it. */
export function runInput(config: PurposeRunConfig, runId: string, window: RunWindow, trigger: TriggerDetails): RunInput {
  const partition = partitionOf(window);
  return {
    version: RUN_CONTRACT_VERSION,
    runId,
    purpose: config.purpose,
    window,
    trigger,
    inputs: Object.fromEntries(config.inputs.map((i) => [i.name, i.partitioned ? `${i.uri}${partition}` : i.uri])),
    outputs: Object.fromEntries(config.outputs.map((o) => [o.name, `${o.uri}${partition}`])),
  };
}

/** The ARN of the execution `name` of `stateMachineArn`. */
export function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}
