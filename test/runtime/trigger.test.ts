import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { RunRequestError, type PurposeRunConfig } from '../../lib/contract/run-input';
import { startRuns, type BackfillInput } from '../../lib/runtime/trigger';

/*
 * The trigger's logic for every kind of event, with Step Functions mocked. The state machine
 * side of the same inputs is checked in test/constructs/purpose-execution.test.ts.
 */

const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:batcat-demo-dev-usage-analysis';
const BACKFILL_SM = `${SM}-backfill`;
const UPSTREAM_SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:batcat-demo-dev-cleaning';
const NOW = new Date('2026-11-23T09:30:00Z');

const CONFIG: PurposeRunConfig = {
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
  upstream: { purpose: 'cleaning', stateMachineArn: UPSTREAM_SM },
};

const sfn = mockClient(SFNClient);
const client = new SFNClient({ region: 'eu-west-1' });
beforeEach(() => {
  sfn.reset();
  sfn.on(StartExecutionCommand).callsFake((input) => ({
    executionArn: `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name}`,
    startDate: NOW,
  }));
});

const trigger = (event: unknown, config: PurposeRunConfig = CONFIG, now = NOW) => startRuns(event, config, { sfn: client, now: () => now });
const starts = () =>
  sfn.commandCalls(StartExecutionCommand).map((c) => ({ ...c.args[0].input, input: JSON.parse(c.args[0].input.input!) }));

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
const upstreamEvent = (overrides: Record<string, unknown> = {}) => ({
  source: 'aws.states',
  'detail-type': 'Step Functions Execution Status Change',
  detail: {
    status: 'SUCCEEDED',
    stateMachineArn: UPSTREAM_SM,
    executionArn: `${UPSTREAM_SM.replace(':stateMachine:', ':execution:')}:cleaning-schedule-20261122`,
    input: JSON.stringify({ version: 1, runId: 'cleaning-schedule-20261122', window: { start: '2026-11-22', end: '2026-11-22' } }),
    ...overrides,
  },
});

