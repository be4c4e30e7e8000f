import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { addDays } from '../../lib/contract/dates';
import { RunRequestError, type PurposeRunConfig } from '../../lib/contract/run-input';
import { startRuns, type BackfillInput, type TriggerResult } from '../../lib/runtime/trigger';
import { motoUnavailable, startMotoServer, type MotoServer } from '../moto-server';

/*
 * The trigger's logic for every kind of event, with Step Functions mocked and the run ledger in
 * moto's DynamoDB. The state machine's side of the same inputs and of the ledger is checked in
 * test/constructs/purpose-execution.test.ts.
 */

const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:batcat-demo-dev-usage-analysis';
const BACKFILL_SM = `${SM}-backfill`;
const UPSTREAM_SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:batcat-demo-dev-cleaning';
const NOW = new Date('2026-11-23T09:30:00Z');
const execution = (name: string) => `${SM.replace(':stateMachine:', ':execution:')}:${name}`;

const BASE: Omit<PurposeRunConfig, 'ledgerTable'> = {
  purpose: 'usage-analysis',
  stateMachineArn: SM,
  backfillStateMachineArn: BACKFILL_SM,
  bucket: 'demo-data',
  windowDays: 1,
  maxWindowDays: 7,
  maxBackfillWindows: 40,
  timezone: 'Europe/Berlin',
  inputs: [{ name: 'usage', uri: 's3://demo-data/raw/usage/', partitioned: true }],
  outputs: [{ name: 'summary', uri: 's3://demo-data/results/usage-analysis/summary/' }],
  s3Arrival: [{ input: 'usage', prefix: 'raw/usage/', suffix: '.csv' }],
  upstream: { purpose: 'cleaning', stateMachineArn: UPSTREAM_SM, ledgerTable: 'set per test' },
};

const unavailable = motoUnavailable();
if (unavailable) console.warn(`test/runtime/trigger.test.ts is skipped: ${unavailable}`);
const suite = unavailable ? describe.skip : describe;

let server: MotoServer;
let ddb: DynamoDBClient;
let CONFIG: PurposeRunConfig;
beforeAll(async () => {
  if (unavailable) return;
  server = await startMotoServer();
  ddb = server.client();
}, 60_000);
afterAll(async () => server?.stop());

const sfn = mockClient(SFNClient);
const client = new SFNClient({ region: 'eu-west-1' });
const eventBridge = mockClient(EventBridgeClient);
const eventsClient = new EventBridgeClient({ region: 'eu-west-1' });
beforeEach(() => {
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
});
/** Executions the mock knows, by ARN: what DescribeExecution answers. */
const executions = new Map<string, string>();
beforeEach(async () => {
  if (unavailable) return;
  // One ledger for the stage, as a project has: the upstream purpose records its windows in it too.
  const table = await server.createLedger();
  CONFIG = { ...BASE, ledgerTable: table, upstream: { ...BASE.upstream!, ledgerTable: table } };
  sfn.reset();
  executions.clear();
  sfn.on(StartExecutionCommand).callsFake((input) => {
    const arn = `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name}`;
    if (executions.has(arn)) throw new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} });
    executions.set(arn, 'RUNNING');
    return { executionArn: arn, startDate: NOW };
  });
  sfn.on(DescribeExecutionCommand).callsFake(({ executionArn }) => {
    const status = executions.get(executionArn);
    if (!status) throw Object.assign(new Error('does not exist'), { name: 'ExecutionDoesNotExist' });
    return { executionArn, status };
  });
});

const trigger = (event: unknown, config: Partial<PurposeRunConfig> = {}, now = NOW) =>
  startRuns(event, { ...CONFIG, ...config }, { sfn: client, ddb, events: eventsClient, now: () => now });
const starts = () =>
  sfn.commandCalls(StartExecutionCommand).map((c) => ({ ...c.args[0].input, input: JSON.parse(c.args[0].input.input!) }));
/** The run ids a result started, directly or through its backfill. */
const startedIds = (r: TriggerResult) => r.windows.filter((w) => w.action === 'started').map((w) => w.runId);

/** Writes a ledger item as the state machine would have left it. */
async function record(window: string, status: 'RUNNING' | 'SUCCEEDED' | 'FAILED', attempts = 1, config = CONFIG): Promise<string> {
  const runId = `${config.purpose}-${window.replace(/-/g, '')}-a${attempts}`;
  await server.putItem(config.ledgerTable, { purpose: config.purpose, window, status, attempts, execution: execution(runId), runId });
  return runId;
}

