import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import {
  addDays,
  daysIn,
  gridWindowOf,
  localDate,
  partitionDateOf,
  windowJustEnded,
  windowStartingOn,
  type RunWindow,
} from '../contract/dates';
import { CATCH_UP_WINDOWS, MAX_AUTOMATIC_ATTEMPTS, type LedgerEntry } from '../contract/ledger';
import {
  backfillName,
  executionArnOf,
  parseDate,
  runInput,
  RunRequestError,
  settleWindow,
  type PurposeRunConfig,
  type RunInput,
  type TriggerDetails,
} from '../contract/run-input';
import { ParameterError, resolveParameters } from '../contract/parameters';
import { endedRunDetail, RUN_EVENT_SOURCE, RUN_EVENT_TYPES, RUN_EVENT_VERSION } from '../contract/run-events';
import { extendSettle, firstLedgerWindow, readLedger, recordEndedRun, requestFollowUp } from './ledger';

/*
 * Turns any event that may start a run of a purpose into the windows it asks for, checks each
 * against the run ledger, and starts a new attempt where one is due. The trigger Lambda is a
 * thin shell around `startRuns`.
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
  /** Values of the purpose's typed parameters (`--param name=value`); the others take their defaults. */
  readonly params?: Record<string, string | number | boolean>;
}

/** The input an EventBridge Scheduler schedule sends. */
export interface ScheduleTick {
  readonly trigger: 'schedule';
  readonly purpose: string;
  /** `<aws.scheduler.scheduled-time>`: an ISO 8601 instant. */
  readonly scheduledTime: string;
}

/** What the trigger did for one window. */
export type WindowAction =
  /** A new attempt was started. */
  | 'started'
  /** An execution of this attempt existed already (a duplicate event): nothing new started. */
  | 'already-started'
  /** The window's result exists; force a rerun to replace it. */
  | 'succeeded'
  /** An attempt at the window is running. */
  | 'running'
  /** An automatic trigger gave up after MAX_AUTOMATIC_ATTEMPTS failed attempts; a manual run still starts one. */
  | 'gave-up'
  /** The window has not ended (an S3 object of an earlier day, an upstream run of part of it); `reason` says when it runs. */
  | 'not-due'
  /** An S3 object joined the run that waits for its window to settle: that run reads it. */
  | 'joined'
  /** An S3 object arrived after the running attempt began to read: one more attempt follows it (once, however many arrive). */
  | 'follow-up'
  /** The upstream purpose has not yet succeeded for every day of the window; `reason` names the days. */
  | 'waiting';

/** One window of a request and what became of it. */
export interface WindowOutcome {
  readonly window: RunWindow;
  readonly action: WindowAction;
  /** The attempt started, or the newest attempt the ledger holds. */
  readonly runId?: string;
  readonly attempt?: number;
  readonly executionArn?: string;
  /** Why a window that is not started waits. */
  readonly reason?: string;
}

/** What `startRuns` did. */
export interface TriggerResult {
  readonly purpose: string;
  readonly trigger: TriggerDetails['kind'] | 'run-ended';
  /** Every window the event asked for, oldest first. */
  readonly windows: readonly WindowOutcome[];
  /** When more than one window started: the backfill execution that runs them, at most `backfillConcurrency` at a time. */
  readonly backfill?: { readonly name: string; readonly executionArn: string; readonly status: 'started' | 'already-started' };
  /** For a run of this purpose that ended without its failure path: whether the ledger was changed. */
  readonly recorded?: boolean;
}

/** The input of a purpose's backfill state machine. */
export interface BackfillInput {
  readonly purpose: string;
  readonly runs: ReadonlyArray<{ readonly name: string; readonly input: RunInput }>;
}

/** Step Functions refuses inputs over 256 KiB; keep room for the state machine's own fields. */
const MAX_BACKFILL_INPUT_BYTES = 200 * 1024;
const MANUAL_KEYS = new Set(['trigger', 'purpose', 'date', 'from', 'to', 'backfill', 'force', 'params']);

export interface TriggerDeps {
  readonly sfn: SFNClient;
  readonly ddb: DynamoDBClient;
  /** Puts the Run Failed event of runs that ended without their failure path. */
  readonly events: EventBridgeClient;
  /** The current time, for "today" and the ledger's records. */
  readonly now?: () => Date;
}

