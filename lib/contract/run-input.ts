import { createHash } from 'node:crypto';
import { dateProblem, partitionOf, type RunWindow } from './dates';

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

/** What started a run. */
export type TriggerKind = 'schedule' | 's3' | 'manual' | 'upstream';

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

/** Where the state machine finds the run input's fields. */
export const RUN_INPUT_PATHS = {
  runId: '$.runId',
  windowStart: '$.window.start',
  windowEnd: '$.window.end',
  window: '$.window',
  triggerKind: '$.trigger.kind',
} as const;

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

/** Checks a `YYYY-MM-DD` calendar date of a request; `field` names it in the error. */
export function parseDate(value: unknown, field: string): string {
  const problem = dateProblem(value, field);
  if (problem) throw new RunRequestError(problem);
  return value as string;
}

const compact = (date: string) => date.replace(/-/g, '');

/**
 * The execution name of a run: `<purpose>-<trigger>-<window>[-<discriminator>][-rerun-<time>]`,
 * at most 80 characters (a 30-character purpose name leaves room for every trigger) of
 * `[A-Za-z0-9-]`. The same purpose, trigger, window and discriminator always give the same
 * name, so Step Functions refuses a duplicate run. `rerunAt` makes a visibly different name
 * for a deliberate rerun.
 */
export function runName(
  purpose: string,
  kind: TriggerKind | 'backfill',
  window: RunWindow,
  discriminator?: string,
  rerunAt?: Date,
): string {
  const days = window.start === window.end ? compact(window.start) : `${compact(window.start)}-${compact(window.end)}`;
  const rerun = rerunAt ? `-rerun-${rerunAt.toISOString().replace(/[-:]/g, '').slice(0, 15)}` : '';
  const name = `${purpose}-${kind}-${days}${discriminator ? `-${discriminator}` : ''}${rerun}`;
  if (name.length > MAX_RUN_NAME_LENGTH) throw new Error(`run name '${name}' is longer than ${MAX_RUN_NAME_LENGTH} characters`);
  return name;
}

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