/** Ends every run started so far as its state machine would: SUCCEEDED (or FAILED for the windows in `failing`). */
async function finishStartedRuns(failing: readonly string[] = []): Promise<void> {
  for (const start of starts()) {
    const runs = start.stateMachineArn === BACKFILL_SM ? (start.input as BackfillInput).runs.map((r) => r.input) : [start.input];
    for (const run of runs) {
      const status = failing.includes(run.window.start) ? 'FAILED' : 'SUCCEEDED';
      await record(run.window.start, status, run.attempt);
      executions.set(execution(run.runId), status);
    }
  }
  sfn.resetHistory();
}

const schedule = (scheduledTime: string) => ({ trigger: 'schedule', purpose: 'usage-analysis', scheduledTime });
const s3Event = (key: string, versionId = 'v1', time = '2026-11-21T03:04:05Z', bucket = 'demo-data') => ({
  version: '0',
  id: 'e-1',
  source: 'aws.s3',
  'detail-type': 'Object Created',
  time: time,
  region: 'eu-west-1',
  detail: { version: '0', bucket: { name: bucket }, object: { key, size: 10, 'version-id': versionId }, reason: 'PutObject' },
});
/** The upstream's completion event (lib/contract/run-events.ts), as its state machine puts it. */
const upstreamEvent = (overrides: Record<string, unknown> = {}, detailType = 'Run Succeeded') => ({
  source: 'batcat',
  'detail-type': detailType,
  detail: {
    version: 1,
    purpose: 'cleaning',
    stateMachineArn: UPSTREAM_SM,
    runId: 'cleaning-20261122-a1',
    execution: `${UPSTREAM_SM.replace(':stateMachine:', ':execution:')}:cleaning-20261122-a1`,
    window: { start: '2026-11-22', end: '2026-11-22', endExclusive: '2026-11-23' },
    trigger: 'schedule',
    attempt: 1,
    force: false,
    outputs: {},
    status: 'SUCCEEDED',
    ...overrides,
  },
});

