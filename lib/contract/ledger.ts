/*
 * The run ledger: one DynamoDB item per (purpose, window) that says whether the window's result
 * exists. The state machine writes it (start, success, failure), the trigger writes it for runs
 * that ended without their failure path (timed out, stopped), and the trigger reads it to decide
 * what to start. This file holds the names both sides use.
 */

/** The table's keys: the purpose's name, and the window's start (the `dt=` partition of its result). */
export const LEDGER_KEY = { partition: 'purpose', sort: 'window' } as const;

/** Where a window stands. A window without an item never ran. */
export type LedgerStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/** The attributes of an item, besides the keys. */
export const LEDGER_ATTRIBUTES = {
  status: 'status',
  /** The number of the newest attempt; attempts only grow, so run and job names never repeat. */
  attempts: 'attempts',
  /** The ARN of the newest attempt's execution. */
  execution: 'execution',
  runId: 'runId',
  windowEnd: 'windowEnd',
  trigger: 'trigger',
  startedAt: 'startedAt',
  endedAt: 'endedAt',
  error: 'error',
  reason: 'reason',
  /** The outputs a successful attempt committed, as the JSON of the run input's `outputs`. */
  outputs: 'outputs',
  /** A settling run reads at this time (ISO 8601) unless another object arrives first, which pushes it back. */
  settleUntil: 'settleUntil',
  /** The latest a settling run waits: its first arrival plus the trigger's maxSettle. */
  settleLimit: 'settleLimit',
  /** When the run began to read its inputs: an object that arrives later is not in its result. */
  readStartedAt: 'readStartedAt',
  /** An object that arrived after the run began to read (JSON of its S3 trigger details): one more run of the window follows. */
  followUp: 'followUp',
  /** `cache: true`: the key of what the window's result was made from (runCacheKey), and the run that made it. */
  cacheKey: 'cacheKey',
  resultRunId: 'resultRunId',
  /** A run that found its key equal to the result's: the run whose outputs stand. */
  cachedFrom: 'cachedFrom',
  /** A failed attempt that `batcat redrive` reopened: how many times, and when last. */
  redrives: 'redrives',
  redrivenAt: 'redrivenAt',
} as const;

/** One item, as the trigger reads it. */
export interface LedgerEntry {
  readonly window: string;
  readonly windowEnd?: string;
  readonly status: LedgerStatus;
  readonly attempts: number;
  readonly execution?: string;
  readonly runId?: string;
  readonly error?: string;
  readonly settleUntil?: string;
  readonly settleLimit?: string;
  readonly readStartedAt?: string;
  /** The JSON of the S3 trigger details of the first object that arrived after the run began to read. */
  readonly followUp?: string;
}

/**
 * Automatic triggers (schedule ticks, S3 arrivals, upstream successes) start at most this many
 * attempts of a window; after that only a manual run or backfill does, so a window that fails
 * for good does not start a paid job at every tick.
 */
export const MAX_AUTOMATIC_ATTEMPTS = 3;

/** The metric the freshness check publishes, per purpose (its state machine's name). */
export const FRESHNESS_METRIC = { namespace: 'BatCat', name: 'NewestSuccessAgeHours', dimension: 'StateMachine' } as const;

/** A schedule tick looks back this many windows for windows that are due and not done (catch-up). */
export const CATCH_UP_WINDOWS = 7;
