import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { runCli } from '../../lib/cli/main';
import { REPO_ROOT } from '../helpers';

/*
 * `batcat logs` against mocked Step Functions and CloudWatch Logs: the run's jobs come from its
 * execution history, their streams (one per instance) are read page by page and interleaved by
 * time, and the run's failure cause ends the output. `--follow` polls until the run ends.
 */

const lambda = mockClient(LambdaClient);
const sfn = mockClient(SFNClient);
const logs = mockClient(CloudWatchLogsClient);
const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:batcat-2022-rnd-battery-dev-usage-analysis';
const EXECUTION = (name: string) => `${SM.replace(':stateMachine:', ':execution:')}:${name}`;
const JOB = 'usage-analysis-3f1a-0123456789abcdef0123456789abcdef';

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  let slept = 0;
  const code = await runCli(argv, {
    cwd: REPO_ROOT,
    out: (t) => (out += t),
    err: (t) => (err += t),
    clients: () => ({
      lambda: new LambdaClient({ region: 'eu-west-1' }),
      sfn: new SFNClient({ region: 'eu-west-1' }),
      logs: new CloudWatchLogsClient({ region: 'eu-west-1' }),
    }),
    sleep: async () => {
      slept++;
    },
  });
  return { code, out, err, slept };
}

const scheduled = (job: string): any => ({
  type: 'TaskScheduled',
  taskScheduledEventDetails: {
    resourceType: 'sagemaker',
    resource: 'createProcessingJob.sync',
    region: 'eu-west-1',
    parameters: JSON.stringify({ ProcessingJobName: job, AppSpecification: {} }),
  },
});
const event = (id: string, stream: string, t: number, message: string) => ({
  eventId: id,
  logStreamName: `${JOB}/${stream}`,
  timestamp: Date.parse('2026-11-23T01:00:00Z') + t * 1000,
  message,
});

beforeEach(() => {
  lambda.reset();
  sfn.reset();
  logs.reset();
  lambda
    .on(GetFunctionConfigurationCommand)
    .resolves({ Environment: { Variables: { BATCAT_RUN_CONFIG: JSON.stringify({ stateMachineArn: SM }) } } });
});

describe('batcat logs', () => {
  test('all instances of the job, every page, interleaved by time with the instance named; then the failure cause', async () => {
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'FAILED',
      error: 'States.TaskFailed',
      cause: "AlgorithmError: KeyError: 'usage'",
    });
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: [{ type: 'ExecutionStarted' } as any, scheduled(JOB)], nextToken: 'h2' })
      .resolvesOnce({ events: [{ type: 'TaskFailed' } as any] });
    // Two pages; the second holds an earlier line of the other instance, as FilterLogEvents may return them.
    logs
      .on(FilterLogEventsCommand)
      .resolvesOnce({
        events: [event('1', 'algo-1-1763859600', 1, 'reading usage.csv\n'), event('3', 'algo-1-1763859600', 5, 'Traceback ...')],
        nextToken: 'p2',
      })
      .resolvesOnce({ events: [event('2', 'algo-2-1763859601', 3, 'reading usage-2.csv')] });
    const r = await cli('logs', '2022-rnd-battery', 'usage-analysis', 'usage-analysis-20261122-a1');
    expect(r.code).toBe(1);
    expect(r.out.trim().split('\n')).toEqual([
      'run usage-analysis-20261122-a1',
      `job ${JOB} (log group /aws/sagemaker/ProcessingJobs)`,
      '2026-11-23T01:00:01.000Z [algo-1] reading usage.csv',
      '2026-11-23T01:00:03.000Z [algo-2] reading usage-2.csv',
      '2026-11-23T01:00:05.000Z [algo-1] Traceback ...',
      'run failed',
      '  error: States.TaskFailed',
      "  cause: AlgorithmError: KeyError: 'usage'",
    ]);
    const calls = logs.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      { logGroupName: '/aws/sagemaker/ProcessingJobs', logStreamNamePrefix: `${JOB}/`, startTime: undefined, nextToken: undefined },
      { logGroupName: '/aws/sagemaker/ProcessingJobs', logStreamNamePrefix: `${JOB}/`, startTime: undefined, nextToken: 'p2' },
    ]);
    expect(sfn.commandCalls(DescribeExecutionCommand)[0].args[0].input.executionArn).toBe(EXECUTION('usage-analysis-20261122-a1'));
  });

  test('--date finds the newest attempt at that window; --follow tails it until it ends, each line once', async () => {
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        { name: 'usage-analysis-20261123-a1', executionArn: EXECUTION('usage-analysis-20261123-a1') },
        { name: 'usage-analysis-20261122-a2', executionArn: EXECUTION('usage-analysis-20261122-a2') },
        { name: 'usage-analysis-20261122-a1', executionArn: EXECUTION('usage-analysis-20261122-a1') },
      ] as any,
    });
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({ status: 'RUNNING' })
      .resolvesOnce({ status: 'RUNNING' })
      .resolves({ status: 'SUCCEEDED', redriveCount: 1 });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [scheduled(JOB)] });
    logs
      .on(FilterLogEventsCommand)
      .resolvesOnce({ events: [event('1', 'algo-1-1763859600', 1, 'start')] })
      .resolvesOnce({ events: [event('1', 'algo-1-1763859600', 1, 'start'), event('2', 'algo-1-1763859600', 2, 'half way')] })
      .resolves({ events: [event('3', 'algo-1-1763859600', 9, 'done')] });
    const r = await cli('logs', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-22', '--follow');
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n')).toEqual([
      'run usage-analysis-20261122-a2',
      `job ${JOB} (log group /aws/sagemaker/ProcessingJobs)`,
      '2026-11-23T01:00:01.000Z [algo-1] start',
      '2026-11-23T01:00:02.000Z [algo-1] half way',
      '2026-11-23T01:00:09.000Z [algo-1] done',
      'run succeeded (redriven 1 time)',
    ]);
    expect(r.slept).toBe(2);
    // After the first poll, only what is new since the last line is asked for.
    expect(logs.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input.startTime)).toEqual([
      undefined,
      Date.parse('2026-11-23T01:00:01Z'),
      Date.parse('2026-11-23T01:00:02Z'),
    ]);
  });

  test('a window without runs, and a run id with --date, are named mistakes', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    const none = await cli('logs', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-01');
    expect([none.code, none.err]).toEqual([2, expect.stringContaining('no run of usage-analysis for the window starting 2026-11-01')]);
    const both = await cli('logs', '2022-rnd-battery', 'usage-analysis', 'x-a1', '--date', '2026-11-01');
    expect([both.code, both.err]).toEqual([2, expect.stringContaining('give a run id or --date, not both')]);
  });
});
