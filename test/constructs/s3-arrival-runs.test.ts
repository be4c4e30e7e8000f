import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand, DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { mockClient } from 'aws-sdk-client-mock';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { Purpose } from '../../lib/constructs/purpose';
import type { PurposeRunConfig, RunInput } from '../../lib/contract/run-input';
import { startRuns, type TriggerResult } from '../../lib/runtime/trigger';
import { definitionOf, recordInputsStub, runConfigOf, stubRefs } from '../helpers';
import { awaitRedriveHandler, executionContext, StateMachine, taskError } from '../local-step-functions';
import { motoUnavailable, startMotoServer, type MotoServer } from '../moto-server';
import { baseStack } from './fixtures';

/*
 * S3 arrival that settles, end to end on this machine: the trigger's own logic (Step Functions
 * mocked, the run ledger in moto's DynamoDB) receives bursts of object events while the
 * synthesized state machine runs in the local interpreter against the same ledger. A day that
 * arrives as 100 files runs once; objects that arrive after the run began to read start exactly
 * one follow-up.
 */

const NOW = new Date('2026-11-23T09:30:00Z');
/** The interpreter's clock for every state (executionContext): when the run records that it began to read. */
const READ_AT = '2026-11-23T01:02:03.456Z';

function synth(settle?: Duration, maxSettle?: Duration) {
  const { stack, bucket, topic } = baseStack();
  const purpose = new Purpose(stack, 'UsageAnalysis', {
    purposeName: 'usage-analysis',
    namePrefix: 'batcat-demo-dev',
    bucket,
    notificationTopic: topic,
    image: tasks.DockerImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/usage:1'),
    inputs: [{ name: 'usage', keyPrefix: 'raw/usage/', partitioned: true }],
    outputs: [{ name: 'summary' }],
    s3Arrival: [{ input: 'usage', settle, maxSettle }],
  });
  const template = Template.fromStack(stack);
  const machine = `arn:aws:states:eu-west-1:123456789012:stateMachine:${purpose.stateMachineName}`;
  const stubs = stubRefs((ref) =>
    ref.startsWith('Data')
      ? 'demo-data-bucket'
      : ref.includes('Backfill')
        ? `${machine}-backfill`
        : ref.includes('StateMachine')
          ? machine
          : undefined,
  );
  return { purpose, template, definition: definitionOf(template, stubs), config: runConfigOf(template, stubs) as PurposeRunConfig };
}

const unavailable = motoUnavailable();
if (unavailable) console.warn(`test/constructs/s3-arrival-runs.test.ts is skipped: ${unavailable}`);
const suite = unavailable ? describe.skip : describe;
let dynamo: MotoServer;
beforeAll(async () => {
  if (!unavailable) dynamo = await startMotoServer();
}, 60_000);
afterAll(async () => dynamo?.stop());

const sfn = mockClient(SFNClient);
const client = new SFNClient({ region: 'eu-west-1' });
const eventBridge = mockClient(EventBridgeClient);
const eventsClient = new EventBridgeClient({ region: 'eu-west-1' });
beforeEach(() => {
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
});
/** The executions started, by name: their input and status. */
const executions = new Map<string, { input: RunInput; status: string }>();
beforeEach(() => {
  sfn.reset();
  executions.clear();
  sfn.on(StartExecutionCommand).callsFake((input) => {
    if (executions.has(input.name)) throw new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} });
    executions.set(input.name, { input: JSON.parse(input.input), status: 'RUNNING' });
    return { executionArn: `x:${input.name}`, startDate: NOW };
  });
  sfn.on(DescribeExecutionCommand).callsFake(({ executionArn }) => {
    const name = String(executionArn).split(':').pop()!;
    return { executionArn, status: executions.get(name)?.status ?? 'RUNNING' };
  });
});

const usage = synth();