suite('every trigger becomes a run input of a window and an attempt', () => {
  test("a schedule tick runs the day that just ended in the schedule's time zone", async () => {
    // 23:30 UTC on the 22nd is already the 23rd in Berlin, so the day that ended is the 22nd.
    const result = await trigger(schedule('2026-11-22T23:30:00Z'));
    expect(result).toEqual({
      purpose: 'usage-analysis',
      trigger: 'schedule',
      windows: [
        {
          window: { start: '2026-11-22', end: '2026-11-22' },
          action: 'started',
          runId: 'usage-analysis-20261122-a1',
          attempt: 1,
          executionArn: execution('usage-analysis-20261122-a1'),
        },
      ],
    });
    expect(starts()).toEqual([
      {
        stateMachineArn: SM,
        name: 'usage-analysis-20261122-a1',
        input: {
          version: 1,
          runId: 'usage-analysis-20261122-a1',
          purpose: 'usage-analysis',
          window: { start: '2026-11-22', end: '2026-11-22', endExclusive: '2026-11-23' },
          timezone: 'Europe/Berlin',
          attempt: 1,
          force: false,
          trigger: { kind: 'schedule', scheduledTime: '2026-11-22T23:30:00.000Z', timezone: 'Europe/Berlin' },
          inputs: { usage: 's3://demo-data/raw/usage/dt=2026-11-22/' },
          outputs: { summary: 's3://demo-data/results/usage-analysis/summary/dt=2026-11-22/' },
        },
      },
    ]);
  });

  test('a weekly window covers the seven days before the tick', async () => {
    const result = await trigger(schedule('2026-11-23T01:00:00Z'), { windowDays: 7, inputs: [] });
    expect(result.windows).toEqual([
      expect.objectContaining({ runId: 'usage-analysis-20261116-20261122-a1', window: { start: '2026-11-16', end: '2026-11-22' } }),
    ]);
    expect(starts()[0].input.window).toEqual({ start: '2026-11-16', end: '2026-11-22', endExclusive: '2026-11-23' });
    expect(starts()[0].input.outputs).toEqual({ summary: 's3://demo-data/results/usage-analysis/summary/dt=2026-11-16/' });
  });

  test("an S3 arrival runs the object's dt= partition", async () => {
    const result = await trigger(s3Event('raw/usage/dt=2026-11-20/part-0001.csv'));
    expect(startedIds(result)).toEqual(['usage-analysis-20261120-a1']);
    expect(starts()[0].input).toMatchObject({
      window: { start: '2026-11-20', end: '2026-11-20' },
      trigger: {
        kind: 's3',
        bucket: 'demo-data',
        key: 'raw/usage/dt=2026-11-20/part-0001.csv',
        versionId: 'v1',
        eventTime: '2026-11-21T03:04:05Z',
      },
      inputs: { usage: 's3://demo-data/raw/usage/dt=2026-11-20/' },
    });
  });

  test("with per-purpose storage, an arrival in another purpose's bucket that holds the input runs too, and a same key in its own bucket does not", async () => {
    const config: Partial<PurposeRunConfig> = {
      inputs: [{ name: 'usage', uri: 's3://ingest-data/raw/usage/', partitioned: true }],
      s3Arrival: [{ input: 'usage', prefix: 'raw/usage/', suffix: '.csv', bucket: 'ingest-data' }],
    };
    const result = await trigger(s3Event('raw/usage/dt=2026-11-20/a.csv', 'v1', '2026-11-21T03:04:05Z', 'ingest-data'), config);
    expect(startedIds(result)).toEqual(['usage-analysis-20261120-a1']);
    expect(starts()[0].input).toMatchObject({
      trigger: { kind: 's3', bucket: 'ingest-data', key: 'raw/usage/dt=2026-11-20/a.csv' },
      inputs: { usage: 's3://ingest-data/raw/usage/dt=2026-11-20/' },
      outputs: { summary: 's3://demo-data/results/usage-analysis/summary/dt=2026-11-20/' },
    });
    const own = await trigger(s3Event('raw/usage/dt=2026-11-21/a.csv'), config).then(
      () => undefined,
      (e) => e,
    );
    expect(own).toBeInstanceOf(RunRequestError);
    expect(own.message).toMatch(/bucket "demo-data"; 'usage-analysis' watches bucket 'ingest-data' only/);
    expect(starts()).toHaveLength(1);
  });

  test("an S3 arrival without a partition in its key runs the day of the event in the purpose's time zone", async () => {
    const result = await trigger(s3Event('raw/usage/fleet.csv', 'v1', '2026-11-21T23:59:59Z'));
    // 23:59 UTC is 00:59 the next day in Berlin.
    expect(result.windows[0].window).toEqual({ start: '2026-11-22', end: '2026-11-22' });
  });

  test('a manual run takes the given day, or the window that ended yesterday', async () => {
    expect(startedIds(await trigger({ purpose: 'usage-analysis', date: '2026-11-01' }))).toEqual(['usage-analysis-20261101-a1']);
    expect(startedIds(await trigger({ trigger: 'manual', purpose: 'usage-analysis' }))).toEqual(['usage-analysis-20261122-a1']);
    expect((await trigger({ purpose: 'usage-analysis', from: '2026-11-02', to: '2026-11-07' })).windows).toEqual([
      expect.objectContaining({ runId: 'usage-analysis-20261102-20261107-a1', window: { start: '2026-11-02', end: '2026-11-07' } }),
    ]);
    expect(starts()[0].input.trigger).toEqual({ kind: 'manual' });
  });

  test('an upstream success runs the same window; a forced upstream run replaces the downstream result too', async () => {
    const result = await trigger(upstreamEvent());
    expect(startedIds(result)).toEqual(['usage-analysis-20261122-a1']);
    expect(starts()[0].input).toMatchObject({
      window: { start: '2026-11-22', end: '2026-11-22' },
      force: false,
      trigger: { kind: 'upstream', purpose: 'cleaning', runId: 'cleaning-20261122-a1' },
    });
    await finishStartedRuns();
    // The same upstream result again (a redelivery, or another trigger of the upstream) finds the window done.
    expect((await trigger(upstreamEvent())).windows[0].action).toBe('succeeded');
    const forcedUpstream = upstreamEvent({
      runId: 'cleaning-20261122-a2',
      force: true,
      window: { start: '2026-11-22', end: '2026-11-22' },
    });
    expect(startedIds(await trigger(forcedUpstream))).toEqual(['usage-analysis-20261122-a2']);
    expect(starts()[0].input.force).toBe(true);
  });
});

