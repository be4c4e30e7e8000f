import { Duration, TimeZone } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import aslValidator from 'asl-validator';
import { Purpose } from '../../lib/constructs/purpose';
import type { PurposeProps } from '../../lib/constructs/purpose-props';
import { definitionOf, runConfigOf } from '../helpers';
import { StateMachine } from '../local-step-functions';
import { baseStack } from './fixtures';

/* The trigger and backfill of a purpose, as synthesized. */

function build(overrides: Partial<PurposeProps> = {}) {
  const { stack, bucket, topic } = baseStack();
  const purpose = new Purpose(stack, 'UsageAnalysis', {
    purposeName: 'usage-analysis',
    namePrefix: 'batcat-demo-dev',
    bucket,
    notificationTopic: topic,
    image: tasks.DockerImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/usage:1'),
    inputs: [{ name: 'usage', keyPrefix: 'raw/usage/', partitioned: true }],
    outputs: [{ name: 'summary' }],
    schedule: scheduler.ScheduleExpression.expression('cron(0 4 * * ? *)', TimeZone.EUROPE_BERLIN),
    s3Arrival: [{ input: 'usage', suffix: '.csv' }],
    after: { purposeName: 'cleaning', stateMachine: sfn.StateMachine.fromStateMachineName(stack, 'Cleaning', 'batcat-demo-dev-cleaning') },
    backfillConcurrency: 3,
    ...overrides,
  });
  return { stack, purpose, template: Template.fromStack(stack) };
}