/** The windows an event asks for, before the ledger is read. */
export interface RunRequest {
  readonly trigger: TriggerDetails;
  /** Oldest first. For a schedule tick, the windows before the last are catch-up candidates. */
  readonly windows: readonly RunWindow[];
  /** Rerun windows that succeeded. */
  readonly force: boolean;
  /** Schedule, S3 and upstream: limited to MAX_AUTOMATIC_ATTEMPTS attempts per window. */
  readonly automatic: boolean;
  /** A schedule tick: earlier windows are due only once the purpose has a ledger entry at or before them. */
  readonly catchUp: boolean;
  /** A backfill request: the range it names. */
  readonly backfill?: RunWindow;
  /** An upstream success: the upstream's window. A window of this purpose runs once its every day has an upstream success. */
  readonly upstream?: RunWindow;
  /** Why the event's window is not due yet (an S3 object of an earlier day of a window that has not ended). */
  readonly notDue?: string;
  /** An S3 arrival of a trigger that settles: how long its run waits for more objects. */
  readonly settle?: RunInput['settle'];
  /** A manual request's parameter values, checked; absent: the defaults. */
  readonly parameters?: Readonly<Record<string, string>>;
}

/**
 * Starts what `event` asks for: reads the run ledger for its windows, and starts a new attempt
 * at each window that never ran or failed (and, forced, that succeeded); a running window is
 * left alone. One window starts directly; several start as one backfill execution. Throws
 * RunRequestError, and starts nothing, if the event is malformed, for another purpose, or from an
 * unexpected source.
 */
export async function startRuns(event: unknown, config: PurposeRunConfig, deps: TriggerDeps): Promise<TriggerResult> {
  const now = deps.now?.() ?? new Date();
  const ended = runEndedEvent(event, config);
  if (ended) {
    const { window, input, ...run } = ended;
    if (!window) return { purpose: config.purpose, trigger: 'run-ended', windows: [], recorded: false };
    const recorded =
      run.status !== 'SUCCEEDED' &&
      (await recordEndedRun(deps.ddb, config.ledgerTable, { purpose: config.purpose, window, ...run, reason: run.reason!, endedAt: now }));
    // Its own failure path put the Run Failed event of a run it recorded; this one never reached it.
    if (recorded && input) await putRunFailed(deps.events, config, input, run);
    const followUp = await startFollowUp(window, run.executionArn, config, deps);
    return { purpose: config.purpose, trigger: 'run-ended', windows: followUp ? [followUp] : [], recorded };
  }
  const request = resolveRunRequest(event, config, now);
  if (request.notDue) {
    return {
      purpose: config.purpose,
      trigger: request.trigger.kind,
      windows: [{ window: request.windows[0], action: 'not-due', reason: request.notDue }],
    };
  }
  const plan = await planWindows(request, config, deps, now);
  const toStart = plan.filter((p): p is Planned & { input: RunInput } => p.input !== undefined);
  if (toStart.length === 0) return { purpose: config.purpose, trigger: request.trigger.kind, windows: plan.map((p) => p.outcome) };
  const backfillStateMachineArn = config.backfillStateMachineArn;
  if (request.backfill && backfillStateMachineArn === undefined) {
    throw new RunRequestError(
      `purpose ${config.purpose} has no backfill machine (its Purpose was built with backfill: false); run its windows one at a time`,
    );
  }
  // One window, or catch-up without a backfill machine: each due window starts on its own.
  if (backfillStateMachineArn === undefined || (toStart.length === 1 && !request.backfill)) {
    const windows = [];
    for (const p of plan) {
      if (!p.input) windows.push(p.outcome);
      else {
        const status = await start(deps.sfn, config.stateMachineArn, p.input.runId, p.input);
        windows.push({ ...p.outcome, action: status, executionArn: executionArnOf(config.stateMachineArn, p.input.runId) });
      }
    }
    return { purpose: config.purpose, trigger: request.trigger.kind, windows };
  }
  const runs = toStart.map((p) => ({ name: p.input.runId, input: p.input }));
  const backfill: BackfillInput = { purpose: config.purpose, runs };
  if (Buffer.byteLength(JSON.stringify(backfill)) > MAX_BACKFILL_INPUT_BYTES) {
    throw new RunRequestError(`${runs.length} runs are too many for one Step Functions input; split the range`);
  }
  const range = request.backfill ?? { start: runs[0].input.window.start, end: runs[runs.length - 1].input.window.end };
  const name = backfillName(
    config.purpose,
    range,
    runs.map((r) => r.name),
  );
  const status = await start(deps.sfn, backfillStateMachineArn, name, backfill);
  return {
    purpose: config.purpose,
    trigger: request.trigger.kind,
    windows: plan.map((p) => (p.input ? { ...p.outcome, executionArn: executionArnOf(config.stateMachineArn, p.input.runId) } : p.outcome)),
    backfill: { name, executionArn: executionArnOf(backfillStateMachineArn, name), status },
  };
}