suite('each window runs to success once (problems 1, 2 and 5 of the ledger issue)', () => {
  test('two triggers of one window at once start one execution: the name is the window and the attempt', async () => {
    const [a, b] = await Promise.all([trigger(schedule('2026-11-23T01:00:00Z')), trigger(s3Event('raw/usage/dt=2026-11-22/a.csv'))]);
    expect([a.windows[0].action, b.windows[0].action].sort()).toEqual(['already-started', 'started']);
    expect(new Set(starts().map((s) => s.name))).toEqual(new Set(['usage-analysis-20261122-a1']));
    expect(executions.size).toBe(1);
  });

  test('a window that succeeded is not run again, by any trigger, unless forced', async () => {
    await record('2026-11-22', 'SUCCEEDED');
    for (const event of [
      schedule('2026-11-23T01:00:00Z'),
      s3Event('raw/usage/dt=2026-11-22/late.csv'),
      upstreamEvent(),
      { purpose: 'usage-analysis' },
    ]) {
      const result = await trigger(event);
      expect(result.windows.at(-1)).toEqual(
        expect.objectContaining({
          action: 'succeeded',
          runId: 'usage-analysis-20261122-a1',
          window: { start: '2026-11-22', end: '2026-11-22' },
        }),
      );
    }
    expect(starts()).toEqual([]);
    const forced = await trigger({ purpose: 'usage-analysis', date: '2026-11-22', force: true });
    expect(startedIds(forced)).toEqual(['usage-analysis-20261122-a2']);
    expect(starts()[0].input).toMatchObject({ attempt: 2, force: true });
  });

  test('a failed day is rerun by the next tick as a new attempt with a new name', async () => {
    await record('2026-11-21', 'SUCCEEDED');
    await record('2026-11-22', 'FAILED');
    const result = await trigger(schedule('2026-11-24T01:00:00Z'));
    expect(starts()).toHaveLength(1);
    const [backfill] = starts();
    expect(backfill.stateMachineArn).toBe(BACKFILL_SM);
    expect((backfill.input as BackfillInput).runs.map((r) => r.name)).toEqual(['usage-analysis-20261122-a2', 'usage-analysis-20261123-a1']);
    expect(result.windows.map((w) => [w.window.start, w.action])).toEqual([
      ['2026-11-21', 'succeeded'],
      ['2026-11-22', 'started'],
      ['2026-11-23', 'started'],
    ]);
  });

  test('a running window is left alone; one whose execution ended unrecorded is recorded as failed and run again', async () => {
    const running = await record('2026-11-22', 'RUNNING');
    executions.set(execution(running), 'RUNNING');
    expect((await trigger({ purpose: 'usage-analysis', date: '2026-11-22' })).windows[0]).toMatchObject({
      action: 'running',
      runId: running,
    });
    executions.set(execution(running), 'TIMED_OUT');
    expect(startedIds(await trigger({ purpose: 'usage-analysis', date: '2026-11-22' }))).toEqual(['usage-analysis-20261122-a2']);
    expect(await server.items(CONFIG.ledgerTable, 'usage-analysis')).toEqual([
      expect.objectContaining({ window: '2026-11-22', status: 'FAILED', error: 'TIMED_OUT', attempts: 1 }),
    ]);
  });

  test(`automatic triggers give up on a window after 3 failed attempts; a manual run still starts one`, async () => {
    await record('2026-11-22', 'FAILED', 3);
    expect((await trigger(schedule('2026-11-23T01:00:00Z'))).windows[0].action).toBe('gave-up');
    expect((await trigger(s3Event('raw/usage/dt=2026-11-22/a.csv'))).windows[0].action).toBe('gave-up');
    expect(startedIds(await trigger({ purpose: 'usage-analysis', date: '2026-11-22' }))).toEqual(['usage-analysis-20261122-a4']);
  });

  test('other Step Functions errors are not swallowed', async () => {
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(trigger(schedule('2026-11-23T01:00:00Z'))).rejects.toThrow('Rate exceeded');
  });
});