describe('RunTrigger', () => {
  const { purpose, template } = build();
  const [functionLogicalId] = Object.keys(template.findResources('AWS::Lambda::Function')).filter((id) => id.includes('Trigger'));

  test('is a small Node.js function with an explicit runtime, memory, timeout, JSON logs, tracing and a DLQ', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'batcat-demo-dev-usage-analysis-trigger',
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 256,
      Timeout: 30,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN', LogGroup: Match.anyValue() },
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetters'), 'Arn'] } },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 2 });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      // A name of this stack instance: a retained group of a destroyed stage does not block the next deploy.
      LogGroupName: {
        'Fn::Join': [
          '',
          [
            '/aws/lambda/batcat-demo-dev-usage-analysis-trigger-',
            { 'Fn::Select': [0, { 'Fn::Split': ['-', { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }] }] },
          ],
        ],
      },
      RetentionInDays: 365,
    });
  });

  test('carries the run configuration the trigger logic needs', () => {
    expect(runConfigOf(template, (ref: any) => ref.Ref ?? JSON.stringify(ref))).toEqual({
      ledgerTable: expect.stringMatching(/^UsageAnalysisLedgerTable/),
      purpose: 'usage-analysis',
      stateMachineArn: expect.stringMatching(/^UsageAnalysisStateMachine/),
      backfillStateMachineArn: expect.stringMatching(/^UsageAnalysisBackfillStateMachine/),
      bucket: expect.stringMatching(/^Data/),
      windowDays: 1,
      maxWindowDays: 1,
      maxBackfillWindows: 200,
      timezone: 'Europe/Berlin',
      inputs: [{ name: 'usage', uri: expect.stringMatching(/^s3:\/\/Data[0-9A-F]+\/raw\/usage\/$/), partitioned: true }],
      outputs: [{ name: 'summary', uri: expect.stringMatching(/^s3:\/\/Data[0-9A-F]+\/results\/usage-analysis\/summary\/$/) }],
      s3Arrival: [{ input: 'usage', prefix: 'raw/usage/', suffix: '.csv' }],
      upstream: {
        purpose: 'cleaning',
        stateMachineArn: expect.stringContaining(':stateMachine:batcat-demo-dev-cleaning'),
        // The same stage's ledger, where the upstream records its windows.
        ledgerTable: expect.stringMatching(/^UsageAnalysisLedgerTable/),
      },
    });
  });

  test("may start only its own purpose's runs and backfills, read its own executions and ledger, and write only its own logs", () => {
    const role = Object.values<any>(
      template.findResources('AWS::IAM::Role', { Properties: { Description: Match.stringLikeRegexp('^Trigger of') } }),
    );
    expect(role).toHaveLength(1);
    expect(role[0].Properties.ManagedPolicyArns).toBeUndefined();
    const policies = Object.values<any>(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes('UsageAnalysisTriggerRole'),
    );
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements.filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith('states:')))).toEqual([
      {
        Action: 'states:StartExecution',
        Effect: 'Allow',
        Resource: [
          { Ref: expect.stringMatching(/^UsageAnalysisBackfillStateMachine/) },
          { Ref: expect.stringMatching(/^UsageAnalysisStateMachine/) },
        ],
      },
      {
        Action: 'states:DescribeExecution',
        Effect: 'Allow',
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':states:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':execution:',
              { 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: expect.stringMatching(/^UsageAnalysisStateMachine/) }] }] },
              ':*',
            ],
          ],
        },
      },
    ]);
    // The ledger: read its items, and record runs that ended without their failure path; no scan, no delete.
    expect(statements.find((s: any) => [s.Action].flat().includes('dynamodb:Query'))).toEqual({
      Action: ['dynamodb:Query', 'dynamodb:UpdateItem'],
      Effect: 'Allow',
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^UsageAnalysisLedgerTable/), 'Arn'] },
    });
    expect(statements.find((s: any) => [s.Action].flat().includes('logs:PutLogEvents')).Resource).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^UsageAnalysisTriggerLogs/), 'Arn'],
    });
    expect(statements.find((s: any) => [s.Action].flat().includes('sqs:SendMessage')).Resource).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/DeadLetters/), 'Arn'],
    });
    // The Run Failed event of a run that timed out or was stopped: the default bus, nothing else.
    expect(statements.find((s: any) => s.Action === 'events:PutEvents').Resource).toEqual({
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':event-bus/default'],
      ],
    });
    // Nothing else: no S3, no SageMaker, no wildcard actions.
    expect(statements.flatMap((s: any) => [s.Action].flat()).sort()).toEqual([
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'sqs:SendMessage',
      'states:DescribeExecution',
      'states:StartExecution',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });

  test('the dead-letter queue is encrypted, TLS-only, keeps messages 14 days, and alarms at its first message', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'batcat-demo-dev-usage-analysis-trigger-dlq',
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1209600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'batcat-demo-dev-usage-analysis-trigger-dead-letters',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Topic') }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'batcat-demo-dev-usage-analysis-trigger-errors',
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionLogicalId } }],
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Topic') }],
    });
    expect(purpose.trigger?.alarms.errors).toBeDefined();
  });

  test('the schedule invokes the trigger with the tick time, in its time zone, with retries and the DLQ', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 4 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: { 'Fn::GetAtt': [functionLogicalId, 'Arn'] },
        Input: JSON.stringify({ trigger: 'schedule', purpose: 'usage-analysis', scheduledTime: '<aws.scheduler.scheduled-time>' }),
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 21600 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetters'), 'Arn'] } },
      },
    });
  });

  test('S3 arrivals and upstream successes reach the trigger through EventBridge rules with the DLQ', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [{ Ref: Match.stringLikeRegexp('^Data') }] }, object: { key: [{ wildcard: 'raw/usage/*.csv' }] } },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [functionLogicalId, 'Arn'] },
          DeadLetterConfig: Match.anyValue(),
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 21600 },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      // The upstream's completion event, which no reproduction puts.
      EventPattern: {
        source: ['batcat'],
        'detail-type': ['Run Succeeded'],
        detail: { stateMachineArn: [Match.anyValue()] },
      },
    });
    expect(JSON.stringify(template.findResources('AWS::Events::Rule'))).toContain(':stateMachine:batcat-demo-dev-cleaning');
  });

  test('without a suffix, a folder is matched by prefix; without triggers, only manual runs exist', () => {
    const plain = build({ s3Arrival: [{ input: 'usage' }], schedule: undefined, after: undefined }).template;
    plain.hasResourceProperties('AWS::Events::Rule', { EventPattern: { detail: { object: { key: [{ prefix: 'raw/usage/' }] } } } });
    plain.resourceCountIs('AWS::Scheduler::Schedule', 0);
    const manualOnly = build({ s3Arrival: undefined, schedule: undefined, after: undefined }).template;
    // The only rules left are the Purpose's own ended runs (notified, and recorded in the ledger): none starts a run.
    expect(Object.values<any>(manualOnly.findResources('AWS::Events::Rule')).map((r) => r.Properties.EventPattern.detail.status)).toEqual([
      ['TIMED_OUT', 'ABORTED'],
      ['FAILED', 'TIMED_OUT', 'ABORTED'],
    ]);
    // The trigger, the commit of results, the run manifest and the redrive gate.
    manualOnly.resourceCountIs('AWS::Lambda::Function', 4);
  });

  test("with freshness: an hourly check, an alarm on the newest success's age (missing data is late), and what the check may do", () => {
    const { template: fresh } = build({ freshness: Duration.hours(6) });
    fresh.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 hour)',
      Target: { Input: JSON.stringify({ trigger: 'freshness', purpose: 'usage-analysis' }), DeadLetterConfig: Match.anyValue() },
    });
    fresh.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'batcat-demo-dev-usage-analysis-stale',
      Namespace: 'BatCat',
      MetricName: 'NewestSuccessAgeHours',
      Dimensions: [{ Name: 'StateMachine', Value: 'batcat-demo-dev-usage-analysis' }],
      Statistic: 'Maximum',
      Period: 3600,
      Threshold: 30,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [Match.anyValue()],
    });
    expect(runConfigOf(fresh, (ref: any) => ref.Ref ?? JSON.stringify(ref)).freshness).toEqual({
      hours: 6,
      topicArn: expect.stringMatching(/^Topic/),
      stateMachineName: 'batcat-demo-dev-usage-analysis',
    });
    const statements = Object.values<any>(fresh.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes('UsageAnalysisTriggerRole'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual({
      Action: 'cloudwatch:PutMetricData',
      Effect: 'Allow',
      Resource: '*',
      Condition: { StringEquals: { 'cloudwatch:namespace': 'BatCat' } },
    });
    expect(statements).toContainEqual({ Action: 'sns:Publish', Effect: 'Allow', Resource: { Ref: expect.stringMatching(/^Topic/) } });
    // Both schedules invoke the function through one role.
    expect(
      Object.keys(fresh.findResources('AWS::IAM::Role', { Properties: { Description: Match.stringLikeRegexp('schedules of') } })),
    ).toHaveLength(1);
    // Without freshness: none of it.
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'NewestSuccessAgeHours' }, 0);
  });

  test('rejects triggers that cannot work', () => {
    expect(() => build({ s3Arrival: [{ input: 'nope' }] })).toThrow(
      /'nope' is not a 'prefix' input of this purpose; S3 arrival watches a folder of the project bucket. Allowed: 'usage'/,
    );
    expect(() => build({ s3Arrival: [{ input: 'usgae' }] })).toThrow(
      /'usgae' is not a 'prefix' input of this purpose; did you mean 'usage'\? S3 arrival watches a folder of the project bucket. Allowed: 'usage'/,
    );
    expect(() => build({ inputs: [{ name: 'usage', keyPrefix: 'raw/usage.csv', partitioned: true }] })).toThrow(
      /input 'usage' is partitioned, but 'raw\/usage.csv' is one object/,
    );
    expect(() => build({ inputs: [{ name: 'usage', keyPrefix: 'raw/usage/', complete: true }] })).toThrow(
      /input 'usage' sets complete, .* it applies to partitioned inputs only/,
    );
    expect(() => build({ window: Duration.hours(36), inputs: [], s3Arrival: [] })).toThrow(
      /window '1 day 12 hours' is invalid: use a whole number of days from '1d' to '366d'/,
    );
    expect(() => build({ window: Duration.days(7), maxWindow: Duration.days(3), inputs: [], s3Arrival: [] })).toThrow(
      /maxWindow '3d' is shorter than window '7d'; a run must be able to cover one window/,
    );
    expect(() => build({ backfillConcurrency: 0 })).toThrow(/backfillConcurrency must be a whole number from 1 to 40, got 0/);
    // The fixture's daily cron ticks six times a week with nothing to do for a weekly window.
    expect(() => build({ window: Duration.days(7), inputs: [], s3Arrival: [] })).toThrow(
      /the schedule 'cron\(0 4 \* \* \? \*\)' ticks every 1 day, but a window is 7 days/,
    );
  });
});