interface Planned {
  readonly outcome: WindowOutcome;
  /** Set when a new attempt is to start. */
  readonly input?: RunInput;
}

/** What to do with each window of `request`, given the ledger. */
async function planWindows(request: RunRequest, config: PurposeRunConfig, deps: TriggerDeps, now: Date): Promise<Planned[]> {
  const { windows } = request;
  const today = localDate(now, config.timezone);
  const ledger = await readLedger(deps.ddb, config.ledgerTable, config.purpose, windows[0].start, windows[windows.length - 1].start);
  // A tick looks back only as far as the purpose has run: a new purpose does not backfill its past by itself.
  const first =
    request.catchUp && windows.length > 1
      ? ((await firstLedgerWindow(deps.ddb, config.ledgerTable, config.purpose)) ?? windows[windows.length - 1].start)
      : undefined;
  const plan: Planned[] = [];
  for (const window of windows) {
    if (first !== undefined && window.start < first) continue;
    if (request.upstream) {
      const waiting = await upstreamNotDone(request.upstream, window, today, config, deps);
      if (waiting) {
        plan.push({ outcome: { window, ...waiting } });
        continue;
      }
    }
    let entry = ledger.get(window.start);
    let running = entry?.status === 'RUNNING' && (await stillRunning(deps, config, entry));
    if (request.trigger.kind === 's3' && entry) {
      let arrival = await arrivalDuringRun(request, window, entry, running, config, deps);
      if (arrival === 'ended') {
        // The run ended between the read and the write: decided again on the ledger as it is now.
        entry = (await readLedger(deps.ddb, config.ledgerTable, config.purpose, window.start, window.start)).get(window.start)!;
        running = false;
        arrival = await arrivalDuringRun(request, window, entry, running, config, deps);
      }
      if (arrival && arrival !== 'ended') {
        plan.push(arrival);
        continue;
      }
    }
    const known = entry ? { runId: entry.runId, attempt: entry.attempts, executionArn: entry.execution } : {};
    if (running) {
      plan.push({ outcome: { window, action: 'running', ...known } });
    } else if (entry?.status === 'SUCCEEDED' && !request.force) {
      plan.push({ outcome: { window, action: 'succeeded', ...known } });
    } else if (entry && entry.status !== 'SUCCEEDED' && request.automatic && entry.attempts >= MAX_AUTOMATIC_ATTEMPTS) {
      plan.push({ outcome: { window, action: 'gave-up', ...known } });
    } else {
      const attempt = (entry?.attempts ?? 0) + 1;
      const input = runInput(config, window, attempt, request.force && entry?.status === 'SUCCEEDED', request.trigger, {
        settle: request.settle,
        parameters: request.parameters,
      });
      plan.push({ outcome: { window, action: 'started', runId: input.runId, attempt }, input });
    }
  }
  return plan;
}

/**
 * What an S3 object does to a window that has a ledger entry: it joins a run that still waits
 * for the window to settle (pushing its read back), asks for one follow-up of a run that began
 * to read before it arrived, or starts a new attempt at a window whose result was read before it
 * arrived. Undefined when the usual rules decide; 'ended' when the run ended meanwhile.
 */
