import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GetFunctionConfigurationCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { runCli } from '../../lib/cli/main';
import { REPO_ROOT } from '../helpers';
import { batcat } from './cli-process';

/*
 * `batcat run` and `batcat runs` against the example project, with Lambda and Step Functions
 * mocked (no AWS here). The trigger's answers are the shapes lib/runtime/trigger.ts returns.
 */

const lambda = mockClient(LambdaClient);
const logs = mockClient(CloudWatchLogsClient);
const sfn = mockClient(SFNClient);
const FUNCTION = 'batcat-2022-rnd-battery-dev-usage-analysis-trigger';
const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:batcat-2022-rnd-battery-dev-usage-analysis';
const EXECUTION = (name: string) => `${SM.replace(':stateMachine:', ':execution:')}:${name}`;

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    cwd: REPO_ROOT,
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    clients: () => ({
      lambda: new LambdaClient({ region: 'eu-west-1' }),
      sfn: new SFNClient({ region: 'eu-west-1' }),
      logs: new CloudWatchLogsClient({ region: 'eu-west-1' }),
    }),
    sleep: async () => undefined,
  });
  return { code, out, err };
}

const payload = (v: unknown) => Buffer.from(JSON.stringify(v)) as any;

/** The trigger answers what it did with the one-day window starting `day`: attempt 1 of it, `runId`. */
function triggerAnswers(
  day: string,
  action: 'started' | 'already-started' | 'succeeded' | 'running',
  runId = `usage-analysis-${day.replace(/-/g, '')}-a1`,
) {
  lambda.on(InvokeCommand).resolves({
    StatusCode: 200,
    Payload: payload({
      purpose: 'usage-analysis',
      trigger: 'manual',
      windows: [{ window: { start: day, end: day }, action, runId, attempt: 1, executionArn: EXECUTION(runId) }],
    }),
  });
}
const invoked = () =>
  lambda.commandCalls(InvokeCommand).map((c) => ({
    name: c.args[0].input.FunctionName,
    request: JSON.parse(Buffer.from(c.args[0].input.Payload as Uint8Array).toString()),
  }));

beforeEach(() => {
  lambda.reset();
  sfn.reset();
  logs.reset();
});

/** The trigger's answer to a backfill of 2026-11-01..03: two windows started, one running. */
function backfillAnswer() {
  const w = (day: string) => ({ start: day, end: day });
  lambda.on(InvokeCommand).resolves({
    Payload: payload({
      purpose: 'usage-analysis',
      trigger: 'manual',
      windows: [
        {
          window: w('2026-11-01'),
          action: 'started',
          runId: 'usage-analysis-20261101-a2',
          attempt: 2,
          executionArn: EXECUTION('usage-analysis-20261101-a2'),
        },
        { window: w('2026-11-02'), action: 'running', runId: 'usage-analysis-20261102-a1', attempt: 1 },
        {
          window: w('2026-11-03'),
          action: 'started',
          runId: 'usage-analysis-20261103-a1',
          attempt: 1,
          executionArn: EXECUTION('usage-analysis-20261103-a1'),
        },
      ],
      backfill: { name: 'usage-analysis-backfill-20261101-20261103-0a1b2c3d', executionArn: `${SM}-backfill:x`, status: 'started' },
    }),
  });
}

