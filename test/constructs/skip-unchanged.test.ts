import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { Template } from 'aws-cdk-lib/assertions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { Purpose } from '../../lib/constructs/purpose';
import { RUN_EVENT_SCHEMA } from '../../lib/contract/run-events';
import { runInput, type PurposeRunConfig, type TriggerDetails } from '../../lib/contract/run-input';
import { runCacheKey } from '../../lib/contract/run-manifest';
import { definitionOf, recordInputsStub, runConfigOf } from '../helpers';
import { awaitRedriveHandler, executionContext, StateMachine, taskError } from '../local-step-functions';
import { motoUnavailable, startMotoServer, type MotoServer } from '../moto-server';
import { baseStack } from './fixtures';

/*
 * `cache: true`, run by the local interpreter with the run ledger in moto's DynamoDB: a rerun
 * whose code, arguments, parameters and input content equal those of the window's result
 * starts no job, is recorded as cached and puts Run Skipped; a manual --force, or a changed
 * input, runs the job.
 */

function synth() {
  const { stack, bucket, topic } = baseStack();
  const purpose = new Purpose(stack, 'Scoring', {
    purposeName: 'scoring',
    namePrefix: 'batcat-demo-dev',
    bucket,
    notificationTopic: topic,
    image: tasks.DockerImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/scoring:1'),
    inputs: [{ name: 'usage', keyPrefix: 'raw/usage/', partitioned: true }],
    outputs: [{ name: 'scores' }],
    arguments: ['--threshold', '{param.threshold}'],
    parameters: { threshold: { type: 'number', default: 0.5 } },
    cache: true,
    runEvents: { project: 'demo', stage: 'dev' },
  });
  const template = Template.fromStack(stack);
  return { purpose, definition: definitionOf(template), config: runConfigOf(template) as PurposeRunConfig };
}

const unavailable = motoUnavailable();
if (unavailable) console.warn(`test/constructs/skip-unchanged.test.ts is skipped: ${unavailable}`);
const suite = unavailable ? describe.skip : describe;
let dynamo: MotoServer;
beforeAll(async () => {
  if (!unavailable) dynamo = await startMotoServer();
}, 60_000);
afterAll(async () => dynamo?.stop());

const scoring = synth();
const WINDOW = { start: '2026-11-20', end: '2026-11-20' };
const upstream: TriggerDetails = { kind: 'upstream', purpose: 'cleaning', executionArn: 'arn:aws:states:x', runId: 'cleaning-20261120-a2' };

async function run(table: string, attempt: number, opts: { force: boolean; trigger: TriggerDetails; etag: string; threshold?: string }) {
  const input = runInput(scoring.config, WINDOW, attempt, opts.force, opts.trigger, {
    parameters: { threshold: opts.threshold ?? '0.5' },
  });
  const jobs: any[] = [];
  const events: any[] = [];
  const ledger = async (params: any, write = true) => {
    try {
      if (!write) return await dynamo.client().send(new GetItemCommand({ ...params, TableName: table }));
      await dynamo.client().send(new UpdateItemCommand({ ...params, TableName: table }));
      return {};
    } catch (e) {
      throw taskError(`DynamoDB.${(e as Error).name}`, (e as Error).message);
    }
  };
  const machine = new StateMachine(scoring.definition, { validationOptions: { checkArn: false } });
  const execution = machine.run(input as never, {
    context: executionContext(scoring.purpose.stateMachineName, input.runId),
    overrides: {
      taskResourceLocalHandlers: {
        RecordRunStart: (x: any) => ledger(x),
        RecordRunSuccess: (x: any) => ledger(x),
        RecordRunCached: (x: any) => ledger(x),
        RecordRunFailure: (x: any) => ledger(x),
        ReadWindowResult: (x: any) => ledger(x, false),
        // The run manifest's key, made by the real function from the run as the state machine describes it.
        RecordRunInputs: async (x: any) => ({
          ...(await recordInputsStub(x)),
          cacheKey: runCacheKey(x.run, [
            {
              name: 'usage',
              bucket: 'b',
              prefixes: [],
              objects: [{ key: 'raw/usage/dt=2026-11-20/a.csv', etag: opts.etag, size: 9, versionId: null }],
            },
          ]),
        }),
        RecordRunOutputs: async () => ({ manifest: 's3://m/manifest.json', inputObjects: 1, outputObjects: 1 }),
        CommitResults: async () => ({ outputs: [] }),
        'CountOutput-scores': async () => ({ KeyCount: 1 }),
        RunProcessingJob: async (x: any) => {
          jobs.push(x);
          return { ProcessingJobArn: 'arn:job', ProcessingJobStatus: 'Completed' };
        },
        PublishRunSucceeded: async (x: any) => events.push(x.Entries[0]),
        PublishRunSkipped: async (x: any) => events.push(x.Entries[0]),
        AwaitRedrive: awaitRedriveHandler,
        PublishRunFailed: async (x: any) => events.push(x.Entries[0]),
        NotifyFailure: async () => ({}),
      },
    },
  });
  await execution.result;
  const [item] = await dynamo.items(table, 'scoring');
  return { jobs, events, item };
}

suite('skip unchanged work (cache: true)', () => {
  test('an unchanged rerun starts no job and puts Run Skipped; --force by hand, a new parameter or new input content runs', async () => {
    const table = await dynamo.createLedger();
    const first = await run(table, 1, { force: false, trigger: { kind: 'manual' }, etag: '"e1"' });
    expect(first.jobs).toHaveLength(1);
    expect(first.item).toMatchObject({
      status: 'SUCCEEDED',
      resultRunId: 'scoring-20261120-a1',
      cacheKey: expect.stringMatching(/^sha256:/),
    });

    // A forced upstream rerun with the same inputs: nothing to do.
    const second = await run(table, 2, { force: true, trigger: upstream, etag: '"e1"' });
    expect(second.jobs).toHaveLength(0);
    expect(second.item).toMatchObject({
      status: 'SUCCEEDED',
      runId: 'scoring-20261120-a2',
      cachedFrom: 'scoring-20261120-a1',
      resultRunId: 'scoring-20261120-a1',
      outputs: expect.stringContaining('dt=2026-11-20'),
    });
    expect(second.events.map((e) => e.DetailType)).toEqual(['Run Skipped']);
    const ajv = new Ajv();
    addFormats(ajv);
    expect(ajv.validate(RUN_EVENT_SCHEMA, second.events[0].Detail)).toBe(true);
    expect(second.events[0].Detail).toMatchObject({
      project: 'demo',
      stage: 'dev',
      status: 'SKIPPED',
      cachedFrom: 'scoring-20261120-a1',
      parameters: { threshold: '0.5' },
    });

    // A manual run with --force always runs; it makes the result and its key its own.
    const forced = await run(table, 3, { force: true, trigger: { kind: 'manual' }, etag: '"e1"' });
    expect(forced.jobs).toHaveLength(1);
    expect(forced.item).toMatchObject({ resultRunId: 'scoring-20261120-a3' });
    expect(forced.item.cachedFrom).toBeUndefined();

    // Another parameter value, or changed input content: the job runs.
    expect((await run(table, 4, { force: true, trigger: upstream, etag: '"e1"', threshold: '0.7' })).jobs).toHaveLength(1);
    expect((await run(table, 5, { force: true, trigger: upstream, etag: '"e2"', threshold: '0.7' })).jobs).toHaveLength(1);
    // And the same again is skipped.
    expect((await run(table, 6, { force: true, trigger: upstream, etag: '"e2"', threshold: '0.7' })).jobs).toHaveLength(0);
  });
});