/** An S3 Object Created event of a file of 2026-11-22 in the watched folder, created at `time`. */
const objectEvent = (n: number, time: string) => ({
  source: 'aws.s3',
  'detail-type': 'Object Created',
  time,
  detail: { bucket: { name: 'demo-data-bucket' }, object: { key: `raw/usage/dt=2026-11-22/part-${n}.csv`, 'version-id': `v${n}` } },
});
const at = (base: string, seconds: number) => new Date(Date.parse(base) + seconds * 1000).toISOString().replace('.000Z', 'Z');

/** The ledger's table for this test and the trigger of `usage` on it. */
function harness(p = usage, table: string) {
  const config = { ...p.config, ledgerTable: table };
  const trigger = (event: unknown) => startRuns(event, config, { sfn: client, ddb: dynamo.client(), events: eventsClient, now: () => NOW });
  const ledger = async (params: any, write = true) => {
    try {
      if (write) await dynamo.client().send(new UpdateItemCommand({ ...params, TableName: table }));
      else return await dynamo.client().send(new GetItemCommand({ ...params, TableName: table }));
      return {};
    } catch (e) {
      throw taskError(`DynamoDB.${(e as Error).name}`, (e as Error).message);
    }
  };
  /** Runs the execution `name` as the trigger started it; `during` is called as the named state is entered. */
  const run = async (name: string, during: Record<string, () => Promise<void>> = {}) => {
    const started = executions.get(name)!;
    const jobs: any[] = [];
    let reads = 0;
    const enter = async (state: string) => during[state]?.();
    const machine = new StateMachine(p.definition, { validationOptions: { checkArn: false } });
    const execution = machine.run(started.input as never, {
      context: executionContext(p.purpose.stateMachineName, name),
      overrides: {
        taskResourceLocalHandlers: {
          RecordRunStart: (x: any) => ledger(x),
          RecordSettleStart: (x: any) => ledger(x),
          ReadArrivals: async (x: any) => {
            reads++;
            await enter(`ReadArrivals#${reads}`);
            return ledger(x, false);
          },
          RecordReadStart: (x: any) => ledger(x),
          RecordRunSuccess: (x: any) => ledger(x),
          PublishRunSucceeded: async () => ({}),
          AwaitRedrive: awaitRedriveHandler,
          PublishRunFailed: async () => ({}),
          RecordRunFailure: (x: any) => ledger(x),
          RecordRunInputs: recordInputsStub,
          RecordRunOutputs: async () => ({ manifest: 's3://m/manifest.json', inputObjects: 1, outputObjects: 1 }),
          CommitResults: async () => ({ outputs: [] }),
          'CountOutput-summary': async () => ({ KeyCount: 1 }),
          RunProcessingJob: async (x: any) => {
            jobs.push(x);
            await enter('RunProcessingJob');
            return { ProcessingJobArn: `arn:job/${x.ProcessingJobName}`, ProcessingJobStatus: 'Completed' };
          },
          NotifyFailure: async () => ({ MessageId: 'm' }),
        },
        waitTimeOverrides: { WaitForArrivals: 0 },
      },
    });
    await execution.result;
    started.status = 'SUCCEEDED';
    return { jobs, reads };
  };
  /** The EventBridge event of the execution `name` ending with `status`. */
  const ended = (name: string, status = 'SUCCEEDED') => ({
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    detail: {
      status,
      name,
      stateMachineArn: config.stateMachineArn,
      executionArn: `${config.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`,
      input: JSON.stringify(executions.get(name)!.input),
    },
  });
  return { trigger, run, ended, table };
}

const actions = (results: TriggerResult[]) =>
  results.flatMap((r) => r.windows.map((w) => w.action)).reduce<Record<string, number>>((n, a) => ({ ...n, [a]: (n[a] ?? 0) + 1 }), {});

