import { StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { addDays, daysIn, localDate, partitionDateOf, windowJustEnded, windowStartingOn, type RunWindow } from '../contract/dates';
import {
  executionArnOf,
  parseDate,
  runInput,
  runName,
  RunRequestError,
  shortHash,
  type PurposeRunConfig,
  type RunInput,
  type TriggerDetails,
} from '../contract/run-input';

/*
 * Turns any event that may start a run of a purpose into a run input and a deterministic
 * execution name, and starts it. The trigger Lambda is a thin shell around `startRuns`.
 */

/** What a manual request may hold (a direct Lambda invocation, from `batcat run` or the console). */
export interface ManualRequest {
  readonly trigger?: 'manual';
  readonly purpose: string;
  /** One window starting on this day. */
  readonly date?: string;
  /** With `to`: one run over these days, or with `backfill` one run per window. */
  readonly from?: string;
  readonly to?: string;
  readonly backfill?: boolean;
  /** Start a new attempt even if a run for the same window exists. */
  readonly force?: boolean;
}

/** The input an EventBridge Scheduler schedule sends. */
export interface ScheduleTick {
  readonly trigger: 'schedule';
  readonly purpose: string;
  /** `<aws.scheduler.scheduled-time>`: an ISO 8601 instant. */
  readonly scheduledTime: string;
}

/** One run the trigger started, or found already started. */
export interface StartedRun {
  readonly runId: string;
  readonly executionArn: string;
  /** `already-started`: an execution of this name exists, so no second job was started. */
  readonly status: 'started' | 'already-started';
  readonly window: RunWindow;
}

/** What `startRuns` did. */
export interface TriggerResult {
  readonly purpose: string;
  readonly trigger: TriggerDetails['kind'];
  /** The run, or for a backfill the backfill execution that starts the runs. */
  readonly started: StartedRun;
  /** For a backfill: every window it will run, in order. */
  readonly backfillRuns?: ReadonlyArray<{ readonly runId: string; readonly window: RunWindow }>;
}

/** The input of a purpose's backfill state machine. */
export interface BackfillInput {
  readonly purpose: string;
  readonly runs: ReadonlyArray<{ readonly name: string; readonly input: RunInput }>;
}

/** Step Functions refuses inputs over 256 KiB; keep room for the state machine's own fields. */
const MAX_BACKFILL_INPUT_BYTES = 200 * 1024;
const MANUAL_KEYS = new Set(['trigger', 'purpose', 'date', 'from', 'to', 'backfill', 'force']);

export interface TriggerDeps {
  readonly sfn: SFNClient;
  /** The current time, for reruns and "today". */
  readonly now?: () => Date;
}

/**
 * Starts the run (or backfill) that `event` asks for. Throws RunRequestError, and starts
 * nothing, if the event is malformed, for another purpose, or from an unexpected source.
 */
export async function startRuns(event: unknown, config: PurposeRunConfig, deps: TriggerDeps): Promise<TriggerResult> {
  const now = deps.now?.() ?? new Date();
  const request = resolveRunRequest(event, config, now);
  if (request.backfill) {
    const started = await start(deps.sfn, config.backfillStateMachineArn, request.name, request.backfill, request.window);
    return {
      purpose: config.purpose,
      trigger: 'manual',
      started,
      backfillRuns: request.backfill.runs.map((r) => ({ runId: r.name, window: r.input.window })),
    };
  }
  const started = await start(deps.sfn, config.stateMachineArn, request.name, request.input, request.window);
  return { purpose: config.purpose, trigger: request.input.trigger.kind, started };
}

type RunRequest =
  | { readonly backfill?: undefined; readonly name: string; readonly window: RunWindow; readonly input: RunInput }
  | { readonly backfill: BackfillInput; readonly name: string; readonly window: RunWindow };

/** The run (or backfill) an event asks for, without starting it: for the trigger, tests and local runs. */
export function resolveRunRequest(event: unknown, config: PurposeRunConfig, now: Date): RunRequest {
  if (!isObject(event)) throw new RunRequestError(`expected an event object, got ${describe(event)}`);
  if (typeof event.source === 'string' || typeof event['detail-type'] === 'string') return fromEventBridge(event, config);
  if (event.trigger === 'schedule') return fromSchedule(event, config);
  if (event.trigger === undefined || event.trigger === 'manual') return fromManual(event, config, now);
  throw new RunRequestError(
    `unknown trigger ${describe(event.trigger)}; expected 'manual' or 'schedule', or an EventBridge event from aws.s3 or aws.states`,
  );
}

function single(config: PurposeRunConfig, name: string, window: RunWindow, trigger: TriggerDetails): RunRequest {
  return { name, window, input: runInput(config, name, window, trigger) };
}

function checkPurpose(event: Record<string, unknown>, config: PurposeRunConfig): void {
  if (event.purpose !== config.purpose) {
    throw new RunRequestError(`unknown purpose ${describe(event.purpose)}: this trigger starts runs of '${config.purpose}' only`);
  }
}

function fromSchedule(event: Record<string, unknown>, config: PurposeRunConfig): RunRequest {
  checkPurpose(event, config);
  const time = typeof event.scheduledTime === 'string' ? new Date(event.scheduledTime) : undefined;
  if (!time || Number.isNaN(time.getTime())) {
    throw new RunRequestError(`scheduledTime must be an ISO 8601 time, got ${describe(event.scheduledTime)}`);
  }
  const window = windowJustEnded(time, config.windowDays, config.timezone);
  return single(config, runName(config.purpose, 'schedule', window), window, {
    kind: 'schedule',
    scheduledTime: time.toISOString(),
    timezone: config.timezone,
  });
}

function fromEventBridge(event: Record<string, unknown>, config: PurposeRunConfig): RunRequest {
  const detail = isObject(event.detail) ? event.detail : {};
  if (event.source === 'aws.s3' && event['detail-type'] === 'Object Created') return fromS3(event, detail, config);
  if (event.source === 'aws.states' && event['detail-type'] === 'Step Functions Execution Status Change')
    return fromUpstream(detail, config);
  throw new RunRequestError(
    `unexpected event from ${describe(event.source)} (${describe(event['detail-type'])}); ` +
      `'${config.purpose}' is started by aws.s3 Object Created and aws.states Step Functions Execution Status Change events only`,
  );
}

function fromS3(event: Record<string, unknown>, detail: Record<string, unknown>, config: PurposeRunConfig): RunRequest {
  const bucket = isObject(detail.bucket) ? detail.bucket.name : undefined;
  const object = isObject(detail.object) ? detail.object : {};
  const key = object.key;
  if (bucket !== config.bucket) {
    throw new RunRequestError(`S3 event from bucket ${describe(bucket)}; '${config.purpose}' watches bucket '${config.bucket}' only`);
  }
  if (typeof key !== 'string' || key === '') throw new RunRequestError('S3 event without an object key');
  const watched = config.s3Arrival.find((a) => key.startsWith(a.prefix) && (a.suffix === undefined || key.endsWith(a.suffix)));
  if (!watched) {
    const folders = config.s3Arrival.map((a) => `${a.prefix}*${a.suffix ?? ''}`).join(', ') || 'none';
    throw new RunRequestError(`S3 object '${key}' is not under a folder that starts '${config.purpose}' (watched: ${folders})`);
  }
  const eventTime = typeof event.time === 'string' && !Number.isNaN(Date.parse(event.time)) ? event.time : undefined;
  const day = partitionDateOf(key.slice(watched.prefix.length)) ?? (eventTime ? eventTime.slice(0, 10) : undefined);
  if (!day) throw new RunRequestError(`S3 object '${key}' has no dt=YYYY-MM-DD partition and the event has no valid time`);
  const versionId = typeof object['version-id'] === 'string' ? object['version-id'] : undefined;
  const window = windowStartingOn(day, config.windowDays);
  // The object's key and version identify the event: a redelivery gives the same name.
  const name = runName(config.purpose, 's3', window, shortHash(16, bucket, key, versionId ?? ''));
  return single(config, name, window, { kind: 's3', bucket, key, versionId, eventTime: eventTime ?? `${day}T00:00:00Z` });
}

function fromUpstream(detail: Record<string, unknown>, config: PurposeRunConfig): RunRequest {
  if (!config.upstream || detail.stateMachineArn !== config.upstream.stateMachineArn) {
    throw new RunRequestError(
      `execution event from state machine ${describe(detail.stateMachineArn)}; ` +
        `'${config.purpose}' runs after ${config.upstream ? `'${config.upstream.stateMachineArn}'` : 'no other purpose'}`,
    );
  }
  if (detail.status !== 'SUCCEEDED') {
    throw new RunRequestError(
      `upstream execution ${describe(detail.executionArn)} has status ${describe(detail.status)}; only SUCCEEDED starts '${config.purpose}'`,
    );
  }
  const upstreamInput = parseJsonObject(detail.input);
  if (!upstreamInput || !isObject(upstreamInput.window) || typeof detail.executionArn !== 'string') {
    throw new RunRequestError(
      `upstream execution ${describe(detail.executionArn)} carries no BatCat run input with a window; ` +
        `was it started outside the run contract, or was its input too large for the event?`,
    );
  }
  const window = checkedWindow(upstreamInput.window.start, upstreamInput.window.end, 'upstream window');
  const upstreamRunId = typeof upstreamInput.runId === 'string' ? upstreamInput.runId : detail.executionArn;
  // A rerun of the upstream is a new execution, so it starts a new downstream run; a redelivered event does not.
  const name = runName(config.purpose, 'upstream', window, shortHash(8, detail.executionArn));
  return single(config, name, window, {
    kind: 'upstream',
    purpose: config.upstream.purpose,
    executionArn: detail.executionArn,
    runId: upstreamRunId,
  });
}

function checkedWindow(start: unknown, end: unknown, what: string): RunWindow {
  const window = { start: parseDate(start, `${what} start`), end: parseDate(end, `${what} end`) };
  if (window.end < window.start) throw new RunRequestError(`${what} ends (${window.end}) before it starts (${window.start})`);
  return window;
}

function fromManual(event: Record<string, unknown>, config: PurposeRunConfig, now: Date): RunRequest {
  const unknownKeys = Object.keys(event).filter((k) => !MANUAL_KEYS.has(k));
  if (unknownKeys.length > 0) {
    throw new RunRequestError(
      `unknown field${unknownKeys.length > 1 ? 's' : ''} ${unknownKeys.map((k) => `'${k}'`).join(', ')} in a manual request; allowed: ${[...MANUAL_KEYS].join(', ')}`,
    );
  }
  checkPurpose(event, config);
  for (const flag of ['backfill', 'force'] as const) {
    if (event[flag] !== undefined && typeof event[flag] !== 'boolean')
      throw new RunRequestError(`${flag} must be true or false, got ${describe(event[flag])}`);
  }
  const rerunAt = event.force === true ? now : undefined;
  const hasRange = event.from !== undefined || event.to !== undefined;
  if (event.date !== undefined && hasRange) throw new RunRequestError('give either date, or from and to, not both');
  if (hasRange && (event.from === undefined || event.to === undefined))
    throw new RunRequestError('from and to go together: give both, or use date');
  if (event.backfill === true && !hasRange) throw new RunRequestError('a backfill needs from and to');

  let window: RunWindow;
  if (hasRange) window = checkedWindow(event.from, event.to, 'window');
  else if (event.date !== undefined) window = windowStartingOn(parseDate(event.date, 'date'), config.windowDays);
  else window = windowJustEnded(now, config.windowDays, config.timezone);

  const today = localDate(now, config.timezone);
  if (window.end >= today) {
    throw new RunRequestError(
      `the window ${window.start}..${window.end} has not ended yet (today is ${today} in ${config.timezone}); its last day must be ${addDays(today, -1)} or earlier`,
    );
  }
  if (event.backfill === true) return backfill(config, window, rerunAt);

  if (daysIn(window) > config.maxWindowDays) {
    throw new RunRequestError(
      `the window ${window.start}..${window.end} is ${daysIn(window)} days; one run of '${config.purpose}' may cover at most ${config.maxWindowDays} ` +
        `(maxWindow). To start one run per ${config.windowDays}-day window instead, ask for a backfill (batcat run --backfill)`,
    );
  }
  return single(config, runName(config.purpose, 'manual', window, undefined, rerunAt), window, {
    kind: 'manual',
    rerun: rerunAt !== undefined,
  });
}

function backfill(config: PurposeRunConfig, range: RunWindow, rerunAt: Date | undefined): RunRequest {
  const days = daysIn(range);
  if (days % config.windowDays !== 0) {
    const shorter = addDays(range.start, days - (days % config.windowDays) - 1);
    const longer = addDays(shorter, config.windowDays);
    throw new RunRequestError(
      `the backfill ${range.start}..${range.end} is ${days} days, not a whole number of ${config.windowDays}-day windows; ` +
        `end it on ${shorter < range.start ? longer : `${shorter} or ${longer}`}`,
    );
  }
  const count = days / config.windowDays;
  if (count > config.maxBackfillWindows) {
    throw new RunRequestError(
      `the backfill ${range.start}..${range.end} has ${count} windows; at most ${config.maxBackfillWindows} may be started at once, so split the range`,
    );
  }
  const runs = Array.from({ length: count }, (_, i) => {
    const window = windowStartingOn(addDays(range.start, i * config.windowDays), config.windowDays);
    const name = runName(config.purpose, 'manual', window, undefined, rerunAt);
    return { name, input: runInput(config, name, window, { kind: 'manual', rerun: rerunAt !== undefined, backfill: range }) };
  });
  const input: BackfillInput = { purpose: config.purpose, runs };
  if (Buffer.byteLength(JSON.stringify(input)) > MAX_BACKFILL_INPUT_BYTES) {
    throw new RunRequestError(
      `the backfill ${range.start}..${range.end} is too large for one Step Functions input (${count} runs); split the range`,
    );
  }
  return { backfill: input, name: runName(config.purpose, 'backfill', range, undefined, rerunAt), window: range };
}

async function start(sfn: SFNClient, stateMachineArn: string, name: string, input: unknown, window: RunWindow): Promise<StartedRun> {
  try {
    const out = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    return { runId: name, executionArn: out.executionArn!, status: 'started', window };
  } catch (e) {
    // The same name was used before (or is running with another input): this event was already handled.
    if ((e as Error).name === 'ExecutionAlreadyExists') {
      return { runId: name, executionArn: executionArnOf(stateMachineArn, name), status: 'already-started', window };
    }
    throw e;
  }
}

/** The object a JSON text holds, or undefined if it holds something else or is not JSON. */
function parseJsonObject(text: unknown): Record<string, unknown> | undefined {
  try {
    const v: unknown = typeof text === 'string' ? JSON.parse(text) : undefined;
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