async function arrivalDuringRun(
  request: RunRequest,
  window: RunWindow,
  entry: LedgerEntry,
  running: boolean,
  config: PurposeRunConfig,
  deps: TriggerDeps,
): Promise<Planned | 'ended' | undefined> {
  const trigger = request.trigger as Extract<TriggerDetails, { kind: 's3' }>;
  const known = { runId: entry.runId, attempt: entry.attempts, executionArn: entry.execution };
  const arrived = Date.parse(trigger.eventTime);
  const readBefore = entry.readStartedAt !== undefined && arrived > Date.parse(entry.readStartedAt);
  if (running) {
    if (entry.readStartedAt === undefined) {
      if (!request.settle || !entry.settleUntil) return { outcome: { window, action: 'running', ...known } };
      const limit = entry.settleLimit ?? request.settle.until;
      const until = request.settle.until < limit ? request.settle.until : limit;
      if (until > entry.settleUntil)
        await extendSettle(deps.ddb, config.ledgerTable, {
          purpose: config.purpose,
          window: window.start,
          execution: entry.execution!,
          until,
        });
      const waits = until > entry.settleUntil ? until : entry.settleUntil;
      return {
        outcome: {
          window,
          action: 'joined',
          ...known,
          reason: `the run waits for more objects of its window until ${waits} (at most ${limit})`,
        },
      };
    }
    if (!readBefore) return { outcome: { window, action: 'running', ...known } };
    const asked = await requestFollowUp(deps.ddb, config.ledgerTable, {
      purpose: config.purpose,
      window: window.start,
      execution: entry.execution!,
      followUp: JSON.stringify(trigger),
    });
    if (!asked) return 'ended';
    return {
      outcome: {
        window,
        action: 'follow-up',
        ...known,
        reason: `the object arrived after the run began to read (${entry.readStartedAt}); one more run of the window follows it`,
      },
    };
  }
  if (entry.status === 'SUCCEEDED' && !request.force && readBefore) {
    const attempt = entry.attempts + 1;
    const input = runInput(config, window, attempt, true, trigger, { settle: request.settle });
    return {
      outcome: {
        window,
        action: 'started',
        runId: input.runId,
        attempt,
        reason: `the object arrived after the run that made the window's result began to read (${entry.readStartedAt})`,
      },
      input,
    };
  }
  return undefined;
}

/**
 * After a run of `window` ended: if objects arrived after it began to read, starts the one
 * follow-up attempt they asked for (a duplicate end event finds it started). A failed window
 * that automatic triggers gave up on is left to a manual run.
 */
async function startFollowUp(
  window: string,
  executionArn: string,
  config: PurposeRunConfig,
  deps: TriggerDeps,
): Promise<WindowOutcome | undefined> {
  // Only an S3 arrival asks for a follow-up: a purpose without one has none to read.
  if (config.s3Arrival.length === 0) return undefined;
  const entry = (await readLedger(deps.ddb, config.ledgerTable, config.purpose, window, window)).get(window);
  if (!entry?.followUp || entry.execution !== executionArn || entry.status === 'RUNNING') return undefined;
  const trigger = JSON.parse(entry.followUp) as Extract<TriggerDetails, { kind: 's3' }>;
  const grid = { start: window, end: entry.windowEnd ?? window };
  const known = { runId: entry.runId, attempt: entry.attempts, executionArn: entry.execution };
  if (entry.status !== 'SUCCEEDED' && entry.attempts >= MAX_AUTOMATIC_ATTEMPTS) return { window: grid, action: 'gave-up', ...known };
  const arrival = config.s3Arrival.find((a) => (a.bucket ?? config.bucket) === trigger.bucket && trigger.key.startsWith(a.prefix));
  const input = runInput(config, grid, entry.attempts + 1, entry.status === 'SUCCEEDED', trigger, {
    settle: arrival && settleWindow(trigger.eventTime, arrival),
  });
  const status = await start(deps.sfn, config.stateMachineArn, input.runId, input);
  return {
    window: grid,
    action: status,
    runId: input.runId,
    attempt: input.attempt,
    executionArn: executionArnOf(config.stateMachineArn, input.runId),
    reason: `the follow-up for ${trigger.key}, which arrived after the run ${entry.runId} began to read`,
  };
}

/**
 * Why `window` of this purpose cannot run yet after the upstream succeeded for `upstream`: it has
 * not ended, or some of its days have no upstream success (a 1-day upstream feeding a 7-day
 * window runs the window after its seventh upstream day). Undefined when it can run.
 */
