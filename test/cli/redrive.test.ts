import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  ExecutionNotRedrivable,
  GetExecutionHistoryCommand,
  RedriveExecutionCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { runCli } from '../../lib/cli/main';
import { shortHash } from '../../lib/contract/run-input';
import { REPO_ROOT } from '../helpers';

/*
 * `batcat redrive` against a mocked Step Functions: what it checks before RedriveExecution
 * (each refusal names the run, why, and what to do instead, and starts nothing), what it prints,
 * and `--wait`, which follows the redriven run with its job logs.
 */

const lambda = mockClient(LambdaClient);
const sfn = mockClient(SFNClient);
const logs = mockClient(CloudWatchLogsClient);
const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:batcat-2022-rnd-battery-dev-usage-analysis';
const EXECUTION = (name: string) => `${SM.replace(':stateMachine:', ':execution:')}:${name}`;
const RUN = 'usage-analysis-20261122-a1';
const NEXT = 'usage-analysis-20261122-a2';
const WINDOW = { start: '2026-11-22', end: '2026-11-22', endExclusive: '2026-11-23' };
const INPUT = JSON.stringify({ runId: RUN, window: WINDOW, attempt: 1, trigger: { kind: 'schedule' } });

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    cwd: REPO_ROOT,
    out: (t) => (out += t),
    err: (t) => (err += t),
    clients: () => ({
      lambda: new LambdaClient({ region: 'eu-west-1' }),
      sfn: new SFNClient({ region: 'eu-west-1' }),
      logs: new CloudWatchLogsClient({ region: 'eu-west-1' }),
    }),
    sleep: async () => undefined,
  });
  return { code, out, err };
}

const notFound = () => new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} });
/** The failed run as DescribeExecution describes it, with `overrides`. */
function failedRun(overrides: Record<string, unknown> = {}) {
  return {
    executionArn: EXECUTION(RUN),
    status: 'FAILED',
    input: INPUT,
    error: 'States.TaskFailed',
    // A failed run ends in AwaitRedrive, a function: its cause is Lambda's JSON of the error.
    cause: JSON.stringify({ errorType: 'States.TaskFailed', errorMessage: 'AlgorithmError: MemoryError (the script ran out of memory)' }),
    redriveStatus: 'REDRIVABLE',
    redriveCount: 0,
    stopDate: new Date('2026-11-23T04:10:00Z'),
    ...overrides,
  } as any;
}
const awaitRedriveEntered = (step: string): any => ({
  type: 'TaskStateEntered',
  stateEnteredEventDetails: { name: 'AwaitRedrive', input: JSON.stringify({ failedAt: { step, redriveCount: 0 } }) },
});

beforeEach(() => {
  lambda.reset();
  sfn.reset();
  logs.reset();
  lambda
    .on(GetFunctionConfigurationCommand)
    .resolves({ Environment: { Variables: { BATCAT_RUN_CONFIG: JSON.stringify({ stateMachineArn: SM }) } } });
  sfn.on(DescribeExecutionCommand, { executionArn: EXECUTION(NEXT) }).rejects(notFound());
  sfn.on(GetExecutionHistoryCommand).resolves({ events: [awaitRedriveEntered('RunProcessingJob')] });
  sfn.on(RedriveExecutionCommand).resolves({ redriveDate: new Date() });
});

const redriveCalls = () => sfn.commandCalls(RedriveExecutionCommand).map((c) => c.args[0].input);

