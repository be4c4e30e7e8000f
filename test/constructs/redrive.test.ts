import { createHash } from 'node:crypto';
import { Template } from 'aws-cdk-lib/assertions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Purpose } from '../../lib/constructs/purpose';
import { redriveTryName, REDRIVE_REFUSED_ERROR } from '../../lib/contract/redrive';
import { resolveRunRequest, singleRunInput } from '../../lib/runtime/trigger';
import { definitionOf, recordInputsStub, runConfigOf, stubRefs } from '../helpers';
import { motoUnavailable, startMotoServer, type MotoServer } from '../moto-server';
import { awaitRedriveHandler, runLocally, taskError, type LocalExecution } from '../local-step-functions';
import { baseStack } from './fixtures';

/*
 * Redrive, with the synthesized state machine in the local interpreter and the run ledger in
 * moto's DynamoDB. The interpreter cannot redrive, so runLocally does what RedriveExecution
 * does: it runs the failed state again with its input, in the same execution, RedriveCount + 1.
 */

const JOB_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const NOW = new Date('2026-11-23T09:30:00Z');
const START_TIME = '2026-11-23T01:02:03.456Z';

function synthPurpose() {
  const { stack, bucket, topic } = baseStack();
  const purpose = new Purpose(stack, 'UsageAnalysis', {
    purposeName: 'usage-analysis',
    namePrefix: 'batcat-demo-dev',
    bucket,
    notificationTopic: topic,
    image: tasks.DockerImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/usage:1'),
    inputs: [{ name: 'usage', keyPrefix: 'raw/usage/', partitioned: true }],
    outputs: [{ name: 'summary' }],
  });
  const template = Template.fromStack(stack);
  const machines = `arn:aws:states:eu-west-1:123456789012:stateMachine:${purpose.stateMachineName}`;
  const stubs = stubRefs((ref) => (ref.startsWith('Data') ? 'demo-data-bucket' : ref.includes('StateMachine') ? machines : undefined));
  return { purpose, definition: definitionOf(template, stubs), config: runConfigOf(template, stubs) };
}