describe('Backfill', () => {
  const { template } = build();
  const definition = definitionOf(template, undefined, true);

  test("runs each window on the purpose's state machine, at most backfillConcurrency at a time", () => {
    expect(aslValidator(definition).errors).toEqual([]);
    expect(definition.States.EachWindow).toMatchObject({ Type: 'Map', ItemsPath: '$.runs', MaxConcurrency: 3 });
    expect(definition.States.EachWindow.ItemProcessor.States.RunWindow).toMatchObject({
      Resource: 'arn:aws:states:::states:startExecution.sync:2',
      Parameters: { 'Name.$': '$.name', 'Input.$': '$.input', StateMachineArn: expect.stringMatching(/^UsageAnalysisStateMachine/) },
    });
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'batcat-demo-dev-usage-analysis-backfill',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
    });
  });

  interface Outcome {
    output?: any;
    error?: any;
    maxRunning: number;
    started: string[];
  }

  /** Runs the backfill definition locally; `child` answers each window's run after a short delay. */
  async function runBackfill(names: string[], child: (name: string) => 'SUCCEEDED' | 'FAILED' | 'EXISTS'): Promise<Outcome> {
    let running = 0;
    let maxRunning = 0;
    const started: string[] = [];
    const machine = new StateMachine(definition, { validationOptions: { checkArn: false } });
    const execution = machine.run(
      { purpose: 'usage-analysis', runs: names.map((name) => ({ name, input: { runId: name } })) },
      {
        overrides: {
          taskResourceLocalHandlers: {
            RunWindow: async (params: any) => {
              running++;
              maxRunning = Math.max(maxRunning, running);
              started.push(params.Name);
              await new Promise((r) => setTimeout(r, 20));
              running--;
              const outcome = child(params.Name);
              if (outcome === 'EXISTS') throw Object.assign(new Error('exists'), { name: 'StepFunctions.ExecutionAlreadyExistsException' });
              if (outcome === 'FAILED') throw Object.assign(new Error('{"status":"FAILED"}'), { name: 'States.TaskFailed' });
              return { Name: params.Name, Status: 'SUCCEEDED' };
            },
          },
        },
      },
    );
    try {
      return { output: await execution.result, maxRunning, started };
    } catch (error) {
      return { error, maxRunning, started };
    }
  }

  const names = Array.from({ length: 10 }, (_, i) => `usage-analysis-manual-202610${String(i + 1).padStart(2, '0')}`);

  test('never runs more windows at once than the cap, and runs all of them', async () => {
    const r = await runBackfill(names, () => 'SUCCEEDED');
    expect(r.error).toBeUndefined();
    expect(r.maxRunning).toBe(3);
    expect([...r.started].sort()).toEqual(names);
    expect(r.output).toMatchObject({ anyFailed: false });
    expect(r.output.results).toHaveLength(10);
  });

  test('skips windows that already ran, and fails at the end naming how many windows failed', async () => {
    const r = await runBackfill(names, (name) =>
      name.endsWith('02') ? 'EXISTS' : name.endsWith('05') || name.endsWith('07') ? 'FAILED' : 'SUCCEEDED',
    );
    expect(r.started).toHaveLength(10);
    expect(r.error?.cause?.name).toBe('BatCat.BackfillIncomplete');
    expect(String(r.error?.message)).toContain('at least one of 10 windows failed');
  });
});