async function upstreamNotDone(
  upstream: RunWindow,
  window: RunWindow,
  today: string,
  config: PurposeRunConfig,
  deps: TriggerDeps,
): Promise<Pick<WindowOutcome, 'action' | 'reason'> | undefined> {
  if (window.end >= today) {
    return {
      action: 'not-due',
      reason: `the window ${window.start}..${window.end} has not ended (today is ${today} in ${config.timezone})`,
    };
  }
  if (window.start >= upstream.start && window.end <= upstream.end) return undefined;
  const { purpose, ledgerTable } = config.upstream!;
  const lookBack = daysIn(upstream) - 1;
  const done = new Set(daysOf(upstream));
  for (const e of (await readLedger(deps.ddb, ledgerTable, purpose, addDays(window.start, -lookBack), window.end)).values()) {
    if (e.status === 'SUCCEEDED') for (const d of daysOf({ start: e.window, end: e.windowEnd ?? e.window })) done.add(d);
  }
  const missing = daysOf(window).filter((d) => !done.has(d));
  if (missing.length === 0) return undefined;
  return {
    action: 'waiting',
    reason: `'${purpose}' has not succeeded for ${missing.join(', ')}; the window runs after its upstream's last success inside it`,
  };
}

function daysOf(window: RunWindow): string[] {
  return Array.from({ length: daysIn(window) }, (_, i) => addDays(window.start, i));
}

/**
 * A RUNNING entry whose execution has ended lost its end record (a run stopped before its
 * failure path, whose event did not arrive): it is recorded as failed now, so a new attempt may
 * claim the window.
 */
async function stillRunning(deps: TriggerDeps, config: PurposeRunConfig, entry: LedgerEntry): Promise<boolean> {
  if (!entry.execution) return true;
  let status: string;
  try {
    status = (await deps.sfn.send(new DescribeExecutionCommand({ executionArn: entry.execution }))).status ?? 'UNKNOWN';
  } catch (e) {
    if ((e as Error).name !== 'ExecutionDoesNotExist') throw e;
    status = 'LOST';
  }
  if (status === 'RUNNING' || status === 'PENDING_REDRIVE') return true;
  await recordEndedRun(deps.ddb, config.ledgerTable, {
    purpose: config.purpose,
    window: entry.window,
    executionArn: entry.execution,
    status,
    reason: `the execution ended ${status} without recording its end; found by the trigger`,
    endedAt: deps.now?.() ?? new Date(),
  });
  return false;
}

/** An execution of this purpose's own state machine that failed, timed out or was stopped. */
function runEndedEvent(event: unknown, config: PurposeRunConfig) {
  if (!isObject(event) || event.source !== 'aws.states' || !isObject(event.detail)) return undefined;
  const d = event.detail;
  if (d.stateMachineArn !== config.stateMachineArn || typeof d.executionArn !== 'string') return undefined;
  const status = typeof d.status === 'string' ? d.status : '';
  if (!['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'].includes(status)) {
    throw new RunRequestError(
      `execution event of this purpose's own state machine with status ${describe(status)}; only SUCCEEDED (for follow-ups), FAILED, TIMED_OUT and ABORTED are handled`,
    );
  }
  const input = parseJsonObject(d.input);
  // An execution started by hand with something else than a run input failed at CheckRunInput and holds no window.
  const window = input && isObject(input.window) && typeof input.window.start === 'string' ? input.window.start : undefined;
  const reasons: Record<string, string | undefined> = {
    SUCCEEDED: undefined,
    FAILED: 'the run failed before it could record its failure',
    TIMED_OUT: 'the run ran longer than its state machine timeout',
    ABORTED: 'the run was stopped',
  };
  const runInput = window && typeof input?.runId === 'string' && isObject(input.trigger) ? (input as unknown as RunInput) : undefined;
  return { window, input: runInput, executionArn: d.executionArn, status, reason: reasons[status] };
}