suite('catch-up: each tick starts every window since the last success that is due (problem 3)', () => {
  test('a new purpose runs only the window that just ended; one with history catches up on missed days, oldest first', async () => {
    expect(startedIds(await trigger(schedule('2026-11-23T01:00:00Z')))).toEqual(['usage-analysis-20261122-a1']);
    await finishStartedRuns();
    // Ticks of the 24th to the 26th were lost (an outage, a disabled schedule).
    const result = await trigger(schedule('2026-11-27T01:00:00Z'));
    expect(startedIds(result)).toEqual([
      'usage-analysis-20261123-a1',
      'usage-analysis-20261124-a1',
      'usage-analysis-20261125-a1',
      'usage-analysis-20261126-a1',
    ]);
    expect(result.backfill).toMatchObject({
      status: 'started',
      name: expect.stringMatching(/^usage-analysis-backfill-20261123-20261126-[0-9a-f]{8}$/),
    });
  });

  test('without a backfill machine, catch-up starts each missed window on its own, and a requested range is refused', async () => {
    const without = { backfillStateMachineArn: undefined };
    expect(startedIds(await trigger(schedule('2026-11-23T01:00:00Z'), without))).toEqual(['usage-analysis-20261122-a1']);
    await finishStartedRuns();
    const result = await trigger(schedule('2026-11-26T01:00:00Z'), without);
    expect(startedIds(result)).toEqual(['usage-analysis-20261123-a1', 'usage-analysis-20261124-a1', 'usage-analysis-20261125-a1']);
    expect(result.backfill).toBeUndefined();
    expect(starts().map((s) => [s.stateMachineArn, s.name])).toEqual([
      [SM, 'usage-analysis-20261123-a1'],
      [SM, 'usage-analysis-20261124-a1'],
      [SM, 'usage-analysis-20261125-a1'],
    ]);
    await expect(trigger({ purpose: 'usage-analysis', from: '2026-11-01', to: '2026-11-05', backfill: true }, without)).rejects.toThrow(
      'purpose usage-analysis has no backfill machine (its Purpose was built with backfill: false); run its windows one at a time',
    );
  });

  test(`catch-up looks back at most 7 windows`, async () => {
    await record('2026-10-01', 'SUCCEEDED');
    const result = await trigger(schedule('2026-11-23T01:00:00Z'));
    expect(result.windows.map((w) => w.window.start)).toEqual(Array.from({ length: 7 }, (_, i) => addDays('2026-11-16', i)));
  });

  test.each([
    [
      'cron(0 2 * * ? *) in Europe/Berlin, whose 02:00 does not exist on 2026-03-29',
      (day: string) => (day === '2026-03-29' ? [] : [`${day}T01:00:00Z`]),
    ],
    // 22:30 UTC is 23:30 in Berlin in winter and 00:30 the next day in summer.
    ['rate(1 day) at 22:30 UTC', (day: string) => [`${day}T22:30:00Z`]],
  ])('%s produces every day exactly once through both DST changes', async (_what, ticksOf) => {
    // The weeks around both changes of 2026: summer time starts on 03-29 and ends on 10-25.
    const around = (first: string) => Array.from({ length: 16 }, (_, i) => addDays(first, i));
    const days = [...around('2026-03-21'), ...around('2026-10-17')];
    await record('2026-03-20', 'SUCCEEDED');
    await record('2026-10-16', 'SUCCEEDED');
    const produced = new Map<string, number>();
    for (const day of days) {
      for (const tick of ticksOf(day)) {
        await trigger(schedule(tick), {}, new Date(tick));
        for (const s of starts()) {
          const runs = s.stateMachineArn === BACKFILL_SM ? (s.input as BackfillInput).runs.map((r) => r.input) : [s.input];
          for (const r of runs) produced.set(r.window.start, (produced.get(r.window.start) ?? 0) + 1);
        }
        await finishStartedRuns();
      }
    }
    // Each run covers the day before its tick, so the last day of each stretch is run by the tick after it.
    const expected = days.filter((d) => d !== '2026-04-05' && d !== '2026-11-01');
    const missing = expected.filter((d) => !produced.has(d));
    const twice = [...produced].filter(([, n]) => n > 1);
    expect({ missing, twice }).toEqual({ missing: [], twice: [] });
  });
});

suite('backfill: missing and failed windows by default (problem 2)', () => {
  test('starts one backfill execution with one run per window', async () => {
    const result = await trigger({ purpose: 'usage-analysis', from: '2026-10-01', to: '2026-10-30', backfill: true });
    expect(result.backfill).toMatchObject({
      status: 'started',
      executionArn: expect.stringContaining(
        ':execution:batcat-demo-dev-usage-analysis-backfill:usage-analysis-backfill-20261001-20261030-',
      ),
    });
    expect(result.windows).toHaveLength(30);
    const [start] = starts();
    expect(start.stateMachineArn).toBe(BACKFILL_SM);
    const input = start.input as BackfillInput;
    expect(input.runs.map((r) => r.name)).toEqual(
      Array.from({ length: 30 }, (_, i) => `usage-analysis-202610${String(i + 1).padStart(2, '0')}-a1`),
    );
    expect(input.runs[4].input).toEqual({
      version: 1,
      runId: 'usage-analysis-20261005-a1',
      purpose: 'usage-analysis',
      window: { start: '2026-10-05', end: '2026-10-05', endExclusive: '2026-10-06' },
      timezone: 'Europe/Berlin',
      attempt: 1,
      force: false,
      trigger: { kind: 'manual', backfill: { start: '2026-10-01', end: '2026-10-30' } },
      inputs: { usage: 's3://demo-data/raw/usage/dt=2026-10-05/' },
      outputs: { summary: 's3://demo-data/results/usage-analysis/summary/dt=2026-10-05/' },
    });
  });

  test('a backfill over a failed day reruns only it; asked again, it starts nothing; forced, it reruns every window', async () => {
    const request = { purpose: 'usage-analysis', from: '2026-11-01', to: '2026-11-05', backfill: true };
    await trigger(request);
    await finishStartedRuns(['2026-11-03']);
    const again = await trigger(request);
    expect(again.windows.map((w) => w.action)).toEqual(['succeeded', 'succeeded', 'started', 'succeeded', 'succeeded']);
    // One window to run still goes through the backfill, which reports its outcome.
    expect((starts()[0].input as BackfillInput).runs.map((r) => r.name)).toEqual(['usage-analysis-20261103-a2']);
    await finishStartedRuns();
    const done = await trigger(request);
    expect(done.windows.every((w) => w.action === 'succeeded')).toBe(true);
    expect(done.backfill).toBeUndefined();
    expect(starts()).toEqual([]);
    const forced = await trigger({ ...request, force: true });
    expect((starts()[0].input as BackfillInput).runs.map((r) => r.name)).toEqual([
      'usage-analysis-20261101-a2',
      'usage-analysis-20261102-a2',
      'usage-analysis-20261103-a3',
      'usage-analysis-20261104-a2',
      'usage-analysis-20261105-a2',
    ]);
    expect(forced.backfill!.name).not.toBe(again.backfill!.name);
  });

  test('the same backfill asked twice before it ran is one execution', async () => {
    const request = { purpose: 'usage-analysis', from: '2026-11-01', to: '2026-11-03', backfill: true };
    const first = await trigger(request);
    const second = await trigger(request);
    expect(first.backfill!.status).toBe('started');
    expect(second.backfill).toEqual({ ...first.backfill, status: 'already-started' });
  });

  test("splits the range into windows of the purpose's length", async () => {
    const result = await trigger(
      { purpose: 'usage-analysis', from: '2026-10-26', to: '2026-11-22', backfill: true },
      { windowDays: 7, inputs: [] },
    );
    expect(result.windows.map((r) => r.window)).toEqual([
      { start: '2026-10-26', end: '2026-11-01' },
      { start: '2026-11-02', end: '2026-11-08' },
      { start: '2026-11-09', end: '2026-11-15' },
      { start: '2026-11-16', end: '2026-11-22' },
    ]);
  });

  test('runs every window the range touches, and is refused when it has more windows than allowed', async () => {
    const weekly = await trigger(
      { purpose: 'usage-analysis', from: '2026-10-28', to: '2026-11-18', backfill: true },
      { windowDays: 7, inputs: [] },
    );
    expect(weekly.windows.map((w) => w.window.start)).toEqual(['2026-10-26', '2026-11-02', '2026-11-09', '2026-11-16']);
    sfn.resetHistory();
    await expect(trigger({ purpose: 'usage-analysis', from: '2026-09-01', to: '2026-11-01', backfill: true })).rejects.toThrow(
      /has 62 windows; at most 40 may be started at once, so split the range/,
    );
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });
});

