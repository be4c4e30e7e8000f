import { createHash } from 'node:crypto';
import { addDays, dateProblem, partitionOf, type RunWindow } from './dates';
import { resolveParameters, type ParameterSpec } from './parameters';

/*
 * The run contract: the one input shape every trigger produces, and the rules that derive a
 * run's name and S3 locations. Runs inside the trigger Lambda, the CLI and local runs, and the
 * state machine reads it by the paths in RUN_INPUT_PATHS.
 */

export const RUN_CONTRACT_VERSION = 1;

/** The most windows one backfill may start: its run inputs must fit one Step Functions input. */
export const MAX_BACKFILL_WINDOWS = 200;

/** Step Functions' limit on execution names. */
export const MAX_RUN_NAME_LENGTH = 80;

/**
 * S3 arrival: a run started by an object waits until no new object of its window has arrived for
 * `settleSeconds` (each arrival pushes the wait back), but no longer than `maxSettleSeconds` after
 * the first, then reads everything present. A trigger with a `suffix` (a `_SUCCESS`-style marker)
 * starts at once unless it sets its own settle.
 */
export const S3_SETTLE_DEFAULTS = { settleSeconds: 300, maxSettleSeconds: 3600, maxAllowedSeconds: 86_400 } as const;

/** What started a run. */
export type TriggerKind = 'schedule' | 's3' | 'manual' | 'upstream';

/** The details of each kind of trigger. */
export type TriggerDetails =
  | { readonly kind: 'schedule'; readonly scheduledTime: string; readonly timezone: string }
  | { readonly kind: 's3'; readonly bucket: string; readonly key: string; readonly versionId?: string; readonly eventTime: string }
  | { readonly kind: 'manual'; readonly backfill?: RunWindow }
  | { readonly kind: 'upstream'; readonly purpose: string; readonly executionArn: string; readonly runId: string };

/** A run's window as the run input carries it: `end` is its last day, `endExclusive` the day after it. */
export interface RunInputWindow extends RunWindow {
  /** The day after `end`: the window is `[start, endExclusive)`. */
  readonly endExclusive: string;
}

/** The input of every run of a purpose's state machine. Documented in README.md, "The run contract". */
export interface RunInput {
  readonly version: typeof RUN_CONTRACT_VERSION;
  /** The execution name: `<purpose>-<window>-a<attempt>` (see `runName`). */
  readonly runId: string;
  readonly purpose: string;
  /** The window's days are calendar days in `timezone`. */
  readonly window: RunInputWindow;
  /** The IANA time zone of the window's days. */
  readonly timezone: string;
  /** The attempt at this window: one more than the run ledger's count when the run was started. */
  readonly attempt: number;
  /** True when this attempt replaces a window that had succeeded (`--force`, or a forced upstream run). */
  readonly force: boolean;
  readonly trigger: TriggerDetails;
  /**
   * An S3-started run of a purpose that settles: it waits (ISO 8601 times) until `until`, which
   * each object arriving meanwhile pushes back in the run ledger, but not beyond `limit`.
   */
  readonly settle?: { readonly until: string; readonly limit: string };
  /** The purpose's typed parameters (lib/contract/parameters.ts), every one as text: given with --param, else its default. */
  readonly parameters?: Readonly<Record<string, string>>;
  /**
   * Input name -> the S3 folder the job reads: for a partitioned input and a window of one day,
   * that day's `dt=` folder; for a longer window, the input's folder, whose partitions of the
   * window's days the job reads through a manifest.
   */
  readonly inputs: Record<string, string>;
  /** Output name -> the S3 folder the job writes (`.../dt=<window start>/`). */
  readonly outputs: Record<string, string>;
}

/** Where the state machine finds the run input's fields. */
export const RUN_INPUT_PATHS = {
  runId: '$.runId',
  windowStart: '$.window.start',
  windowEnd: '$.window.end',
  windowEndExclusive: '$.window.endExclusive',
  window: '$.window',
  timezone: '$.timezone',
  attempt: '$.attempt',
  triggerKind: '$.trigger.kind',
} as const;