const demo = synthPurpose();
const SM_NAME = demo.purpose.stateMachineName;
const executionOf = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:${SM_NAME}:${name}`;
const inputOf = (date: string, attempt = 1) =>
  singleRunInput(resolveRunRequest({ purpose: 'usage-analysis', date }, demo.config, NOW), demo.config, attempt);
/** The job name a try of the execution must get: the prefix and the MD5 of its id, start time and redrive count. */
const jobNameOf = (name: string, redriveCount: number) =>
  `${demo.purpose.jobNamePrefix}-${createHash('md5')
    .update(`${executionOf(name)} ${START_TIME} ${redriveCount}`)
    .digest('hex')}`;

const unavailable = motoUnavailable();
if (unavailable) console.warn(`test/constructs/redrive.test.ts is skipped: ${unavailable}`);
const suite = unavailable ? describe.skip : describe;
let dynamo: MotoServer;
beforeAll(async () => {
  if (!unavailable) dynamo = await startMotoServer();
}, 60_000);
afterAll(async () => dynamo?.stop());

/** What the run asked of the services, and what the ledger and notifications saw. */
interface Calls {
  jobs: any[];
  commits: any[];
  notifications: any[];
  events: any[];
}

const failedJob = (reason: string) => () => {
  throw taskError('States.TaskFailed', JSON.stringify({ FailureReason: reason }));
};
const completed = (params: any) => ({
  ProcessingJobArn: `arn:aws:sagemaker:eu-west-1:123456789012:processing-job/${params.ProcessingJobName}`,
  ProcessingJobStatus: 'Completed',
});

/** One try of the execution `name`: its first run, or (with `redrive`) a redrive of the failed one. */
async function tryRun(
  table: string,
  name: string,
  input: any,
  behaviour: { job?: (params: any) => any; commit?: () => any },
  redrive?: { failed: LocalExecution; count: number },
): Promise<LocalExecution & Calls> {
  const calls: Calls = { jobs: [], commits: [], notifications: [], events: [] };
  const r = await runLocally(demo.definition, {
    stateMachineName: SM_NAME,
    executionName: name,
    input,
    redrive,
    handlers: {
      ...handlersCounting(table, () => 1),
      RunProcessingJob: async (params: any) => {
        calls.jobs.push(params);
        return (behaviour.job ?? completed)(params);
      },
      CommitResults: async (params: any) => {
        calls.commits.push(params);
        return behaviour.commit ? behaviour.commit() : { outputs: [] };
      },
      NotifyFailure: async (params: any) => {
        calls.notifications.push(params.Message);
        return { MessageId: 'm-1' };
      },
      PublishRunSucceeded: async (params: any) => {
        calls.events.push(params.Entries[0]);
        return { FailedEntryCount: 0 };
      },
      PublishRunFailed: async (params: any) => {
        calls.events.push(params.Entries[0]);
        return { FailedEntryCount: 0 };
      },
    },
    retryIntervalOverrides: { RunProcessingJob: 0, CommitResults: 0 },
  });
  return { ...r, ...calls };
}

const lastState = (r: LocalExecution) => r.entered.at(-1)?.state;
const statesOf = (r: LocalExecution) => r.entered.map((e) => e.state);

suite('redrive, executed locally', () => {
  test("a run whose job failed ends in AwaitRedrive with the job's error; its redrive runs a new job, under a new valid name and folder, to success", async () => {
    const table = await dynamo.createLedger();
    const input = inputOf('2026-11-20');
    const first = await tryRun(table, input.runId, input, { job: failedJob('AlgorithmError: out of memory') });
    // The execution fails in AwaitRedrive, with the run's own error and reason, after the failure was recorded, notified and published.
    expect(lastState(first)).toBe('AwaitRedrive');
    // The job's error, States.TaskFailed, is one of Step Functions' own names, which a task may not report: the reason keeps it.
    expect(first.error!.name).toBe('BatCat.RunFailed');
    expect(JSON.parse(first.error!.message).errorMessage).toMatch(/^States\.TaskFailed: AlgorithmError: out of memory/);
    expect(first.notifications).toEqual([expect.objectContaining({ failedIn: 'RunProcessingJob', jobName: jobNameOf(input.runId, 0) })]);
    expect(first.events.map((e) => e.DetailType)).toEqual(['Run Failed']);
    expect(await dynamo.items(table, 'usage-analysis')).toEqual([expect.objectContaining({ status: 'FAILED', attempts: 1 })]);
    expect(first.jobs[0].ProcessingJobName).toBe(jobNameOf(input.runId, 0));

    const redriven = await tryRun(table, input.runId, input, {}, { failed: first, count: 1 });
    expect(redriven.error).toBeUndefined();
    // Nothing before the failed step runs again: no claim, no second manifest of the inputs.
    expect(statesOf(redriven).slice(0, 6)).toEqual([
      'AwaitRedrive',
      'RedriveFrom',
      'ReopenRun',
      'ResumeAtFailedStep',
      'ResolveRedrive',
      'ResumeWithNewTry',
    ]);
    expect(statesOf(redriven)).not.toContain('RecordRunStart');
    expect(statesOf(redriven)).not.toContain('RecordRunInputs');
    const [job] = redriven.jobs;
    expect(job.ProcessingJobName).toBe(jobNameOf(input.runId, 1));
    expect(job.ProcessingJobName).toMatch(JOB_NAME);
    expect(job.ProcessingJobName.startsWith(`${demo.purpose.jobNamePrefix}-`)).toBe(true);
    expect(job.ProcessingJobName).not.toBe(first.jobs[0].ProcessingJobName);
    expect(job.Environment.BATCAT_JOB_NAME).toBe(job.ProcessingJobName);
    // The redriven job writes to a folder of its own: what the failed job left is not committed.
    const folder = `_attempts/${redriveTryName(input.runId, 1)}/`;
    expect(job.ProcessingOutputConfig.Outputs[0].S3Output.S3Uri).toContain(folder);
    expect(first.jobs[0].ProcessingOutputConfig.Outputs[0].S3Output.S3Uri).not.toContain('redrive');
    expect(redriven.commits[0].outputs[0].attemptPrefix).toContain(folder);
    expect(redriven.events.map((e) => e.DetailType)).toEqual(['Run Succeeded']);
    expect(await dynamo.items(table, 'usage-analysis')).toEqual([
      expect.objectContaining({
        status: 'SUCCEEDED',
        attempts: 1,
        execution: executionOf(input.runId),
        redrives: 1,
        redrivenAt: expect.any(String),
      }),
    ]);
    const [item] = await dynamo.items(table, 'usage-analysis');
    expect(item).not.toHaveProperty('error');
  });

  test("a run that failed after its job resumes at the failed step, in the job's folder: no second job", async () => {
    const table = await dynamo.createLedger();
    const input = inputOf('2026-11-19');
    const first = await tryRun(table, input.runId, input, {
      commit: () => {
        throw taskError('Lambda.Unknown', JSON.stringify({ errorType: 'Error', errorMessage: 'the commit was cut off' }));
      },
    });
    expect(lastState(first)).toBe('AwaitRedrive');
    expect(first.jobs).toHaveLength(1);
    expect(first.notifications[0]).toMatchObject({ failedIn: 'CommitResults' });

    const redriven = await tryRun(table, input.runId, input, {}, { failed: first, count: 1 });
    expect(redriven.error).toBeUndefined();
    expect(redriven.jobs).toHaveLength(0);
    expect(statesOf(redriven)).not.toContain('ResolveRedrive');
    expect(redriven.commits).toHaveLength(1);
    expect(redriven.commits[0].outputs[0].attemptPrefix).toBe(first.commits[0].outputs[0].attemptPrefix);
    expect(redriven.commits[0].outputs[0].attemptPrefix).toContain(`_attempts/${input.runId}/`);
    expect(await dynamo.items(table, 'usage-analysis')).toEqual([expect.objectContaining({ status: 'SUCCEEDED', redrives: 1 })]);
  });

  test('a redrive that fails again ends in AwaitRedrive again, and the next redrive gets yet another job name', async () => {
    const table = await dynamo.createLedger();
    const input = inputOf('2026-11-18');
    const first = await tryRun(table, input.runId, input, { job: failedJob('AlgorithmError: first') });
    const second = await tryRun(table, input.runId, input, { job: failedJob('AlgorithmError: second') }, { failed: first, count: 1 });
    expect(lastState(second)).toBe('AwaitRedrive');
    expect(JSON.parse(second.error!.message).errorMessage).toContain('AlgorithmError: second');
    expect(await dynamo.items(table, 'usage-analysis')).toEqual([
      expect.objectContaining({ status: 'FAILED', redrives: 1, reason: expect.stringContaining('AlgorithmError: second') }),
    ]);
    const third = await tryRun(table, input.runId, input, {}, { failed: second, count: 2 });
    expect(third.error).toBeUndefined();
    const names = [first, second, third].map((r) => r.jobs[0].ProcessingJobName);
    expect(names).toEqual([jobNameOf(input.runId, 0), jobNameOf(input.runId, 1), jobNameOf(input.runId, 2)]);
    expect(new Set(names).size).toBe(3);
    for (const n of names) expect(n).toMatch(JOB_NAME);
  });

  test('a redrive after a newer attempt of the window started is refused: nothing runs, the newer attempt keeps the window', async () => {
    const table = await dynamo.createLedger();
    const input = inputOf('2026-11-17');
    const first = await tryRun(table, input.runId, input, { job: failedJob('AlgorithmError: boom') });
    const newer = inputOf('2026-11-17', 2);
    const second = await tryRun(table, newer.runId, newer, {});
    expect(second.error).toBeUndefined();

    const redriven = await tryRun(table, input.runId, input, {}, { failed: first, count: 1 });
    expect(redriven.error!.name).toBe(REDRIVE_REFUSED_ERROR);
    expect(lastState(redriven)).toBe('RedriveRefused');
    expect(redriven.jobs).toHaveLength(0);
    expect(redriven.commits).toHaveLength(0);
    expect(redriven.events).toHaveLength(0);
    expect(await dynamo.items(table, 'usage-analysis')).toEqual([
      expect.objectContaining({ status: 'SUCCEEDED', attempts: 2, execution: executionOf(newer.runId) }),
    ]);
  });

  test('a redrive of a run that failed on an empty output runs the job again, in a new folder', async () => {
    const table = await dynamo.createLedger();
    const input = inputOf('2026-11-16');
    let written = 0;
    const r = await runLocally(demo.definition, {
      stateMachineName: SM_NAME,
      executionName: input.runId,
      input,
      handlers: handlersCounting(table, () => written),
      retryIntervalOverrides: { RunProcessingJob: 0 },
    });
    expect(r.error!.name).toBe('BatCat.EmptyOutput');
    written = 1;
    const redriven = await runLocally(demo.definition, {
      stateMachineName: SM_NAME,
      executionName: input.runId,
      input,
      handlers: handlersCounting(table, () => written),
      redrive: { failed: r, count: 1 },
    });
    expect(redriven.error).toBeUndefined();
    const job = redriven.entered.find((e) => e.state === 'RunProcessingJob');
    expect(job?.input.batcat).toMatchObject({ jobName: jobNameOf(input.runId, 1), attemptFolder: `_attempts/${input.runId}-redrive-1/` });
  });

  test('a run that failed in its claim (the ledger could not be written) claims the window again when redriven', async () => {
    const table = await dynamo.createLedger();
    const input = inputOf('2026-11-15');
    const denied = await runLocally(demo.definition, {
      stateMachineName: SM_NAME,
      executionName: input.runId,
      input,
      handlers: {
        ...handlersCounting(table, () => 1),
        RecordRunStart: async () => {
          throw taskError('DynamoDB.DynamoDbException', 'User is not authorized to perform: dynamodb:UpdateItem');
        },
      },
    });
    expect(denied.error!.name).toBe('DynamoDB.DynamoDbException');
    expect(await dynamo.items(table, 'usage-analysis')).toEqual([]);
    const redriven = await runLocally(demo.definition, {
      stateMachineName: SM_NAME,
      executionName: input.runId,
      input,
      handlers: handlersCounting(table, () => 1),
      redrive: { failed: denied, count: 1 },
    });
    expect(redriven.error).toBeUndefined();
    expect(statesOf(redriven)).not.toContain('ReopenRun');
    expect(statesOf(redriven)).toContain('RecordRunStart');
    expect(await dynamo.items(table, 'usage-analysis')).toEqual([expect.objectContaining({ status: 'SUCCEEDED', attempts: 1 })]);
  });
});

/** Handlers for a run whose job completes and whose output holds `written()` objects. */
function handlersCounting(table: string, written: () => number): Record<string, (input: any) => any> {
  const write = (params: any) => dynamo.ledgerWrite(table, params);
  return {
    RecordRunStart: write,
    RecordRunSuccess: write,
    RecordRunFailure: write,
    ReopenRun: write,
    RecordRunInputs: async (params: any) => recordInputsStub(params),
    RecordRunOutputs: async () => ({ manifest: 's3://demo-data-bucket/_batcat/runs/x/manifest.json', inputObjects: 1, outputObjects: 1 }),
    RunProcessingJob: async (params: any) => completed(params),
    'CountOutput-summary': async () => ({ KeyCount: written() }),
    CommitResults: async () => ({ outputs: [] }),
    NotifyFailure: async () => ({ MessageId: 'm-1' }),
    PublishRunSucceeded: async () => ({ FailedEntryCount: 0 }),
    PublishRunFailed: async () => ({ FailedEntryCount: 0 }),
    AwaitRedrive: awaitRedriveHandler,
  };
}