/** The Run Failed event of a run that timed out, was stopped, or failed before its failure path. */
async function putRunFailed(
  events: EventBridgeClient,
  config: PurposeRunConfig,
  input: RunInput,
  run: { executionArn: string; status: string; reason?: string },
): Promise<void> {
  const detail = endedRunDetail(input, {
    stateMachineArn: config.stateMachineArn,
    execution: run.executionArn,
    error: run.status,
    reason: run.reason ?? run.status,
    ...config.runEvents,
  });
  const out = await events.send(
    new PutEventsCommand({
      Entries: [{ Source: RUN_EVENT_SOURCE, DetailType: RUN_EVENT_TYPES.failed, Detail: JSON.stringify(detail), EventBusName: 'default' }],
    }),
  );
  if (out.FailedEntryCount) {
    throw new Error(
      `EventBridge refused the Run Failed event of ${input.runId}: ${out.Entries?.[0]?.ErrorCode} ${out.Entries?.[0]?.ErrorMessage}`,
    );
  }
}

/** The windows an event asks for, without reading the ledger or starting anything: for the trigger, tests and local runs. */
export function resolveRunRequest(event: unknown, config: PurposeRunConfig, now: Date): RunRequest {
  if (!isObject(event)) throw new RunRequestError(`expected an event object, got ${describe(event)}`);
  if (typeof event.source === 'string' || typeof event['detail-type'] === 'string') return fromEventBridge(event, config, now);
  if (event.trigger === 'schedule') return fromSchedule(event, config);
  if (event.trigger === undefined || event.trigger === 'manual') return resolveManualRequest(event, config, now);
  throw new RunRequestError(
    `unknown trigger ${describe(event.trigger)}; expected 'manual' or 'schedule', or an EventBridge event from aws.s3 or aws.states`,
  );
}

function automatic(trigger: TriggerDetails, window: RunWindow): RunRequest {
  return { trigger, windows: [window], force: false, automatic: true, catchUp: false };
}

function checkPurpose(event: Record<string, unknown>, config: WindowSettings): void {
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
  const last = windowJustEnded(time, config.windowDays, config.timezone);
  // The window that just ended, and before it the ones a skipped tick, an outage or a failure left undone.
  const windows = Array.from({ length: CATCH_UP_WINDOWS }, (_, i) =>
    windowStartingOn(addDays(last.start, -(CATCH_UP_WINDOWS - 1 - i) * config.windowDays), config.windowDays),
  );
  return {
    trigger: { kind: 'schedule', scheduledTime: time.toISOString(), timezone: config.timezone },
    windows,
    force: false,
    automatic: true,
    catchUp: true,
  };
}

function fromEventBridge(event: Record<string, unknown>, config: PurposeRunConfig, now: Date): RunRequest {
  const detail = isObject(event.detail) ? event.detail : {};
  if (event.source === 'aws.s3' && event['detail-type'] === 'Object Created') return fromS3(event, detail, config, now);
  if (event.source === RUN_EVENT_SOURCE && event['detail-type'] === RUN_EVENT_TYPES.succeeded) return fromUpstream(detail, config);
  throw new RunRequestError(
    `unexpected event from ${describe(event.source)} (${describe(event['detail-type'])}); ` +
      `'${config.purpose}' is started by aws.s3 Object Created and ${RUN_EVENT_SOURCE} ${RUN_EVENT_TYPES.succeeded} events only`,
  );
}

function fromS3(event: Record<string, unknown>, detail: Record<string, unknown>, config: PurposeRunConfig, now: Date): RunRequest {
  const bucket = isObject(detail.bucket) ? detail.bucket.name : undefined;
  const object = isObject(detail.object) ? detail.object : {};
  const key = object.key;
  const watchedBuckets = [...new Set(config.s3Arrival.map((a) => a.bucket ?? config.bucket))];
  if (typeof bucket !== 'string' || !watchedBuckets.includes(bucket)) {
    throw new RunRequestError(
      `S3 event from bucket ${describe(bucket)}; '${config.purpose}' watches bucket ${watchedBuckets.map((b) => `'${b}'`).join(', ') || `'${config.bucket}'`} only`,
    );
  }
  if (typeof key !== 'string' || key === '') throw new RunRequestError('S3 event without an object key');
  const watched = config.s3Arrival.find(
    (a) => (a.bucket ?? config.bucket) === bucket && key.startsWith(a.prefix) && (a.suffix === undefined || key.endsWith(a.suffix)),
  );
  if (!watched) {
    const folders = config.s3Arrival.map((a) => `${a.prefix}*${a.suffix ?? ''}`).join(', ') || 'none';
    throw new RunRequestError(`S3 object '${key}' is not under a folder that starts '${config.purpose}' (watched: ${folders})`);
  }
  const eventTime = typeof event.time === 'string' && !Number.isNaN(Date.parse(event.time)) ? event.time : undefined;
  const day =
    partitionDateOf(key.slice(watched.prefix.length)) ?? (eventTime ? localDate(new Date(eventTime), config.timezone) : undefined);
  if (!day) throw new RunRequestError(`S3 object '${key}' has no dt=YYYY-MM-DD partition and the event has no valid time`);
  const versionId = typeof object['version-id'] === 'string' ? object['version-id'] : undefined;
  const window = gridWindowOf(day, config.windowDays);
  const request: RunRequest = {
    ...automatic({ kind: 's3', bucket, key, versionId, eventTime: eventTime ?? `${day}T00:00:00Z` }, window),
    settle: settleWindow(eventTime ?? now.toISOString(), watched),
  };
  // An object of the window's last day completes it; one of an earlier day does not, until the window has ended.
  if (day < window.end && window.end >= localDate(now, config.timezone)) {
    return {
      ...request,
      notDue: `the object is of ${day}, and the window ${window.start}..${window.end} has not ended: it runs when an object of ${window.end} arrives, or at the first tick after it ends`,
    };
  }
  return request;
}