describe('every trigger becomes one run input and a deterministic name', () => {
  test("a schedule tick runs the day that just ended in the schedule's time zone", async () => {
    // 23:30 UTC on the 22nd is already the 23rd in Berlin, so the day that ended is the 22nd.
    const result = await trigger(schedule('2026-11-22T23:30:00Z'));
    expect(result).toEqual({
      purpose: 'usage-analysis',
      trigger: 'schedule',
      started: {
        runId: 'usage-analysis-schedule-20261122',
        executionArn: `${SM.replace(':stateMachine:', ':execution:')}:usage-analysis-schedule-20261122`,
        status: 'started',
        window: { start: '2026-11-22', end: '2026-11-22' },
      },
    });
    expect(starts()).toEqual([
      {
        stateMachineArn: SM,
        name: 'usage-analysis-schedule-20261122',
        input: {
          version: 1,
          runId: 'usage-analysis-schedule-20261122',
          purpose: 'usage-analysis',
          window: { start: '2026-11-22', end: '2026-11-22' },
          trigger: { kind: 'schedule', scheduledTime: '2026-11-22T23:30:00.000Z', timezone: 'Europe/Berlin' },
          inputs: { usage: 's3://demo-data/raw/usage/dt=2026-11-22/' },
          outputs: { summary: 's3://demo-data/results/usage-analysis/summary/dt=2026-11-22/' },
        },
      },
    ]);
  });

  test('a weekly window covers the seven days before the tick', async () => {
    const result = await trigger(schedule('2026-11-23T01:00:00Z'), { ...CONFIG, windowDays: 7, inputs: [] });
    expect(result.started).toMatchObject({
      runId: 'usage-analysis-schedule-20261116-20261122',
      window: { start: '2026-11-16', end: '2026-11-22' },
    });
    expect(starts()[0].input.outputs).toEqual({ summary: 's3://demo-data/results/usage-analysis/summary/dt=2026-11-16/' });
  });

  test("an S3 arrival runs the object's dt= partition, named by key and version", async () => {
    const result = await trigger(s3Event('raw/usage/dt=2026-11-20/part-0001.csv'));
    expect(result.started.runId).toMatch(/^usage-analysis-s3-20261120-[0-9a-f]{16}$/);
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
    // A new version of the same object is a new event; the same version is the same run.
    const again = await trigger(s3Event('raw/usage/dt=2026-11-20/part-0001.csv'));
    const newVersion = await trigger(s3Event('raw/usage/dt=2026-11-20/part-0001.csv', 'v2'));
    expect(again.started.runId).toBe(result.started.runId);
    expect(newVersion.started.runId).not.toBe(result.started.runId);
  });

  test('an S3 arrival without a partition in its key runs the day of the event', async () => {
    const result = await trigger(s3Event('raw/usage/fleet.csv', 'v1', '2026-11-21T23:59:59Z'));
    expect(result.started.window).toEqual({ start: '2026-11-21', end: '2026-11-21' });
  });

  test('a manual run takes the given day, or the window that ended yesterday', async () => {
    expect((await trigger({ purpose: 'usage-analysis', date: '2026-11-01' })).started.runId).toBe('usage-analysis-manual-20261101');
    expect((await trigger({ trigger: 'manual', purpose: 'usage-analysis' })).started.runId).toBe('usage-analysis-manual-20261122');
    expect((await trigger({ purpose: 'usage-analysis', from: '2026-11-01', to: '2026-11-07' })).started).toMatchObject({
      runId: 'usage-analysis-manual-20261101-20261107',
      window: { start: '2026-11-01', end: '2026-11-07' },
    });
    expect(starts()[0].input.trigger).toEqual({ kind: 'manual', rerun: false });
  });

  test('an upstream success runs the same window, named after the upstream execution', async () => {
    const result = await trigger(upstreamEvent());
    expect(result.started.runId).toMatch(/^usage-analysis-upstream-20261122-[0-9a-f]{8}$/);
    expect(starts()[0].input).toMatchObject({
      window: { start: '2026-11-22', end: '2026-11-22' },
      trigger: { kind: 'upstream', purpose: 'cleaning', runId: 'cleaning-schedule-20261122' },
    });
    // A rerun of the upstream (another execution) starts another downstream run.
    const rerun = await trigger(
      upstreamEvent({
        executionArn: `${UPSTREAM_SM.replace(':stateMachine:', ':execution:')}:cleaning-manual-20261122-rerun-20261123T090000`,
      }),
    );
    expect(rerun.started.runId).not.toBe(result.started.runId);
  });
});

describe('exactly one run per logical event', () => {
  test('a duplicate event is "already started", not an error, and starts no second job', async () => {
    sfn
      .on(StartExecutionCommand, { name: 'usage-analysis-schedule-20261122' })
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    const result = await trigger(schedule('2026-11-23T01:00:00Z'));
    expect(result.started).toEqual({
      runId: 'usage-analysis-schedule-20261122',
      executionArn: `${SM.replace(':stateMachine:', ':execution:')}:usage-analysis-schedule-20261122`,
      status: 'already-started',
      window: { start: '2026-11-22', end: '2026-11-22' },
    });
  });

  test('the same event always gives the same name and the same input', async () => {
    await trigger(schedule('2026-11-23T01:00:00Z'));
    await trigger(schedule('2026-11-23T01:00:00Z'), CONFIG, new Date('2026-11-24T10:00:00Z'));
    await trigger(s3Event('raw/usage/dt=2026-11-20/a.csv'));
    await trigger(s3Event('raw/usage/dt=2026-11-20/a.csv'));
    await trigger({ purpose: 'usage-analysis', date: '2026-11-01' });
    await trigger({ purpose: 'usage-analysis', date: '2026-11-01' }, CONFIG, new Date('2026-11-25T10:00:00Z'));
    const s = starts();
    for (const i of [0, 2, 4]) expect(s[i + 1]).toEqual(s[i]);
  });

  test('--force starts a new attempt with a visibly different name', async () => {
    const forced = await trigger({ purpose: 'usage-analysis', date: '2026-11-01', force: true });
    expect(forced.started.runId).toBe('usage-analysis-manual-20261101-rerun-20261123T093000');
    expect(starts()[0].input.trigger).toEqual({ kind: 'manual', rerun: true });
  });

  test('other Step Functions errors are not swallowed', async () => {
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(trigger(schedule('2026-11-23T01:00:00Z'))).rejects.toThrow('Rate exceeded');
  });
});