suite('S3 arrival settles and coalesces (trigger and state machine, locally)', () => {
  test('a day that arrives as 100 objects runs once; 3 that arrive after the run began to read start exactly one follow-up', async () => {
    const h = harness(usage, await dynamo.createLedger());
    const first = await h.trigger(objectEvent(1, '2026-11-23T01:00:00Z'));
    expect(first.windows).toEqual([expect.objectContaining({ action: 'started', runId: 'usage-analysis-20261122-a1' })]);
    const a1 = executions.get('usage-analysis-20261122-a1')!.input;
    // The default settle: 5 minutes after the object, at most an hour.
    expect(a1.settle).toEqual({ until: '2026-11-23T01:05:00.000Z', limit: '2026-11-23T02:00:00.000Z' });

    const burst: TriggerResult[] = [];
    const late: TriggerResult[] = [];
    const r = await h.run('usage-analysis-20261122-a1', {
      // While the run waits: the other 99 objects of the day, one a second.
      'ReadArrivals#1': async () => {
        for (let n = 2; n <= 100; n++) burst.push(await h.trigger(objectEvent(n, at('2026-11-23T01:00:00Z', n))));
      },
      // While the job runs: three objects that it did not read.
      RunProcessingJob: async () => {
        for (let n = 101; n <= 103; n++) late.push(await h.trigger(objectEvent(n, at('2026-11-23T01:10:00Z', n))));
      },
    });
    expect(actions(burst)).toEqual({ joined: 99 });
    expect(burst[98].windows[0].reason).toContain('until 2026-11-23T01:06:40.000Z');
    // It waited for the pushed-back time, read the ledger again, found it unchanged, and ran one job.
    expect(r.reads).toBe(2);
    expect(r.jobs).toHaveLength(1);
    expect(actions(late)).toEqual({ 'follow-up': 3 });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);

    // The run's end (and a duplicate of its event) starts the one follow-up, forced to replace the result.
    const after = [await h.trigger(h.ended('usage-analysis-20261122-a1')), await h.trigger(h.ended('usage-analysis-20261122-a1'))];
    expect(after.map((x) => x.windows.map((w) => [w.action, w.runId]))).toEqual([
      [['started', 'usage-analysis-20261122-a2']],
      [['already-started', 'usage-analysis-20261122-a2']],
    ]);
    const a2 = executions.get('usage-analysis-20261122-a2')!.input;
    expect(a2).toMatchObject({ attempt: 2, force: true, trigger: { kind: 's3', key: 'raw/usage/dt=2026-11-22/part-101.csv' } });
    const names = new Set(sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name));
    expect([...names]).toEqual(['usage-analysis-20261122-a1', 'usage-analysis-20261122-a2']);

    // The follow-up runs, and its own end starts nothing more.
    const r2 = await h.run('usage-analysis-20261122-a2');
    expect(r2.jobs).toHaveLength(1);
    expect((await h.trigger(h.ended('usage-analysis-20261122-a2'))).windows).toEqual([]);
    expect(await dynamo.items(h.table, 'usage-analysis')).toEqual([
      expect.objectContaining({ status: 'SUCCEEDED', attempts: 2, runId: 'usage-analysis-20261122-a2', readStartedAt: READ_AT }),
    ]);
    expect((await dynamo.items(h.table, 'usage-analysis'))[0].followUp).toBeUndefined();
  });

  test('an object that arrives after the window succeeded starts one new attempt; one the run read already starts nothing', async () => {
    const h = harness(usage, await dynamo.createLedger());
    await h.trigger(objectEvent(1, '2026-11-23T01:00:00Z'));
    await h.run('usage-analysis-20261122-a1');
    await h.trigger(h.ended('usage-analysis-20261122-a1'));
    // A redelivered event of an object created before the run read: its data is in the result.
    const redelivered = await h.trigger(objectEvent(1, '2026-11-23T01:00:00Z'));
    expect(redelivered.windows.map((w) => w.action)).toEqual(['succeeded']);
    // A new object of the day, a day later: the result lacks it.
    const newer = await h.trigger(objectEvent(7, '2026-11-24T08:00:00Z'));
    expect(newer.windows).toEqual([
      expect.objectContaining({ action: 'started', runId: 'usage-analysis-20261122-a2', reason: expect.stringContaining(READ_AT) }),
    ]);
    expect(executions.get('usage-analysis-20261122-a2')!.input).toMatchObject({ force: true, attempt: 2 });
    // The same object's event again, before the new attempt claimed the window: the same attempt, not a third.
    expect((await h.trigger(objectEvent(7, '2026-11-24T08:00:00Z'))).windows.map((w) => w.action)).toEqual(['already-started']);
  });

  test('a burst that never stops is read at maxSettle', async () => {
    const p = synth(Duration.minutes(10), Duration.minutes(20));
    const h = harness(p, await dynamo.createLedger());
    await h.trigger(objectEvent(1, '2026-11-23T01:00:00Z'));
    expect(executions.get('usage-analysis-20261122-a1')!.input.settle).toEqual({
      until: '2026-11-23T01:10:00.000Z',
      limit: '2026-11-23T01:20:00.000Z',
    });
    const joined: TriggerResult[] = [];
    const r = await h.run('usage-analysis-20261122-a1', {
      'ReadArrivals#1': async () => {
        joined.push(await h.trigger(objectEvent(2, '2026-11-23T01:05:00Z')));
      },
      'ReadArrivals#2': async () => {
        // 10 minutes after this would be 01:25, past the limit.
        joined.push(await h.trigger(objectEvent(3, '2026-11-23T01:15:00Z')));
      },
    });
    expect(joined.map((j) => j.windows[0].reason)).toEqual([
      'the run waits for more objects of its window until 2026-11-23T01:15:00.000Z (at most 2026-11-23T01:20:00.000Z)',
      'the run waits for more objects of its window until 2026-11-23T01:20:00.000Z (at most 2026-11-23T01:20:00.000Z)',
    ]);
    expect(r.reads).toBe(3);
    expect(r.jobs).toHaveLength(1);
  });

  test('settle 0 starts at once, and late objects still coalesce into one follow-up', async () => {
    const p = synth(Duration.seconds(0));
    const h = harness(p, await dynamo.createLedger());
    await h.trigger(objectEvent(1, '2026-11-23T01:00:00Z'));
    expect(executions.get('usage-analysis-20261122-a1')!.input.settle).toBeUndefined();
    const late: TriggerResult[] = [];
    const r = await h.run('usage-analysis-20261122-a1', {
      RunProcessingJob: async () => {
        for (let n = 2; n <= 4; n++) late.push(await h.trigger(objectEvent(n, at('2026-11-23T01:05:00Z', n))));
      },
    });
    expect(r.reads).toBe(0);
    expect(actions(late)).toEqual({ 'follow-up': 3 });
    expect((await h.trigger(h.ended('usage-analysis-20261122-a1'))).windows.map((w) => w.runId)).toEqual(['usage-analysis-20261122-a2']);
  });

  test('the template: the ended-run rule takes successes too, and the timeout covers maxSettle', () => {
    const p = synth(Duration.minutes(10), Duration.hours(2));
    p.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { detail: { status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] } },
    });
    expect(p.config.s3Arrival).toEqual([expect.objectContaining({ settleSeconds: 600, maxSettleSeconds: 7200 })]);
    // The same purpose without settling, plus the two hours of maxSettle.
    const base = synth(Duration.seconds(0)).definition.TimeoutSeconds;
    expect(p.definition.TimeoutSeconds - base).toBe(7200);
  });

  test('a settle longer than maxSettle is refused at synth, naming both', () => {
    expect(() => synth(Duration.hours(2), Duration.hours(1))).toThrow(/settle \(7200 s\) is longer than maxSettle \(3600 s\)/);
  });
});
