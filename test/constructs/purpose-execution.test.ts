import { createHash } from 'node:crypto';
import { TimeZone } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { Purpose } from '../../lib/constructs/purpose';
import { RUN_EVENT_SCHEMA } from '../../lib/contract/run-events';
import { resolveRunRequest, singleRunInput } from '../../lib/runtime/trigger';
import { motoUnavailable, startMotoServer, type MotoServer } from '../moto-server';
import { definitionOf, recordInputsStub, runConfigOf, stubRefs } from '../helpers';
import { awaitRedriveHandler, executionContext, ExecutionError, StateMachine, taskError } from '../local-step-functions';
import { baseStack } from './fixtures';

/*
 * Runs the synthesized definition of a purpose with a local Step Functions interpreter; the
 * SageMaker and SNS tasks are answered by the functions below, the run ledger's writes by moto's
 * DynamoDB, so their condition expressions are checked by a real implementation. The run inputs come from the
 * trigger's own logic, given the configuration the synthesized trigger function carries, so
 * this checks that what the trigger writes and what the state machine reads agree.
 */

const JOB_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const NOW = new Date('2026-11-23T09:30:00Z');

function synthPurpose(purposeName: string, namePrefix: string) {
  const { stack, bucket, topic } = baseStack();
  const purpose = new Purpose(stack, 'UsageAnalysis', {
    purposeName,
    namePrefix,
    bucket,
    notificationTopic: topic,
    image: tasks.DockerImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/usage:1'),
    inputs: [
      { name: 'usage', keyPrefix: 'raw/usage/', partitioned: true },
      { name: 'lookup', keyPrefix: 'curated/lookup/' },
    ],
    outputs: [{ name: 'summary' }, { name: 'details', keyPrefix: 'curated/usage-details/' }],
    schedule: scheduler.ScheduleExpression.expression('cron(0 4 * * ? *)', TimeZone.EUROPE_BERLIN),
    s3Arrival: [{ input: 'usage', suffix: '.csv' }],
    after: { purposeName: 'cleaning', stateMachine: sfn.StateMachine.fromStateMachineName(stack, 'Cleaning', 'batcat-demo-dev-cleaning') },
    backfillConcurrency: 3,
  });
  const template = Template.fromStack(stack);
  const machines = `arn:aws:states:eu-west-1:123456789012:stateMachine:${namePrefix}-${purposeName}`;
  const stubs = stubRefs((ref) =>
    ref.startsWith('Data')
      ? 'demo-data-bucket'
      : ref.includes('Backfill')
        ? `${machines}-backfill`
        : ref.includes('StateMachine')
          ? machines
          : undefined,
  );
  return { purpose, definition: definitionOf(template, stubs), config: runConfigOf(template, stubs) };
}

const unavailable = motoUnavailable();
if (unavailable) console.warn(`test/constructs/purpose-execution.test.ts is skipped: ${unavailable}`);
const suite = unavailable ? describe.skip : describe;
let dynamo: MotoServer;
beforeAll(async () => {
  if (!unavailable) dynamo = await startMotoServer();
}, 60_000);
afterAll(async () => dynamo?.stop());

const demo = synthPurpose('usage-analysis', 'batcat-demo-dev');
const SM_NAME = demo.purpose.stateMachineName;

/** A run input from each kind of trigger, as the trigger function builds it. */
function triggerEvents(config: any) {
  return {
    schedule: { trigger: 'schedule', purpose: config.purpose, scheduledTime: '2026-11-23T01:00:00Z' },
    s3: {
      source: 'aws.s3',
      'detail-type': 'Object Created',
      time: '2026-11-21T03:04:05Z',
      detail: { bucket: { name: 'demo-data-bucket' }, object: { key: 'raw/usage/dt=2026-11-20/part-0001.csv', 'version-id': 'v1' } },
    },
    manual: { purpose: config.purpose, date: '2026-11-01', force: true },
    upstream: {
      source: 'batcat',
      'detail-type': 'Run Succeeded',
      detail: {
        version: 1,
        purpose: 'cleaning',
        stateMachineArn: config.upstream.stateMachineArn,
        runId: 'cleaning-20261122-a1',
        execution: 'arn:aws:states:eu-west-1:123456789012:execution:batcat-demo-dev-cleaning:cleaning-20261122-a1',
        window: { start: '2026-11-22', end: '2026-11-22', endExclusive: '2026-11-23' },
        trigger: 'schedule',
        attempt: 1,
        force: false,
        outputs: {},
        status: 'SUCCEEDED',
      },
    },
  };
}