describe('bad input gets a clear error and starts nothing', () => {
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
    ['an upstream failure', upstreamEvent({ status: 'FAILED' }), /has status "FAILED"; only SUCCEEDED starts/],
    ['an upstream run outside the run contract', upstreamEvent({ input: '{"foo":1}' }), /carries no BatCat run input with a window/],
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

describe('backfill', () => {
  test('starts one backfill execution with one deterministic run per window', async () => {
    const result = await trigger({ purpose: 'usage-analysis', from: '2026-10-01', to: '2026-10-30', backfill: true });
    expect(result.started).toMatchObject({ runId: 'usage-analysis-backfill-20261001-20261030', status: 'started' });
    expect(result.backfillRuns).toHaveLength(30);
    const [start] = starts();
    expect(start.stateMachineArn).toBe(BACKFILL_SM);
    const input = start.input as BackfillInput;
    expect(input.runs.map((r) => r.name)).toEqual(
      Array.from({ length: 30 }, (_, i) => `usage-analysis-manual-202610${String(i + 1).padStart(2, '0')}`),
    );
    expect(input.runs[4].input).toEqual({
      version: 1,
      runId: 'usage-analysis-manual-20261005',
      purpose: 'usage-analysis',
      window: { start: '2026-10-05', end: '2026-10-05' },
      trigger: { kind: 'manual', rerun: false, backfill: { start: '2026-10-01', end: '2026-10-30' } },
      inputs: { usage: 's3://demo-data/raw/usage/dt=2026-10-05/' },
      outputs: { summary: 's3://demo-data/results/usage-analysis/summary/dt=2026-10-05/' },
    });
    // A single manual run of a day in the backfill has the same name: it is not run twice.
    expect((await trigger({ purpose: 'usage-analysis', date: '2026-10-05' })).started.runId).toBe(input.runs[4].name);
  });

  test("splits the range into windows of the purpose's length", async () => {
    const result = await trigger(
      { purpose: 'usage-analysis', from: '2026-10-26', to: '2026-11-22', backfill: true },
      { ...CONFIG, windowDays: 7, inputs: [] },
    );
    expect(result.backfillRuns!.map((r) => r.window)).toEqual([
      { start: '2026-10-26', end: '2026-11-01' },
      { start: '2026-11-02', end: '2026-11-08' },
      { start: '2026-11-09', end: '2026-11-15' },
      { start: '2026-11-16', end: '2026-11-22' },
    ]);
  });

  test('is refused when the range is not whole windows, or has more windows than allowed', async () => {
    await expect(
      trigger(
        { purpose: 'usage-analysis', from: '2026-10-26', to: '2026-11-20', backfill: true },
        { ...CONFIG, windowDays: 7, inputs: [] },
      ),
    ).rejects.toThrow(/26 days, not a whole number of 7-day windows; end it on 2026-11-15 or 2026-11-22/);
    await expect(trigger({ purpose: 'usage-analysis', from: '2026-09-01', to: '2026-11-01', backfill: true })).rejects.toThrow(
      /has 62 windows; at most 40 may be started at once, so split the range/,
    );
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  test('a repeated backfill request is already started; a forced one reruns every window under new names', async () => {
    sfn
      .on(StartExecutionCommand, { name: 'usage-analysis-backfill-20261101-20261103' })
      .rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    expect((await trigger({ purpose: 'usage-analysis', from: '2026-11-01', to: '2026-11-03', backfill: true })).started.status).toBe(
      'already-started',
    );
    const forced = await trigger({ purpose: 'usage-analysis', from: '2026-11-01', to: '2026-11-03', backfill: true, force: true });
    expect(forced.started).toMatchObject({ runId: 'usage-analysis-backfill-20261101-20261103-rerun-20261123T093000', status: 'started' });
    expect(forced.backfillRuns!.map((r) => r.runId)).toEqual([
      'usage-analysis-manual-20261101-rerun-20261123T093000',
      'usage-analysis-manual-20261102-rerun-20261123T093000',
      'usage-analysis-manual-20261103-rerun-20261123T093000',
    ]);
  });
});