describe('batcat run', () => {
  test("asks the purpose's trigger for the run and prints what it started", async () => {
    triggerAnswers('2026-11-22', 'started');
    const r = await cli('run', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-22');
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(invoked()).toEqual([{ name: FUNCTION, request: { trigger: 'manual', purpose: 'usage-analysis', date: '2026-11-22' } }]);
    expect(r.out).toContain('started usage-analysis-20261122-a1 for 2026-11-22..2026-11-22 (attempt 1)');
    expect(r.out).toContain(
      `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${EXECUTION('usage-analysis-20261122-a1')}`,
    );
  });

  test('a window that succeeded is not run again: the answer says so and how to replace it', async () => {
    triggerAnswers('2026-11-22', 'succeeded');
    const r = await cli('run', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-22');
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      '2026-11-22..2026-11-22 already succeeded (usage-analysis-20261122-a1); add --force to replace its result with a new attempt',
    );
  });

  test('a duplicate request finds its attempt; if that attempt failed meanwhile, exit 1 and say how to get a new one', async () => {
    triggerAnswers('2026-11-21', 'already-started');
    sfn.on(DescribeExecutionCommand).resolves({ status: 'FAILED', error: 'BatCat.EmptyOutput', cause: 'output summary is empty' });
    const r = await cli('run', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-21');
    expect(r.code).toBe(1);
    expect(r.out).toContain('already started: usage-analysis-20261121-a1 for 2026-11-21..2026-11-21 exists, so no second job was started');
    expect(r.out).toContain(
      '  that run ended FAILED: BatCat.EmptyOutput: output summary is empty\n  ask again (without --force) to start a new attempt at a failed window\n',
    );
  });

  test('passes --force and a backfill range, and lists what became of each window', async () => {
    backfillAnswer();
    const r = await cli('run', '2022-rnd-battery', 'usage-analysis', '--from', '2026-11-01', '--to', '2026-11-03', '--backfill', '--force');
    expect(r.code).toBe(0);
    expect(invoked()[0].request).toEqual({
      trigger: 'manual',
      purpose: 'usage-analysis',
      from: '2026-11-01',
      to: '2026-11-03',
      backfill: true,
      force: true,
    });
    expect(r.out).toContain(
      'started backfill usage-analysis-backfill-20261101-20261103-0a1b2c3d: 2 of 3 window(s) to run, at most 2 at a time\n' +
        '  started usage-analysis-20261101-a2 for 2026-11-01..2026-11-01 (attempt 2)\n' +
        '  2026-11-02..2026-11-02 is running (usage-analysis-20261102-a1); nothing new started\n' +
        '  started usage-analysis-20261103-a1 for 2026-11-03..2026-11-03 (attempt 1)\n',
    );
  });

  test('--wait follows a backfill, then reports how each window it started ended, and exits 1 if any failed', async () => {
    backfillAnswer();
    sfn
      .on(DescribeExecutionCommand, { executionArn: `${SM}-backfill:x` })
      .resolves({ status: 'FAILED', error: 'BatCat.BackfillIncomplete' } as any)
      .on(DescribeExecutionCommand, { executionArn: EXECUTION('usage-analysis-20261101-a2') })
      .resolves({ status: 'SUCCEEDED' } as any)
      .on(DescribeExecutionCommand, { executionArn: EXECUTION('usage-analysis-20261103-a1') })
      .resolves({ status: 'FAILED', error: 'BatCat.EmptyOutput', cause: 'output summary is empty' } as any);
    const r = await cli('run', '2022-rnd-battery', 'usage-analysis', '--from', '2026-11-01', '--to', '2026-11-03', '--backfill', '--wait');
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      'windows:\n' +
        '  2026-11-01..2026-11-01  succeeded  usage-analysis-20261101-a2\n' +
        '  2026-11-03..2026-11-03  failed  usage-analysis-20261103-a1: BatCat.EmptyOutput: output summary is empty\n' +
        '1 of 2 window(s) did not succeed; ask again to start new attempts at them\n',
    );
  });

  test("prints the trigger's reason and exits 1 when it refuses the request", async () => {
    lambda.on(InvokeCommand).resolves({
      FunctionError: 'Unhandled',
      Payload: payload({
        errorType: 'RunRequestError',
        errorMessage: 'the window 2026-10-01..2026-10-30 is 30 days; one run may cover at most 1',
      }),
    });
    const r = await cli('run', '2022-rnd-battery', 'usage-analysis', '--from', '2026-10-01', '--to', '2026-10-30');
    expect(r.code).toBe(1);
    expect(r.out).toContain('not started: the window 2026-10-01..2026-10-30 is 30 days');
  });

  test('--param on a purpose without parameters, or not name=value, is refused before the trigger is asked', async () => {
    for (const [param, message] of [
      ['threshold=0.7', "purpose 'usage-analysis' declares no parameters, so --param threshold cannot be given"],
      ['0.7', "--param '0.7' is not name=value; write e.g. --param threshold=0.7"],
    ]) {
      const r = await cli('run', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-20', '--param', param);
      expect([r.code, r.err]).toEqual([2, expect.stringContaining(message)]);
    }
    for (const r of [await cli('run-local', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-20', '--param', 'x=1')]) {
      expect([r.code, r.err]).toEqual([2, expect.stringContaining("purpose 'usage-analysis' declares no parameters")]);
    }
    expect(invoked()).toEqual([]);
  });

  test('--wait follows the run to its end and exits with its outcome', async () => {
    triggerAnswers('2026-11-22', 'started', 'r');
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({ status: 'RUNNING' } as any)
      .resolvesOnce({ status: 'RUNNING' } as any)
      .resolvesOnce({ status: 'FAILED', error: 'States.TaskFailed', cause: 'InputError: no .csv files' } as any);
    const r = await cli('run', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-22', '--wait', '--poll-seconds', '1');
    expect(r.code).toBe(1);
    expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(3);
    expect(r.out).toMatch(
      /running after \d+s\n[\s\S]*failed after \d+s\n {2}error: States.TaskFailed\n {2}cause: InputError: no .csv files/,
    );
  });

  test("--wait prints the job's log lines as they come, as the SageMaker SDK's wait=True, logs=True does", async () => {
    triggerAnswers('2026-11-22', 'started', 'r');
    const job = 'usage-analysis-3f1a-0123456789abcdef0123456789abcdef';
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({ status: 'RUNNING' } as any)
      .resolves({ status: 'SUCCEEDED' } as any);
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        {
          type: 'TaskScheduled',
          taskScheduledEventDetails: {
            resourceType: 'sagemaker',
            resource: 'createProcessingJob.sync',
            parameters: JSON.stringify({ ProcessingJobName: job }),
          },
        } as any,
      ],
    });
    const line = (id: string, t: number, message: string) => ({
      eventId: id,
      logStreamName: `${job}/algo-1-1763859600`,
      timestamp: Date.parse('2026-11-22T05:00:00Z') + t * 1000,
      message,
    });
    logs
      .on(FilterLogEventsCommand)
      .resolvesOnce({ events: [line('1', 0, 'reading')] })
      .resolves({ events: [line('1', 0, 'reading'), line('2', 4, 'wrote 2 rows')] });
    const r = await cli('run', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-22', '--wait', '--poll-seconds', '1');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      new RegExp(
        `running after \\d+s\njob ${job} \\(log group /aws/sagemaker/ProcessingJobs\\)\n2026-11-22T05:00:00.000Z \\[algo-1\\] reading\n` +
          'succeeded after \\d+s\n2026-11-22T05:00:04.000Z \\[algo-1\\] wrote 2 rows\n',
      ),
    );
  });

  const refused: Array<[string, string[], RegExp]> = [
    [
      'an unknown project',
      ['run', 'no-such-project', 'usage-analysis'],
      /no project 'no-such-project': .* does not exist; projects here: 2022-rnd-battery/,
    ],
    [
      'an unknown purpose',
      ['run', '2022-rnd-battery', 'forecast'],
      /project '2022-rnd-battery' has no purpose 'forecast'; its purposes: usage-analysis, fleet-report/,
    ],
    [
      'a malformed date',
      ['run', '2022-rnd-battery', 'usage-analysis', '--date', '22.11.2026'],
      /--date must be a calendar date written YYYY-MM-DD, got "22.11.2026"/,
    ],
    ['half a range', ['run', '2022-rnd-battery', 'usage-analysis', '--from', '2026-11-01'], /--from and --to go together/],
    [
      'a date and a range',
      ['run', '2022-rnd-battery', 'usage-analysis', '--date', '2026-11-01', '--from', '2026-11-01', '--to', '2026-11-02'],
      /either --date, or --from and --to/,
    ],
    ['a backfill without a range', ['run', '2022-rnd-battery', 'usage-analysis', '--backfill'], /--backfill needs --from and --to/],
    ['a bad poll interval', ['run', '2022-rnd-battery', 'usage-analysis', '--poll-seconds', '0'], /expected a whole number of at least 1/],
    ['an unknown option', ['run', '2022-rnd-battery', 'usage-analysis', '--dates', '2026-11-01'], /unknown option '--dates'/],
  ];
  test.each(refused)('refuses %s before calling AWS', async (_what, argv, message) => {
    const r = await cli(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  test('batcat alone prints the help, and --version the version of batcat-cdk', async () => {
    const bare = await cli();
    expect(bare.code).toBe(0);
    expect(bare.out).toContain('Usage: batcat [options] [command]');
    expect(bare.out).toContain('run-local');
    const version = await cli('--version');
    expect(version).toMatchObject({
      code: 0,
      out: `${JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version}\n`,
    });
  });

  test('every command has an example in its help, and the help says what the exit codes mean', async () => {
    const commands = [
      [],
      ['run'],
      ['runs'],
      ['logs'],
      ['redrive'],
      ['lineage'],
      ['profile'],
      ['rules'],
      ['rules', 'suggest'],
      ['reproduce'],
      ['stage'],
      ['stage', 'create'],
      ['stage', 'diff'],
      ['stage', 'promote'],
      ['stage', 'delete'],
      ['run-local'],
      ['init'],
      ['add'],
      ['add', 'purpose'],
      ['doctor'],
      ['query'],
      ['pull'],
      ['push'],
    ];
    const listed = (await cli('--help')).out
      .split('Commands:\n')[1]
      .split('\n\n')[0]
      .match(/^ {2}([a-z-]+)/gm)!
      .map((c) => c.trim());
    // The list above is every command there is (help is commander's own).
    expect(listed.filter((c) => c !== 'help')).toEqual(commands.filter((c) => c.length === 1).map((c) => c[0]));
    for (const c of commands) {
      const r = await cli(...c, '--help');
      expect([c.join(' '), r.code, /^Examples?:\n {2}batcat /m.test(r.out)]).toEqual([c.join(' '), 0, true]);
    }
    expect((await cli('--help')).out).toContain(
      'Exit codes: 0 done, 1 the work failed (a run, a query, a copy), 2 a usage or project-file error.',
    );
  });

  test('--help describes the commands', async () => {
    const r = await cli('run', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage: batcat run [options] <project> <purpose>');
    expect(r.out).toContain('--backfill');
  });
});

describe('batcat runs', () => {
  test('lists recent runs with status (and redrives), trigger, window and duration', async () => {
    lambda
      .on(GetFunctionConfigurationCommand)
      .resolves({ Environment: { Variables: { BATCAT_RUN_CONFIG: JSON.stringify({ stateMachineArn: SM }) } } });
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: EXECUTION('usage-analysis-schedule-20261122'),
          stateMachineArn: SM,
          name: 'usage-analysis-schedule-20261122',
          status: 'SUCCEEDED',
          startDate: new Date('2026-11-23T01:00:02Z'),
          stopDate: new Date('2026-11-23T01:12:07Z'),
        },
        {
          executionArn: EXECUTION('usage-analysis-s3-20261120-0123456789abcdef'),
          stateMachineArn: SM,
          name: 'usage-analysis-s3-20261120-0123456789abcdef',
          status: 'FAILED',
          startDate: new Date('2026-11-21T03:04:09Z'),
          stopDate: new Date('2026-11-21T03:04:40Z'),
        },
        {
          executionArn: EXECUTION('usage-analysis-20261119-a1'),
          stateMachineArn: SM,
          name: 'usage-analysis-20261119-a1',
          status: 'SUCCEEDED',
          startDate: new Date('2026-11-20T01:00:02Z'),
          stopDate: new Date('2026-11-21T09:30:00Z'),
          redriveCount: 2,
          redriveDate: new Date('2026-11-21T09:10:00Z'),
        },
      ],
    });
    sfn
      .on(DescribeExecutionCommand, { executionArn: EXECUTION('usage-analysis-20261119-a1') })
      .resolves({ input: JSON.stringify({ window: { start: '2026-11-19', end: '2026-11-19' }, trigger: { kind: 'schedule' } }) });
    sfn
      .on(DescribeExecutionCommand, { executionArn: EXECUTION('usage-analysis-schedule-20261122') })
      .resolves({ input: JSON.stringify({ window: { start: '2026-11-22', end: '2026-11-22' }, trigger: { kind: 'schedule' } }) });
    sfn
      .on(DescribeExecutionCommand, { executionArn: EXECUTION('usage-analysis-s3-20261120-0123456789abcdef') })
      .resolves({ input: JSON.stringify({ window: { start: '2026-11-20', end: '2026-11-20' }, trigger: { kind: 's3' } }) });
    const r = await cli('runs', '2022-rnd-battery', 'usage-analysis', '--limit', '5');
    expect(r.code).toBe(0);
    expect(lambda.commandCalls(GetFunctionConfigurationCommand)[0].args[0].input).toEqual({ FunctionName: FUNCTION });
    expect(sfn.commandCalls(ListExecutionsCommand)[0].args[0].input).toEqual({ stateMachineArn: SM, maxResults: 5 });
    expect(r.out.split('\n')).toEqual([
      'RUN                                          STATUS                        TRIGGER   WINDOW                  STARTED (UTC)        DURATION',
      'usage-analysis-schedule-20261122             SUCCEEDED                     schedule  2026-11-22..2026-11-22  2026-11-23 01:00:02  12m 05s',
      'usage-analysis-s3-20261120-0123456789abcdef  FAILED                        s3        2026-11-20..2026-11-20  2026-11-21 03:04:09  31s',
      // A redriven run: its duration runs from its start to its end after the last redrive.
      'usage-analysis-20261119-a1                   SUCCEEDED (redriven 2 times)  schedule  2026-11-19..2026-11-19  2026-11-20 01:00:02  32h 29m',
      '',
    ]);
  });

  test('says so when the purpose has not run yet, and explains a missing deployment', async () => {
    lambda
      .on(GetFunctionConfigurationCommand)
      .resolves({ Environment: { Variables: { BATCAT_RUN_CONFIG: JSON.stringify({ stateMachineArn: SM }) } } });
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    expect((await cli('runs', '2022-rnd-battery', 'usage-analysis')).out).toContain('no runs of usage-analysis yet');
    lambda
      .on(GetFunctionConfigurationCommand)
      .rejects(Object.assign(new Error(`Function not found: ${FUNCTION}`), { name: 'ResourceNotFoundException' }));
    const r = await cli('runs', '2022-rnd-battery', 'usage-analysis');
    expect(r.code).toBe(1);
    expect(r.err).toContain('Is the project deployed (cdk deploy) in this account and region?');
  });
});

describe('batcat as a child process, without AWS credentials', () => {
  test("prints its own error and the fix, not the SDK's notice about Node.js versions; exit code 1", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'batcat-home-'));
    const r = batcat(['runs', '2022-rnd-battery', 'usage-analysis', '--region', 'eu-west-1'], REPO_ROOT, {
      HOME: home,
      AWS_PROFILE: '',
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_SESSION_TOKEN: '',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: path.join(home, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'credentials'),
    });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^batcat: .*\n {2}Set AWS credentials/);
    expect(r.err).not.toMatch(/NodeVersionSupportWarning|Warning/);
  });
});