interface Run {
  /** The ledger table the run wrote to. */
  table: string;
  output?: any;
  error?: any;
  jobRequests: any[];
  notifications: any[];
  /** What the commit of the results was asked to do. */
  commits: any[];
  /** What the run manifest's two steps were asked to record. */
  manifests: any[];
  /** The completion events the run put (EventBridge PutEvents parameters). */
  events: any[];
}

async function run(
  definition: any,
  stateMachineName: string,
  executionName: string,
  input: any,
  job: (params: any, attempt: number) => any,
  /** The objects each output's partition holds after the job (ListObjectsV2's KeyCount). */
  written: Record<string, number> = { summary: 1, details: 1 },
  /** What DescribeProcessingJob answers, for a run that follows a job it created before. */
  describeJob: (params: any) => any = () => {
    throw taskError('SageMaker.ResourceNotFoundException', 'no such job');
  },
  /** The run ledger: a new, empty one unless given. */
  ledgerTable?: string,
  startTime?: string,
): Promise<Run> {
  const table = ledgerTable ?? (await dynamo.createLedger());
  const jobRequests: any[] = [];
  const notifications: any[] = [];
  const commits: any[] = [];
  const manifests: any[] = [];
  const events: any[] = [];
  const machine = new StateMachine(definition, { validationOptions: { checkArn: false } });
  const execution = machine.run(input, {
    context: executionContext(stateMachineName, executionName, startTime),
    overrides: {
      taskResourceLocalHandlers: {
        RecordRunStart: (params: any) => dynamo.ledgerWrite(table, params),
        RecordReadStart: (params: any) => dynamo.ledgerWrite(table, params),
        RecordRunSuccess: (params: any) => dynamo.ledgerWrite(table, params),
        PublishRunSucceeded: async (params: any) => {
          events.push(params);
          return { FailedEntryCount: 0 };
        },
        AwaitRedrive: awaitRedriveHandler,
        PublishRunFailed: async (params: any) => {
          events.push(params);
          return { FailedEntryCount: 0 };
        },
        RecordRunFailure: (params: any) => dynamo.ledgerWrite(table, params),
        RecordRunInputs: async (params: any) => {
          manifests.push(params);
          return recordInputsStub(params);
        },
        RecordRunOutputs: async (params: any) => {
          manifests.push(params);
          return { manifest: 's3://demo-data-bucket/_batcat/runs/x/manifest.json', inputObjects: 1, outputObjects: 1 };
        },
        CommitResults: async (params: any) => {
          commits.push(params);
          return { outputs: [] };
        },
        RunProcessingJob: async (params: any) => {
          jobRequests.push(params);
          return job(params, jobRequests.length);
        },
        NotifyFailure: async (params: any) => {
          notifications.push(params);
          return { MessageId: 'm-1' };
        },
        'CountOutput-summary': async () => ({ KeyCount: written.summary }),
        'CountOutput-details': async () => ({ KeyCount: written.details }),
        DescribeExistingJob: async (params: any) => describeJob(params),
      },
      retryIntervalOverrides: { RunProcessingJob: 0, DescribeExistingJob: 0 },
      waitTimeOverrides: { WaitForExistingJob: 0 },
    },
  });
  try {
    return { table, output: await execution.result, jobRequests, notifications, commits, manifests, events };
  } catch (error) {
    return { table, error, jobRequests, notifications, commits, manifests, events };
  }
}

const completed = (params: any) => ({
  ProcessingJobArn: `arn:aws:sagemaker:eu-west-1:123456789012:processing-job/${params.ProcessingJobName}`,
  ProcessingJobStatus: 'Completed',
});

/** Runs what `event` asks for, as the trigger would start it. */
async function runEvent(
  p: typeof demo,
  event: unknown,
  job: (params: any, attempt: number) => any = completed,
  written?: Record<string, number>,
) {
  const input = singleRunInput(resolveRunRequest(event, p.config, NOW), p.config);
  const r = await run(p.definition, p.purpose.stateMachineName, input.runId, input, job, written);
  return { ...r, input, name: input.runId };
}