/** The upstream's completion event (lib/contract/run-events.ts): Run Succeeded, with its window. */
function fromUpstream(detail: Record<string, unknown>, config: PurposeRunConfig): RunRequest {
  if (!config.upstream || detail.stateMachineArn !== config.upstream.stateMachineArn) {
    throw new RunRequestError(
      `${RUN_EVENT_TYPES.succeeded} event of state machine ${describe(detail.stateMachineArn)}; ` +
        `'${config.purpose}' runs after ${config.upstream ? `'${config.upstream.stateMachineArn}'` : 'no other purpose'}`,
    );
  }
  if (!isObject(detail.window) || typeof detail.execution !== 'string' || typeof detail.runId !== 'string') {
    throw new RunRequestError(
      `${RUN_EVENT_TYPES.succeeded} event of ${describe(detail.execution)} has no window, execution and runId; was it put by a BatCat run (version ${RUN_EVENT_VERSION})?`,
    );
  }
  const window = checkedWindow(detail.window.start, detail.window.end, 'upstream window');
  // An upstream result that replaced a success changes this purpose's input, so it replaces this purpose's result too.
  const trigger: TriggerDetails = {
    kind: 'upstream',
    purpose: config.upstream.purpose,
    executionArn: detail.execution,
    runId: detail.runId,
  };
  // Every window of this purpose's grid that the upstream's window touches; each runs once all of its days have an upstream success.
  const windows: RunWindow[] = [];
  for (
    let w = gridWindowOf(window.start, config.windowDays);
    w.start <= window.end;
    w = windowStartingOn(addDays(w.end, 1), config.windowDays)
  ) {
    windows.push(w);
  }
  return { trigger, windows, force: detail.force === true, automatic: true, catchUp: false, upstream: window };
}

function checkedWindow(start: unknown, end: unknown, what: string): RunWindow {
  const window = { start: parseDate(start, `${what} start`), end: parseDate(end, `${what} end`) };
  if (window.end < window.start) throw new RunRequestError(`${what} ends (${window.end}) before it starts (${window.start})`);
  return window;
}

/** What deciding a manual request's windows needs of a purpose: its project file settings suffice. */
export type WindowSettings = Pick<
  PurposeRunConfig,
  'purpose' | 'windowDays' | 'maxWindowDays' | 'maxBackfillWindows' | 'timezone' | 'parameters'
>;