describe('batcat redrive', () => {
  test('redrives a failed run, saying what it failed with and where it resumes', async () => {
    sfn.on(DescribeExecutionCommand, { executionArn: EXECUTION(RUN) }).resolves(failedRun());
    const r = await cli('redrive', '2022-rnd-battery', 'usage-analysis', RUN);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(redriveCalls()).toEqual([{ executionArn: EXECUTION(RUN), clientToken: `batcat-redrive-1-${shortHash(24, EXECUTION(RUN))}` }]);
    expect(r.out.split('\n')).toEqual([
      `redriving run ${RUN} (redrive 1) of usage-analysis`,
      '  it failed with States.TaskFailed: AlgorithmError: MemoryError (the script ran out of memory)',
      '  it resumes at RunProcessingJob, with a new job name',
      `follow it with: batcat logs 2022-rnd-battery usage-analysis ${RUN} --follow`,
      '',
    ]);
  });

  test('--wait follows the redriven run, the new job logs included, and exits 0 when it succeeds', async () => {
    const job = 'usage-analysis-3f1a-0123456789abcdef0123456789abcdef';
    const retried = 'usage-analysis-3f1a-fedcba9876543210fedcba9876543210';
    sfn
      .on(DescribeExecutionCommand, { executionArn: EXECUTION(RUN) })
      .resolvesOnce(failedRun({ redriveCount: 1 }))
      .resolvesOnce(failedRun({ status: 'RUNNING', redriveCount: 1, redriveStatus: 'NOT_REDRIVABLE' }))
      .resolves(failedRun({ status: 'SUCCEEDED', redriveCount: 2, error: undefined, cause: undefined }));
    const scheduled = (name: string): any => ({
      type: 'TaskScheduled',
      taskScheduledEventDetails: {
        resourceType: 'sagemaker',
        resource: 'createProcessingJob.sync',
        parameters: JSON.stringify({ ProcessingJobName: name }),
      },
    });
    sfn
      .on(GetExecutionHistoryCommand, { reverseOrder: true })
      .resolves({ events: [awaitRedriveEntered('RunProcessingJob')] })
      .on(GetExecutionHistoryCommand, { reverseOrder: undefined })
      .resolves({ events: [scheduled(job), awaitRedriveEntered('RunProcessingJob'), scheduled(retried)] });
    logs.on(FilterLogEventsCommand).resolves({ events: [] });
    logs
      .on(FilterLogEventsCommand, { logStreamNamePrefix: `${retried}/` })
      .resolves({ events: [{ eventId: 'e1', logStreamName: `${retried}/algo-1-1764000000`, timestamp: 0, message: 'summary written' }] });
    const r = await cli('redrive', '2022-rnd-battery', 'usage-analysis', RUN, '--wait');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(redriveCalls()).toEqual([{ executionArn: EXECUTION(RUN), clientToken: `batcat-redrive-2-${shortHash(24, EXECUTION(RUN))}` }]);
    expect(r.out).toContain(`job ${retried} (log group /aws/sagemaker/ProcessingJobs)`);
    expect(r.out).toContain('1970-01-01T00:00:00.000Z [algo-1] summary written');
    expect(r.out).toContain('run succeeded (redriven 2 times)');
  });

  const refusals: Array<[string, any, RegExp]> = [
    [
      'a run that succeeded',
      failedRun({ status: 'SUCCEEDED', error: undefined, cause: undefined, redriveStatus: 'NOT_REDRIVABLE' }),
      /run usage-analysis-20261122-a1 succeeded: there is nothing to redrive\. To make its window's result again, start a new attempt of its window instead: batcat run 2022-rnd-battery usage-analysis --date 2026-11-22 --force/,
    ],
    [
      'a run that is still running',
      failedRun({ status: 'RUNNING', error: undefined, cause: undefined, redriveStatus: 'NOT_REDRIVABLE' }),
      /run usage-analysis-20261122-a1 is still running: only a run that failed can be redriven\. Follow it with batcat logs 2022-rnd-battery usage-analysis usage-analysis-20261122-a1 --follow/,
    ],
    [
      'a run that timed out',
      failedRun({ status: 'TIMED_OUT', error: 'States.Timeout' }),
      /run usage-analysis-20261122-a1 timed out: a redrive resumes a run at the step it failed in, and this one did not fail in a step .*; start a new attempt of its window instead/,
    ],
    [
      'a run older than Step Functions redrives',
      failedRun({
        redriveStatus: 'NOT_REDRIVABLE',
        redriveStatusReason: 'Execution redrivable period exceeded',
        stopDate: new Date('2026-11-02T04:10:00Z'),
      }),
      /run usage-analysis-20261122-a1 ended 2026-11-02, more than 14 days ago: Step Functions redrives runs for 14 days after they end; start a new attempt of its window instead: batcat run 2022-rnd-battery usage-analysis --date 2026-11-22 --force/,
    ],
    [
      'a run that found its window taken',
      failedRun({ error: 'BatCat.WindowTaken', cause: 'The run ledger holds another attempt at this window' }),
      /run usage-analysis-20261122-a1 failed with BatCat\.WindowTaken: it found another attempt holding its window and ran nothing, so a redrive would end the same way/,
    ],
    [
      'a reproduction',
      failedRun({ input: JSON.stringify({ ...JSON.parse(INPUT), reproduction: { of: 'usage-analysis-20261101-a1' } }) }),
      /run usage-analysis-20261122-a1 is a reproduction: run batcat reproduce 2022-rnd-battery usage-analysis --remote again instead/,
    ],
  ];
  test.each(refusals)('refuses %s, saying what to do instead, and starts nothing', async (_what, described, message) => {
    sfn.on(DescribeExecutionCommand, { executionArn: EXECUTION(RUN) }).resolves(described);
    const r = await cli('redrive', '2022-rnd-battery', 'usage-analysis', RUN);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(redriveCalls()).toEqual([]);
  });

  test("refuses a run whose window's next attempt has started: the state machine would refuse it too", async () => {
    sfn.on(DescribeExecutionCommand, { executionArn: EXECUTION(RUN) }).resolves(failedRun());
    sfn.on(DescribeExecutionCommand, { executionArn: EXECUTION(NEXT) }).resolves({ status: 'SUCCEEDED' } as any);
    const r = await cli('redrive', '2022-rnd-battery', 'usage-analysis', RUN);
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      `run ${RUN} is attempt 1 of its window, and attempt 2 (${NEXT}, succeeded) started after it: the window's result is the newer attempt's business`,
    );
    expect(redriveCalls()).toEqual([]);
  });

  test('an unknown run, and a run Step Functions refuses after all, are clear errors', async () => {
    sfn.on(DescribeExecutionCommand, { executionArn: EXECUTION('usage-analysis-20261122-a9') }).rejects(notFound());
    const unknown = await cli('redrive', '2022-rnd-battery', 'usage-analysis', 'usage-analysis-20261122-a9');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain(
      'usage-analysis has no run usage-analysis-20261122-a9; batcat runs 2022-rnd-battery usage-analysis lists its runs',
    );

    sfn.on(DescribeExecutionCommand, { executionArn: EXECUTION(RUN) }).resolves(failedRun());
    sfn
      .on(RedriveExecutionCommand)
      .rejects(new ExecutionNotRedrivable({ message: 'Execution is RUNNING and cannot be redriven', $metadata: {} }));
    const raced = await cli('redrive', '2022-rnd-battery', 'usage-analysis', RUN);
    expect(raced.code).toBe(2);
    expect(raced.err).toContain(`Step Functions cannot redrive run ${RUN}: Execution is RUNNING and cannot be redriven`);
  });
});