suite('a purpose run, executed locally', () => {
  test.each(Object.keys(triggerEvents(demo.config)))('a %s run gets its window, its S3 folders and its environment', async (kind) => {
    const r = await runEvent(demo, (triggerEvents(demo.config) as any)[kind]);
    expect(r.error).toBeUndefined();
    expect(r.jobRequests).toHaveLength(1);
    const p = r.jobRequests[0];
    const { window, inputs, outputs } = r.input;
    expect(p.ProcessingJobName).toMatch(JOB_NAME);
    expect(p.ProcessingJobName).toMatch(new RegExp(`^${demo.purpose.jobNamePrefix}-[0-9a-f]{32}$`));
    // The state machine reads exactly the folders the run input announces; the job writes below its own attempt's
    // folder of each output, and the commit makes that the window's result, the folder the run input announces.
    expect(Object.fromEntries(p.ProcessingInputs.map((i: any) => [i.InputName, i.S3Input.S3Uri]))).toEqual(inputs);
    const attempt = (uri: string) => uri.replace(/dt=[^/]+\/$/, `_attempts/${r.name}/`);
    expect(Object.fromEntries(p.ProcessingOutputConfig.Outputs.map((o: any) => [o.OutputName, o.S3Output.S3Uri]))).toEqual({
      summary: attempt(outputs.summary),
      details: attempt(outputs.details),
    });
    expect(r.commits).toEqual([
      {
        bucket: 'demo-data-bucket',
        outputs: Object.entries(outputs).map(([name, uri]) => ({
          name,
          attemptPrefix: attempt(uri).replace('s3://demo-data-bucket/', ''),
          resultPrefix: uri.replace('s3://demo-data-bucket/', ''),
        })),
      },
    ]);
    expect(inputs).toEqual({
      usage: `s3://demo-data-bucket/raw/usage/dt=${window.start}/`,
      lookup: 's3://demo-data-bucket/curated/lookup/',
    });
    // The run manifest: what the job will read, recorded before it, and the window's result after the commit.
    expect(r.manifests).toEqual([
      {
        step: 'inputs',
        bucket: 'demo-data-bucket',
        run: expect.objectContaining({ purpose: 'usage-analysis', runId: r.name, window: r.input.window, jobName: p.ProcessingJobName }),
        inputs: [
          { name: 'usage', bucket: 'demo-data-bucket', prefix: 'raw/usage/', read: 'day' },
          { name: 'lookup', bucket: 'demo-data-bucket', prefix: 'curated/lookup/', read: 'all' },
        ],
      },
      {
        step: 'outputs',
        bucket: 'demo-data-bucket',
        purpose: 'usage-analysis',
        runId: r.name,
        outputs: Object.entries(outputs).map(([name, uri]) => ({
          name,
          bucket: 'demo-data-bucket',
          prefix: uri.replace('s3://demo-data-bucket/', ''),
        })),
      },
    ]);
    expect(outputs).toEqual({
      summary: `s3://demo-data-bucket/results/usage-analysis/summary/dt=${window.start}/`,
      details: `s3://demo-data-bucket/curated/usage-details/dt=${window.start}/`,
    });
    expect(p.Environment).toEqual({
      BATCAT_PURPOSE: 'usage-analysis',
      BATCAT_RUN_ID: r.name,
      BATCAT_WINDOW_START: window.start,
      BATCAT_WINDOW_END: window.end,
      BATCAT_WINDOW_END_EXCLUSIVE: window.endExclusive,
      BATCAT_TIMEZONE: 'Europe/Berlin',
      BATCAT_TRIGGER: kind,
      BATCAT_JOB_NAME: p.ProcessingJobName,
      BATCAT_EXECUTION_ID: `arn:aws:states:eu-west-1:123456789012:execution:${SM_NAME}:${r.name}`,
    });
    expect(r.output).toMatchObject({
      runId: r.name,
      batcat: { jobName: p.ProcessingJobName, partition: `dt=${window.start}/` },
      job: { status: 'Completed' },
    });
  });

  test('each trigger resolves the window it documents', async () => {
    const events = triggerEvents(demo.config);
    const windows = Object.fromEntries(Object.entries(events).map(([k, e]) => [k, resolveRunRequest(e, demo.config, NOW).windows.at(-1)]));
    expect(windows).toEqual({
      schedule: { start: '2026-11-22', end: '2026-11-22' }, // the Berlin day before the 02:00 tick
      s3: { start: '2026-11-20', end: '2026-11-20' }, // the object's dt= partition, not the event time
      manual: { start: '2026-11-01', end: '2026-11-01' },
      upstream: { start: '2026-11-22', end: '2026-11-22' }, // the upstream run's window
    });
  });

  test('the longest names (a 30-character purpose in an 80-character state machine) give valid job names, distinct per run name', async () => {
    const longest = synthPurpose('a-purpose-name-of-thirty-chars', 'p'.repeat(49));
    expect(longest.purpose.stateMachineName).toHaveLength(80);
    const events = triggerEvents(longest.config);
    const jobNames: string[] = [];
    const runNames: string[] = [];
    for (const event of [...Object.values(events), { purpose: longest.config.purpose, date: '2026-11-02' }]) {
      const r = await runEvent(longest, event);
      expect(r.name.length).toBeLessThanOrEqual(80);
      expect(r.error).toBeUndefined();
      const jobName = r.jobRequests[0].ProcessingJobName as string;
      expect(jobName).toMatch(JOB_NAME);
      expect(jobName.length).toBeLessThanOrEqual(63);
      jobNames.push(jobName);
      runNames.push(r.name);
    }
    // The schedule and upstream events are of the same window, so they are the same run (and one job).
    expect(new Set(runNames).size).toBe(4);
    expect(new Set(jobNames).size).toBe(4);
  });

  test('any 80-character execution name gives a valid, distinct job name, the same one each time', async () => {
    const input = singleRunInput(resolveRunRequest({ purpose: 'usage-analysis', date: '2026-11-01' }, demo.config, NOW), demo.config);
    const names = ['a'.repeat(80), `${'x_'.repeat(39)}_z`, `${'é'.repeat(40)}${'-'.repeat(40)}`];
    const jobNames: string[] = [];
    for (const name of names) {
      const r = await run(demo.definition, SM_NAME, name, input, completed);
      expect(r.error).toBeUndefined();
      jobNames.push(r.jobRequests[0].ProcessingJobName);
      expect(jobNames[jobNames.length - 1]).toMatch(JOB_NAME);
    }
    expect(new Set(jobNames).size).toBe(names.length);
    // The same execution (name and start) gives the same job name: a retried create cannot create a second job.
    expect((await run(demo.definition, SM_NAME, names[0], input, completed)).jobRequests[0].ProcessingJobName).toBe(jobNames[0]);
    // A name reused after Step Functions forgot it (90 days) starts at another time, and gets a new job name.
    const later = await run(
      demo.definition,
      SM_NAME,
      names[0],
      input,
      completed,
      undefined,
      undefined,
      undefined,
      '2027-03-01T00:00:00.000Z',
    );
    expect(later.jobRequests[0].ProcessingJobName).not.toBe(jobNames[0]);
  });

  test('an input that is not a run input fails at once, and starts no job', async () => {
    for (const input of [
      {},
      { runId: 'x', window: { start: '2026-11-01' }, trigger: { kind: 'manual' } },
      { runId: 1, window: { start: '2026-11-01', end: '2026-11-01' }, attempt: 1, trigger: { kind: 'manual' } },
      { runId: 'x', window: { start: '2026-11-01', end: '2026-11-01' }, trigger: { kind: 'manual' } },
      // A quote in a day would end the literal the query's parameters put it in.
      (() => {
        const valid = singleRunInput(resolveRunRequest({ purpose: 'usage-analysis', date: '2026-11-01' }, demo.config, NOW), demo.config);
        return { ...valid, window: { ...valid.window, start: "2026-11-01' OR '1'='1" } };
      })(),
    ]) {
      const r = await run(demo.definition, SM_NAME, 'console-run', input, completed);
      expect(r.jobRequests).toHaveLength(0);
      expect(r.error).toBeInstanceOf(ExecutionError);
      expect(String(r.error.message)).toMatch(/BatCat\.InvalidRunInput|not a BatCat run input/);
    }
  });

  test('a failed job publishes its FailureReason with the run, and fails the execution with it', async () => {
    const description = {
      ProcessingJobName: 'x',
      ProcessingJobStatus: 'Failed',
      FailureReason: "AlgorithmError: InputError: usage.csv line 3: usage 'abc' is not a number",
    };
    const r = await runEvent(demo, { purpose: 'usage-analysis', date: '2026-11-02' }, () => {
      throw taskError('States.TaskFailed', JSON.stringify(description));
    });
    expect(r.jobRequests).toHaveLength(1);
    expect(r.error).toBeInstanceOf(ExecutionError);
    expect(r.notifications).toHaveLength(1);
    expect(r.notifications[0]).toMatchObject({
      TopicArn: expect.stringMatching(/^Topic/),
      Subject: `BatCat run failed: ${SM_NAME}`,
      Message: {
        purpose: 'usage-analysis',
        stateMachine: SM_NAME,
        execution: `arn:aws:states:eu-west-1:123456789012:execution:${SM_NAME}:${r.name}`,
        runId: r.name,
        window: { start: '2026-11-02', end: '2026-11-02' },
        error: 'States.TaskFailed',
        reason: expect.stringMatching(
          /^AlgorithmError: InputError: usage\.csv line 3: usage 'abc' is not a number \(the script's output: log streams of job usage-analysis-[0-9a-f]+-[0-9a-f]{32} at https:\/\/console\.aws\.amazon\.com\/cloudwatch\/home\?region=eu-west-1#logsV2:log-groups\/log-group\/\$252Faws\$252Fsagemaker\$252FProcessingJobs\$3FlogStreamNameFilter\$3Dusage-analysis-[0-9a-f]+-[0-9a-f]{32}\)$/,
        ),
        jobName: expect.stringMatching(JOB_NAME),
      },
    });
    expect(String(r.error.message)).toContain(description.FailureReason);
  });

  test('every run ends with one completion event on the default bus, valid by the published schema', async () => {
    const ajv = new Ajv({ strict: true });
    addFormats(ajv);
    const valid = ajv.compile(RUN_EVENT_SCHEMA);
    const ok = await runEvent(demo, { purpose: 'usage-analysis', date: '2026-11-03' });
    const failed = await runEvent(demo, { purpose: 'usage-analysis', date: '2026-11-04' }, () => {
      throw taskError('States.TaskFailed', JSON.stringify({ FailureReason: 'AlgorithmError: boom' }));
    });
    const entries = [...ok.events, ...failed.events].map((e) => {
      expect(e.Entries).toHaveLength(1);
      return e.Entries[0];
    });
    expect(entries.map((e) => [e.Source, e.DetailType, e.EventBusName])).toEqual([
      ['batcat', 'Run Succeeded', 'arn:aws:events:eu-west-1:123456789012:event-bus/default'],
      ['batcat', 'Run Failed', 'arn:aws:events:eu-west-1:123456789012:event-bus/default'],
    ]);
    for (const e of entries) expect([valid(e.Detail), ajv.errorsText(valid.errors)]).toEqual([true, 'No errors']);
    expect(entries[0].Detail).toEqual({
      version: 1,
      purpose: 'usage-analysis',
      stateMachineArn: `arn:aws:states:eu-west-1:123456789012:stateMachine:${SM_NAME}`,
      runId: 'usage-analysis-20261103-a1',
      execution: `arn:aws:states:eu-west-1:123456789012:execution:${SM_NAME}:usage-analysis-20261103-a1`,
      window: { start: '2026-11-03', end: '2026-11-03', endExclusive: '2026-11-04' },
      trigger: 'manual',
      attempt: 1,
      force: false,
      outputs: ok.input.outputs,
      status: 'SUCCEEDED',
    });
    expect(entries[1].Detail).toMatchObject({
      status: 'FAILED',
      error: 'States.TaskFailed',
      reason: expect.stringMatching(/^AlgorithmError: boom/),
    });
  });

  test('a job that succeeds but leaves a required output empty fails the run, and no success is reported', async () => {
    const r = await runEvent(demo, { purpose: 'usage-analysis', date: '2026-11-02' }, completed, { summary: 0, details: 1 });
    expect(r.jobRequests).toHaveLength(1);
    expect(r.error).toBeInstanceOf(ExecutionError);
    expect(String(r.error.message)).toContain('output summary is empty');
    expect(r.notifications).toHaveLength(1);
    expect(r.notifications[0].Message).toMatchObject({
      error: 'BatCat.EmptyOutput',
      runId: r.name,
      reason: expect.stringContaining(
        `the job wrote nothing to /opt/ml/processing/output/summary, so nothing reached s3://demo-data-bucket/results/usage-analysis/summary/_attempts/${r.name}/`,
      ),
    });
    expect(r.notifications[0].Message.reason).toContain('[{"output":"summary","keyCount":0},{"output":"details","keyCount":1}]');
    // Nothing is committed: the window's previous result, if any, stays whole.
    expect(r.commits).toEqual([]);
    const ok = await runEvent(demo, { purpose: 'usage-analysis', date: '2026-11-03' }, completed, { summary: 1, details: 1 });
    expect(ok.error).toBeUndefined();
  });

  test('a JSON cause without FailureReason and a plain-text cause are passed on as they are', async () => {
    const json = await runEvent(demo, { purpose: 'usage-analysis', date: '2026-11-03' }, () => {
      throw taskError('States.TaskFailed', '{"ProcessingJobStatus":"Stopped"}');
    });
    expect(json.notifications[0].Message.reason).toBe('{"ProcessingJobStatus":"Stopped"}');
    const text = await runEvent(demo, { purpose: 'usage-analysis', date: '2026-11-04' }, () => {
      throw taskError('SageMaker.ValidationException', 'Role is not authorized');
    });
    expect(text.jobRequests).toHaveLength(1);
    expect(text.notifications[0].Message).toMatchObject({ error: 'SageMaker.ValidationException', reason: 'Role is not authorized' });
  });

  test('a create call that fails after SageMaker created the job: the run follows that one job to success, no second job', async () => {
    const input = singleRunInput(resolveRunRequest({ purpose: 'usage-analysis', date: '2026-11-07' }, demo.config, NOW), demo.config);
    const n = { name: input.runId, input };
    // A fake SageMaker: the first call creates the job and is then throttled on the way back;
    // every later call with that name is refused, as job names are unique forever.
    const jobs = new Map<string, string[]>();
    const r = await run(
      demo.definition,
      SM_NAME,
      n.name,
      n.input,
      (params) => {
        if (jobs.has(params.ProcessingJobName)) {
          throw taskError(
            'SageMaker.AmazonSageMakerException',
            'Job name must be unique within an AWS account and region, and a job with this name already exists (Service: AmazonSageMaker; Status Code: 400)',
          );
        }
        jobs.set(params.ProcessingJobName, ['InProgress', 'InProgress', 'Completed']);
        throw taskError('SageMaker.ThrottlingException', 'Rate exceeded');
      },
      undefined,
      (params) => {
        const states = jobs.get(params.ProcessingJobName)!;
        return {
          ProcessingJobName: params.ProcessingJobName,
          ProcessingJobArn: `arn:aws:sagemaker:eu-west-1:123456789012:processing-job/${params.ProcessingJobName}`,
          ProcessingJobStatus: states.length > 1 ? states.shift() : states[0],
        };
      },
    );
    expect(r.error).toBeUndefined();
    expect(jobs.size).toBe(1);
    // One create, one throttled retry, then the clash is retried as a transient error (retriers match
    // error names, not messages) before the catch follows the job: seven calls, one job.
    expect(r.jobRequests).toHaveLength(7);
    expect(r.notifications).toEqual([]);
    expect(r.output.job).toMatchObject({ status: 'Completed', arn: expect.stringContaining(r.jobRequests[0].ProcessingJobName) });
  });

  test("a followed job that fails: the run fails with that job's FailureReason", async () => {
    const input = singleRunInput(resolveRunRequest({ purpose: 'usage-analysis', date: '2026-11-09' }, demo.config, NOW), demo.config);
    const n = { name: input.runId, input };
    const failed = await run(
      demo.definition,
      SM_NAME,
      n.name,
      n.input,
      (params) => {
        throw taskError('SageMaker.AmazonSageMakerException', `Processing job ${params.ProcessingJobName} already exists`);
      },
      undefined,
      (params) => ({
        ProcessingJobName: params.ProcessingJobName,
        ProcessingJobArn: `arn:aws:sagemaker:eu-west-1:123456789012:processing-job/${params.ProcessingJobName}`,
        ProcessingJobStatus: 'Failed',
        FailureReason: 'AlgorithmError: ExecuteUserScriptError',
      }),
    );
    expect(failed.error).toBeInstanceOf(ExecutionError);
    expect(failed.notifications).toHaveLength(1);
    expect(failed.notifications[0].Message.error).toBe('States.TaskFailed');
    expect(failed.notifications[0].Message.reason).toMatch(
      /^AlgorithmError: ExecuteUserScriptError \(the script's output: log streams of job /,
    );
  });

  test('a notification that cannot be sent: retried, then the run fails with its own error, not the SNS one', async () => {
    const input = singleRunInput(resolveRunRequest({ purpose: 'usage-analysis', date: '2026-11-10' }, demo.config, NOW), demo.config);
    const n = { name: input.runId, input };
    let publishes = 0;
    const machine = new StateMachine(demo.definition, { validationOptions: { checkArn: false } });
    const execution = machine.run(n.input as never, {
      context: executionContext(SM_NAME, n.name),
      overrides: {
        taskResourceLocalHandlers: {
          RecordRunStart: async () => ({}),
          RecordReadStart: async () => ({}),
          RecordRunFailure: async () => ({}),
          AwaitRedrive: awaitRedriveHandler,
          PublishRunFailed: async () => ({}),
          RecordRunInputs: recordInputsStub,
          RunProcessingJob: async (params: any) => {
            throw taskError(
              'States.TaskFailed',
              JSON.stringify({ ProcessingJobName: params.ProcessingJobName, FailureReason: 'AlgorithmError: boom' }),
            );
          },
          NotifyFailure: async () => {
            publishes++;
            throw taskError('SNS.AuthorizationErrorException', 'not allowed to publish');
          },
        },
        retryIntervalOverrides: { RunProcessingJob: 0, NotifyFailure: 0 },
      },
    });
    const error = await execution.result.then(
      () => undefined,
      (e: unknown) => e as any,
    );
    expect(publishes).toBe(4); // the first attempt and three retries
    expect(error).toBeInstanceOf(ExecutionError);
    expect(error.message).toContain('AlgorithmError: boom');
    expect(error.message).not.toContain('not allowed to publish');
  });

  test('transient SageMaker errors are retried five times before the failure is reported', async () => {
    const r = await runEvent(demo, { purpose: 'usage-analysis', date: '2026-11-05' }, () => {
      throw taskError('SageMaker.AmazonSageMakerException', 'Internal error');
    });
    expect(r.jobRequests).toHaveLength(6);
    expect(r.notifications[0].Message).toMatchObject({ error: 'SageMaker.AmazonSageMakerException', reason: 'Internal error' });
  });

  test("a quota that stays exhausted fails the run after quotaWait, with SageMaker's reason, notified", async () => {
    const r = await runEvent(demo, { purpose: 'usage-analysis', date: '2026-11-08' }, () => {
      throw taskError(
        'SageMaker.ResourceLimitExceededException',
        'The account-level service limit ml.m5.large for processing job usage is 0 Instances',
      );
    });
    // The first call and 360 retries a minute apart: six hours of waiting, well inside the nine-hour timeout.
    expect(r.jobRequests).toHaveLength(361);
    expect(r.notifications[0].Message).toMatchObject({
      error: 'SageMaker.ResourceLimitExceededException',
      reason: expect.stringContaining('service limit ml.m5.large'),
    });
  });

  test('an account resource limit is waited out, then the job runs', async () => {
    const r = await runEvent(demo, { purpose: 'usage-analysis', date: '2026-11-06' }, (params, attempt) => {
      if (attempt < 4) throw taskError('SageMaker.ResourceLimitExceededException', 'instance quota reached');
      return completed(params);
    });
    expect(r.error).toBeUndefined();
    expect(r.jobRequests).toHaveLength(4);
    expect(new Set(r.jobRequests.map((p) => p.ProcessingJobName)).size).toBe(1);
    expect(r.notifications).toHaveLength(0);
  });
});

suite('the run ledger, as the state machine writes it', () => {
  const inputOf = (date: string, attempt = 1) =>
    singleRunInput(resolveRunRequest({ purpose: 'usage-analysis', date }, demo.config, NOW), demo.config, attempt);
  const executionOf = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:${SM_NAME}:${name}`;

  test("a run claims its window, then makes its outputs the window's result", async () => {
    const input = inputOf('2026-11-12');
    const r = await run(demo.definition, SM_NAME, input.runId, input, completed);
    expect(r.error).toBeUndefined();
    expect(await dynamo.items(r.table, 'usage-analysis')).toEqual([
      {
        purpose: 'usage-analysis',
        window: '2026-11-12',
        windowEnd: '2026-11-12',
        status: 'SUCCEEDED',
        attempts: 1,
        execution: executionOf('usage-analysis-20261112-a1'),
        runId: 'usage-analysis-20261112-a1',
        trigger: 'manual',
        startedAt: '2026-11-23T01:02:03.456Z',
        // A purpose with S3 arrival records when the run began to read: a later object asks for a follow-up.
        readStartedAt: '2026-11-23T01:02:03.456Z',
        endedAt: '2026-11-23T01:02:03.456Z',
        outputs: JSON.stringify(input.outputs),
      },
    ]);
  });

  test('a failed run records its error and reason; the next attempt claims the window and replaces the record', async () => {
    const failing = () => {
      throw taskError('States.TaskFailed', JSON.stringify({ FailureReason: 'AlgorithmError: boom' }));
    };
    const first = await run(demo.definition, SM_NAME, 'usage-analysis-20261113-a1', inputOf('2026-11-13'), failing);
    expect(first.error).toBeInstanceOf(ExecutionError);
    expect(await dynamo.items(first.table, 'usage-analysis')).toEqual([
      expect.objectContaining({
        status: 'FAILED',
        attempts: 1,
        error: 'States.TaskFailed',
        reason: expect.stringMatching(/^AlgorithmError: boom/),
      }),
    ]);
    const second = await run(
      demo.definition,
      SM_NAME,
      'usage-analysis-20261113-a2',
      inputOf('2026-11-13', 2),
      completed,
      undefined,
      undefined,
      first.table,
    );
    expect(second.error).toBeUndefined();
    const [item] = await dynamo.items(first.table, 'usage-analysis');
    expect(item).toMatchObject({ status: 'SUCCEEDED', attempts: 2, runId: 'usage-analysis-20261113-a2' });
    expect(item).not.toHaveProperty('error');
    expect(item).not.toHaveProperty('reason');
  });

  test('two runs of one window at once leave one complete result: the second stops at WindowTaken before any job', async () => {
    const table = await dynamo.createLedger();
    let release!: () => void;
    const jobRunning = new Promise<void>((r) => (release = r));
    const slowJob = async (params: any) => {
      await jobRunning;
      return completed(params);
    };
    const input = inputOf('2026-11-14');
    const first = run(demo.definition, SM_NAME, input.runId, input, slowJob, undefined, undefined, table);
    // Same window and attempt under another name: two triggers that raced, or a hand-started copy.
    await new Promise((r) => setTimeout(r, 200));
    const second = await run(demo.definition, SM_NAME, 'usage-analysis-console-copy', input, completed, undefined, undefined, table);
    release();
    const winner = await first;
    expect(winner.error).toBeUndefined();
    expect(second.jobRequests).toHaveLength(0);
    expect(second.notifications).toHaveLength(0);
    expect(second.error?.message).toContain('The run ledger holds another attempt at this window');
    expect(await dynamo.items(table, 'usage-analysis')).toEqual([
      expect.objectContaining({ status: 'SUCCEEDED', attempts: 1, execution: executionOf(input.runId) }),
    ]);
    // An older attempt that starts late (a stuck event) cannot take the window from a newer one.
    const stale = await run(
      demo.definition,
      SM_NAME,
      'usage-analysis-20261114-a0',
      { ...input, attempt: 0 },
      completed,
      undefined,
      undefined,
      table,
    );
    expect(stale.jobRequests).toHaveLength(0);
    expect(stale.error?.message).toContain('The run ledger holds another attempt at this window');
  });
});

test('the local interpreter hashes like Step Functions (MD5 of long execution ids)', async () => {
  const machine = new StateMachine({
    StartAt: 'H',
    States: { H: { Type: 'Pass', Parameters: { 'h.$': "States.Hash($.s, 'MD5')" }, End: true } },
  });
  for (const s of ['short', 'x'.repeat(56), `arn:aws:states:eu-west-1:123456789012:execution:${'p'.repeat(80)}:${'é'.repeat(80)}`]) {
    expect(((await machine.run({ s }).result) as any).h).toBe(createHash('md5').update(s).digest('hex'));
  }
});