suite('aligned windows: every trigger maps its event onto one calendar grid (problems 4 and 5)', () => {
  const weekly: Partial<PurposeRunConfig> = { windowDays: 7, maxWindowDays: 7, inputs: [] };

  test('a manual date is the grid window that holds it; a range that is not whole windows is refused', async () => {
    expect((await trigger({ purpose: 'usage-analysis', date: '2026-11-11' }, weekly)).windows[0].window).toEqual({
      start: '2026-11-09',
      end: '2026-11-15',
    });
    await expect(trigger({ purpose: 'usage-analysis', from: '2026-11-11', to: '2026-11-17' }, weekly)).rejects.toThrow(
      "the window 2026-11-11..2026-11-17 is not whole 7-day windows of 'usage-analysis', whose windows start on 2026-11-09, ..., 2026-11-16; ask for 2026-11-09..2026-11-22",
    );
  });

  test("an S3 object of a weekly window's earlier day waits until the window ends or its last day arrives", async () => {
    const midWeek = await trigger(s3Event('raw/usage/dt=2026-11-18/a.csv'), weekly, new Date('2026-11-19T09:00:00Z'));
    expect(midWeek.windows).toEqual([
      {
        window: { start: '2026-11-16', end: '2026-11-22' },
        action: 'not-due',
        reason: expect.stringContaining('it runs when an object of 2026-11-22 arrives, or at the first tick after it ends'),
      },
    ]);
    expect(starts()).toEqual([]);
    const lastDay = await trigger(s3Event('raw/usage/dt=2026-11-22/a.csv'), weekly, new Date('2026-11-22T20:00:00Z'));
    expect(startedIds(lastDay)).toEqual(['usage-analysis-20261116-20261122-a1']);
    // A late object of a window that has ended asks for it too: here it finds the attempt the last day's object started.
    const late = await trigger(s3Event('raw/usage/dt=2026-11-18/b.csv'), weekly, new Date('2026-11-24T09:00:00Z'));
    expect(late.windows[0]).toMatchObject({ action: 'already-started', runId: 'usage-analysis-20261116-20261122-a1' });
  });

  test('a 7-day upstream window starts the seven daily windows of a downstream that reads one dt= folder per run', async () => {
    const event = upstreamEvent({ runId: 'cleaning-20261116-20261122-a1', window: { start: '2026-11-16', end: '2026-11-22' } });
    const result = await trigger(event);
    expect(result.windows.map((w) => [w.window.start, w.window.end, w.action])).toEqual(
      Array.from({ length: 7 }, (_, i) => [addDays('2026-11-16', i), addDays('2026-11-16', i), 'started']),
    );
    const runs = (starts()[0].input as BackfillInput).runs.map((r) => r.input);
    expect(runs.map((r) => r.inputs.usage)).toEqual(
      Array.from({ length: 7 }, (_, i) => `s3://demo-data/raw/usage/dt=${addDays('2026-11-16', i)}/`),
    );
  });

  test('daily upstream runs start a weekly downstream window once all seven of its days succeeded upstream', async () => {
    const upstream = { ...CONFIG, purpose: 'cleaning' };
    const sunday = upstreamEvent({ runId: 'cleaning-20261122-a1', window: { start: '2026-11-22', end: '2026-11-22' } });
    for (const day of ['2026-11-16', '2026-11-17', '2026-11-19', '2026-11-20', '2026-11-21']) await record(day, 'SUCCEEDED', 1, upstream);
    const waiting = await trigger(sunday, weekly);
    expect(waiting.windows).toEqual([
      {
        window: { start: '2026-11-16', end: '2026-11-22' },
        action: 'waiting',
        reason: "'cleaning' has not succeeded for 2026-11-18; the window runs after its upstream's last success inside it",
      },
    ]);
    // The upstream runs of Sunday (the event above) and, in a second attempt, of Wednesday succeed.
    await record('2026-11-22', 'SUCCEEDED', 1, upstream);
    await record('2026-11-18', 'SUCCEEDED', 2, upstream);
    const late = upstreamEvent({ runId: 'cleaning-20261118-a2', window: { start: '2026-11-18', end: '2026-11-18' } });
    expect(startedIds(await trigger(late, weekly))).toEqual(['usage-analysis-20261116-20261122-a1']);
    // A Wednesday's upstream success in a week that has not ended starts nothing yet.
    const midWeek = await trigger(late, weekly, new Date('2026-11-19T09:00:00Z'));
    expect(midWeek.windows[0]).toMatchObject({ action: 'not-due' });
  });
});