/** What the trigger of one purpose needs to know. The construct writes it; the trigger reads it. */
export interface PurposeRunConfig {
  readonly purpose: string;
  readonly stateMachineArn: string;
  /** Starts one run per window, at most `backfillConcurrency` at a time; absent when the purpose has no backfill machine. */
  readonly backfillStateMachineArn?: string;
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
  /** `uri` ends with '/'; a partitioned input is read from `<uri>dt=<day>/` for each day of the window. */
  readonly inputs: ReadonlyArray<{ readonly name: string; readonly uri: string; readonly partitioned: boolean }>;
  /** `uri` ends with '/'; every run writes to `<uri>dt=<window start>/`. */
  readonly outputs: ReadonlyArray<{ readonly name: string; readonly uri: string }>;
  /** Object-created events under these folders start runs; a folder is in `bucket` unless it names its own (another purpose's bucket). */
  readonly s3Arrival: ReadonlyArray<{
    readonly input: string;
    readonly prefix: string;
    readonly suffix?: string;
    readonly bucket?: string;
    /** Wait this long after the newest arrival before the run reads (see S3_SETTLE_DEFAULTS); 0 or absent starts at once. */
    readonly settleSeconds?: number;
    /** The longest a run waits for its window to settle, from the first arrival. */
    readonly maxSettleSeconds?: number;
  }>;
  /** Runs start when this purpose's state machine succeeds; its ledger says which of its windows succeeded. */
  readonly upstream?: { readonly purpose: string; readonly stateMachineArn: string; readonly ledgerTable: string };
  /** The run ledger's table name (lib/contract/ledger.ts). */
  readonly ledgerTable: string;
  /** The purpose's typed parameters; absent when it declares none. */
  readonly parameters?: Readonly<Record<string, ParameterSpec>>;
  /** The project and stage the completion events name. */
  readonly runEvents?: { readonly project: string; readonly stage: string };
  /** With a freshness allowance: the hourly check's settings (lib/runtime/freshness.ts). */
  readonly freshness?: { readonly hours: number; readonly topicArn: string; readonly stateMachineName: string };
}

/** A request that can never start a run: bad dates, an unknown purpose, an unexpected event. Retrying does not help. */
export class RunRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunRequestError';
  }
}

/** Checks a `YYYY-MM-DD` calendar date of a request; `field` names it in the error. */
export function parseDate(value: unknown, field: string): string {
  const problem = dateProblem(value, field);
  if (problem) throw new RunRequestError(problem);
  return value as string;
}

const compact = (date: string) => date.replace(/-/g, '');

/**
 * The execution name of an attempt at a window: `<purpose>-<window>-a<attempt>`, at most 80
 * characters of `[A-Za-z0-9-]`. Every trigger of the same window and attempt gives the same name,
 * so Step Functions starts one execution however many events arrive at once; the next attempt
 * has a new name, so a retry never collides with an earlier one.
 */
export function runName(purpose: string, window: RunWindow, attempt: number): string {
  return checkedName(`${purpose}-${compactWindow(window)}-a${attempt}`);
}

/** The name of a backfill execution: `<purpose>-backfill-<range>-<hash of its runs>`, new whenever its runs differ. */
export function backfillName(purpose: string, range: RunWindow, runNames: readonly string[]): string {
  return checkedName(`${purpose}-backfill-${compactWindow(range)}-${shortHash(8, ...runNames)}`);
}

function compactWindow(window: RunWindow): string {
  return window.start === window.end ? compact(window.start) : `${compact(window.start)}-${compact(window.end)}`;
}

function checkedName(name: string): string {
  if (name.length > MAX_RUN_NAME_LENGTH) throw new Error(`run name '${name}' is longer than ${MAX_RUN_NAME_LENGTH} characters`);
  return name;
}

/** The first `length` hex digits of SHA-256 over `parts`: a short, stable discriminator. */
export function shortHash(length: number, ...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, length);
}

/** The run input of one attempt at `window`: where this purpose reads and writes for it. */
export function runInput(
  config: PurposeRunConfig,
  window: RunWindow,
  attempt: number,
  force: boolean,
  trigger: TriggerDetails,
  options: { readonly settle?: RunInput['settle']; readonly parameters?: Readonly<Record<string, string>> } = {},
): RunInput {
  const partition = partitionOf(window);
  const { settle } = options;
  const specs = config.parameters ?? {};
  const parameters = options.parameters ?? (Object.keys(specs).length > 0 ? resolveParameters(config.purpose, specs) : undefined);
  return {
    version: RUN_CONTRACT_VERSION,
    runId: runName(config.purpose, window, attempt),
    purpose: config.purpose,
    window: { start: window.start, end: window.end, endExclusive: addDays(window.end, 1) },
    timezone: config.timezone,
    attempt,
    force,
    trigger,
    ...(settle ? { settle } : {}),
    ...(parameters ? { parameters } : {}),
    inputs: Object.fromEntries(
      config.inputs.map((i) => [i.name, i.partitioned && window.start === window.end ? `${i.uri}${partition}` : i.uri]),
    ),
    outputs: Object.fromEntries(config.outputs.map((o) => [o.name, `${o.uri}${partition}`])),
  };
}

/** The ARN of the execution `name` of `stateMachineArn`. */
export function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/** How long an S3 arrival at `eventTime` makes a run wait: until `settleSeconds` after it, at the latest `limit`. */
export function settleWindow(
  eventTime: string,
  arrival: Pick<PurposeRunConfig['s3Arrival'][number], 'settleSeconds' | 'maxSettleSeconds'>,
): RunInput['settle'] | undefined {
  const settle = arrival.settleSeconds ?? 0;
  if (settle <= 0) return undefined;
  const at = Date.parse(eventTime);
  const limit = at + Math.max(arrival.maxSettleSeconds ?? S3_SETTLE_DEFAULTS.maxSettleSeconds, settle) * 1000;
  return { until: new Date(Math.min(at + settle * 1000, limit)).toISOString(), limit: new Date(limit).toISOString() };
}