/** The windows a manual request (`batcat run`, `batcat run-local`) asks for; throws RunRequestError if it cannot be run. */
export function resolveManualRequest(event: Record<string, unknown>, config: WindowSettings, now: Date): RunRequest {
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
  const force = event.force === true;
  const parameters = manualParameters(event.params, config);
  const hasRange = event.from !== undefined || event.to !== undefined;
  if (event.date !== undefined && hasRange) throw new RunRequestError('give either date, or from and to, not both');
  if (hasRange && (event.from === undefined || event.to === undefined))
    throw new RunRequestError('from and to go together: give both, or use date');
  if (event.backfill === true && !hasRange) throw new RunRequestError('a backfill needs from and to');

  let window: RunWindow;
  if (hasRange) window = checkedWindow(event.from, event.to, 'window');
  else if (event.date !== undefined) window = gridWindowOf(parseDate(event.date, 'date'), config.windowDays);
  else window = windowJustEnded(now, config.windowDays, config.timezone);
  // A backfill runs every window the range touches; one run must be whole windows of the purpose's grid.
  if (event.backfill === true)
    window = { start: gridWindowOf(window.start, config.windowDays).start, end: gridWindowOf(window.end, config.windowDays).end };
  else if (hasRange) checkOnGrid(window, config);

  const today = localDate(now, config.timezone);
  if (window.end >= today) {
    throw new RunRequestError(
      `the window ${window.start}..${window.end} has not ended yet (today is ${today} in ${config.timezone}); its last day must be ${addDays(today, -1)} or earlier`,
    );
  }
  if (event.backfill === true) return { ...backfill(config, window, force), parameters };

  if (daysIn(window) > config.maxWindowDays) {
    throw new RunRequestError(
      `the window ${window.start}..${window.end} is ${daysIn(window)} days; one run of '${config.purpose}' may cover at most ${config.maxWindowDays} ` +
        `(maxWindow). To start one run per ${config.windowDays}-day window instead, ask for a backfill (batcat run --backfill)`,
    );
  }
  return { trigger: { kind: 'manual' }, windows: [window], force, automatic: false, catchUp: false, parameters };
}

/** A manual request's `params`, checked against the purpose's parameters; undefined leaves the defaults to the run input. */
function manualParameters(params: unknown, config: WindowSettings): Readonly<Record<string, string>> | undefined {
  if (params === undefined) return undefined;
  if (!isObject(params)) throw new RunRequestError(`params must be an object of parameter values, got ${describe(params)}`);
  try {
    return resolveParameters(config.purpose, config.parameters ?? {}, params);
  } catch (e) {
    if (e instanceof ParameterError) throw new RunRequestError(e.message);
    throw e;
  }
}

/** A manual range must start a window of the purpose's grid and be whole windows, or its result would overlap theirs. */
function checkOnGrid(range: RunWindow, config: WindowSettings): void {
  const first = gridWindowOf(range.start, config.windowDays);
  const last = gridWindowOf(range.end, config.windowDays);
  if (first.start !== range.start || last.end !== range.end) {
    throw new RunRequestError(
      `the window ${range.start}..${range.end} is not whole ${config.windowDays}-day windows of '${config.purpose}', whose windows start on ` +
        `${first.start}${first.start === last.start ? '' : `, ..., ${last.start}`}; ask for ${first.start}..${last.end}, so that no day is counted in two results`,
    );
  }
}

function backfill(config: WindowSettings, range: RunWindow, force: boolean): RunRequest {
  const days = daysIn(range);
  const count = days / config.windowDays;
  if (count > config.maxBackfillWindows) {
    throw new RunRequestError(
      `the backfill ${range.start}..${range.end} has ${count} windows; at most ${config.maxBackfillWindows} may be started at once, so split the range`,
    );
  }
  const windows = Array.from({ length: count }, (_, i) => windowStartingOn(addDays(range.start, i * config.windowDays), config.windowDays));
  return { trigger: { kind: 'manual', backfill: range }, windows, force, automatic: false, catchUp: false, backfill: range };
}

/** Starts an execution; a name that exists means this very attempt was started before. */
async function start(sfn: SFNClient, stateMachineArn: string, name: string, input: unknown): Promise<'started' | 'already-started'> {
  try {
    await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    return 'started';
  } catch (e) {
    if ((e as Error).name === 'ExecutionAlreadyExists') return 'already-started';
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

/**
 * The run input of attempt `attempt` at the window `request` is about (a schedule tick's own
 * window, not its catch-up candidates), without the ledger: for local runs and tests.
 */
export function singleRunInput(request: RunRequest, config: PurposeRunConfig, attempt = 1): RunInput {
  if (request.backfill || (!request.catchUp && request.windows.length !== 1)) {
    throw new RunRequestError('one window at a time: a backfill starts one run per window');
  }
  return runInput(config, request.windows[request.windows.length - 1], attempt, request.force, request.trigger, {
    settle: request.settle,
    parameters: request.parameters,
  });
}