suite('runs that end without their failure path are recorded by the trigger (problem 6)', () => {
  const ended = (status: string, runId: string) => ({
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    detail: {
      status,
      stateMachineArn: SM,
      executionArn: execution(runId),
      input: JSON.stringify({
        version: 1,
        runId,
        purpose: 'usage-analysis',
        window: { start: '2026-11-22', end: '2026-11-22', endExclusive: '2026-11-23' },
        attempt: 1,
        force: false,
        trigger: { kind: 'schedule' },
        outputs: { summary: 's3://demo-data/results/usage-analysis/summary/dt=2026-11-22/' },
      }),
    },
  });

  test.each(['TIMED_OUT', 'ABORTED', 'FAILED'])(
    '%s marks the running attempt failed, so the next trigger starts a new one, and puts its Run Failed event',
    async (status) => {
      const runId = await record('2026-11-22', 'RUNNING');
      expect(await trigger(ended(status, runId))).toEqual({ purpose: 'usage-analysis', trigger: 'run-ended', windows: [], recorded: true });
      expect(await server.items(CONFIG.ledgerTable, 'usage-analysis')).toEqual([
        expect.objectContaining({ status: 'FAILED', error: status, endedAt: NOW.toISOString() }),
      ]);
      const entries = eventBridge.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []);
      expect(entries.map((e) => [e.Source, e.DetailType, e.EventBusName])).toEqual([['batcat', 'Run Failed', 'default']]);
      expect(JSON.parse(entries[0].Detail!)).toEqual({
        version: 1,
        purpose: 'usage-analysis',
        stateMachineArn: SM,
        runId,
        execution: execution(runId),
        window: { start: '2026-11-22', end: '2026-11-22', endExclusive: '2026-11-23' },
        trigger: 'schedule',
        attempt: 1,
        force: false,
        outputs: { summary: 's3://demo-data/results/usage-analysis/summary/dt=2026-11-22/' },
        status: 'FAILED',
        error: status,
        reason: expect.any(String),
      });
    },
  );

  test('a purpose without S3 arrival starts no follow-up when a run ends, whatever its ledger item holds', async () => {
    // A follow-up recorded while the purpose still had its S3 trigger, which has since been removed.
    const runId = 'usage-analysis-20261122-a1';
    await server.putItem(CONFIG.ledgerTable, {
      purpose: 'usage-analysis',
      window: '2026-11-22',
      status: 'FAILED',
      attempts: 1,
      execution: execution(runId),
      runId,
      followUp: JSON.stringify({
        kind: 's3',
        bucket: 'demo-data',
        key: 'raw/usage/dt=2026-11-22/late.csv',
        eventTime: '2026-11-22T20:00:00Z',
      }),
    });
    const r = await trigger(ended('FAILED', runId), { s3Arrival: [] });
    expect(r.windows).toEqual([]);
    expect(starts()).toEqual([]);
  });

  test('an execution that was not a run (no window in its input) is nothing to record, and no error', async () => {
    const event = ended('FAILED', 'console-test');
    event.detail.input = '{"hello":"world"}';
    expect(await trigger(event)).toMatchObject({ trigger: 'run-ended', recorded: false });
  });

  test('an event of an older attempt, or of a run that recorded its own end, changes nothing and puts no event', async () => {
    await record('2026-11-22', 'RUNNING', 2);
    expect((await trigger(ended('ABORTED', 'usage-analysis-20261122-a1'))).recorded).toBe(false);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
    await record('2026-11-21', 'SUCCEEDED');
    expect(await server.items(CONFIG.ledgerTable, 'usage-analysis')).toEqual([
      expect.objectContaining({ window: '2026-11-21', status: 'SUCCEEDED' }),
      expect.objectContaining({ window: '2026-11-22', status: 'RUNNING', attempts: 2 }),
    ]);
  });
});

suite('bad input gets a clear error and starts nothing', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    [
      'an unknown purpose',
      { purpose: 'forecast', date: '2026-11-01' },
      /unknown purpose "forecast": this trigger starts runs of 'usage-analysis' only/,
    ],
    [
      'a malformed date',
      { purpose: 'usage-analysis', date: '2026-11-31' },
      /date must be a calendar date written YYYY-MM-DD, got "2026-11-31"/,
    ],
    ['a date that is not a string', { purpose: 'usage-analysis', date: 20261101 }, /date must be a calendar date/],
    [
      'an end before the start',
      { purpose: 'usage-analysis', from: '2026-11-10', to: '2026-11-01' },
      /window ends \(2026-11-01\) before it starts \(2026-11-10\)/,
    ],
    [
      'a window longer than the purpose allows',
      { purpose: 'usage-analysis', from: '2026-10-01', to: '2026-10-30' },
      /is 30 days; one run of 'usage-analysis' may cover at most 7 .*--backfill/,
    ],
    [
      'a window that has not ended',
      { purpose: 'usage-analysis', date: '2026-11-23' },
      /has not ended yet \(today is 2026-11-23 in Europe\/Berlin\)/,
    ],
    ['only one end of a range', { purpose: 'usage-analysis', from: '2026-11-01' }, /from and to go together/],
    [
      'both a date and a range',
      { purpose: 'usage-analysis', date: '2026-11-01', from: '2026-11-01', to: '2026-11-02' },
      /either date, or from and to/,
    ],
    ['an unknown field', { purpose: 'usage-analysis', dates: '2026-11-01' }, /unknown field 'dates' in a manual request/],
    ['a non-boolean flag', { purpose: 'usage-analysis', force: 'yes' }, /force must be true or false/],
    ['a backfill without a range', { purpose: 'usage-analysis', backfill: true }, /a backfill needs from and to/],
    [
      'an event from an unexpected source',
      { source: 'aws.ec2', 'detail-type': 'EC2 Instance State-change Notification', detail: {} },
      /unexpected event from "aws.ec2"/,
    ],
    [
      'an S3 event from another bucket',
      s3Event('raw/usage/dt=2026-11-20/a.csv', 'v1', '2026-11-21T00:00:00Z', 'other-bucket'),
      /bucket "other-bucket"; 'usage-analysis' watches bucket 'demo-data' only/,
    ],
    [
      'an S3 object outside the watched folders',
      s3Event('raw/other/a.csv'),
      /'raw\/other\/a.csv' is not under a folder that starts 'usage-analysis' \(watched: raw\/usage\/\*\.csv\)/,
    ],
    ['an S3 object with the wrong suffix', s3Event('raw/usage/a.json'), /not under a folder that starts/],
    [
      'a success of another state machine',
      upstreamEvent({ stateMachineArn: `${UPSTREAM_SM}-other` }),
      /runs after 'arn:aws:states:eu-west-1:123456789012:stateMachine:batcat-demo-dev-cleaning'/,
    ],
    ['an upstream failure', upstreamEvent({ status: 'FAILED' }, 'Run Failed'), /unexpected event from "batcat" \("Run Failed"\)/],
    [
      'an upstream event without a window',
      upstreamEvent({ window: undefined }),
      /Run Succeeded event of "arn:.*cle\.\.\. has no window, execution and runId; was it put by a BatCat run \(version 1\)\?/,
    ],
    [
      'a schedule tick without a time',
      { trigger: 'schedule', purpose: 'usage-analysis', scheduledTime: 'soon' },
      /scheduledTime must be an ISO 8601 time, got "soon"/,
    ],
    ['an unknown trigger', { trigger: 'webhook', purpose: 'usage-analysis' }, /unknown trigger "webhook"/],
    ['no object at all', 'run please', /expected an event object, got "run please"/],
  ];
  test.each(cases)('%s', async (_what, event, message) => {
    const error = await trigger(event).then(
      () => undefined,
      (e) => e,
    );
    expect(error).toBeInstanceOf(RunRequestError);
    expect(error.message).toMatch(message);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });
});
