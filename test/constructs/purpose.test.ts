import * as path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import aslValidator from 'asl-validator';
import { RunOutcome } from '../../lib/constructs/purpose-metrics';
import type { PurposeProps } from '../../lib/constructs/purpose-props';
import { jobNamePrefix, triggerFunctionName } from '../../lib/contract/names';
import { SageMakerCreateProcessingJob } from '../../lib/constructs/sagemaker-create-processing-job';
import { SageMakerFrameworkImage } from '../../lib/constructs/sagemaker-framework-image';
import { definitionOf, REPO_ROOT, testApp } from '../helpers';
import { CONTAINER_DIR, usageAnalysis } from './fixtures';

const SCRIPT = path.join(CONTAINER_DIR, 'usage_analysis.py');

function build(overrides: Partial<PurposeProps> = {}) {
  const { stack, purpose } = usageAnalysis({
    maxRuntime: Duration.hours(2),
    environment: { USAGE_UNIT: 'kWh' },
    instanceType: new ec2.InstanceType('m5.xlarge'),
    ...overrides,
  });
  const template = Template.fromStack(stack);
  return { stack, purpose, template, def: definitionOf(template) };
}

describe('Purpose', () => {
  const { purpose, template, def } = build();

  test('the trigger, the backfill machine and each alarm group can be left out, and what needs them says so', () => {
    const count = (t: Template, type: string) => Object.keys(t.findResources(type)).length;
    const { stack: full } = usageAnalysis();
    const all = Template.fromStack(full);
    const { stack: lean, purpose: p } = usageAnalysis({ trigger: false, backfill: false, runAlarms: false });
    const t = Template.fromStack(lean);
    expect([p.trigger, p.backfill, p.alarms]).toEqual([undefined, undefined, undefined]);
    // The commit, run-manifest and redrive-gate functions stay; the trigger's function, queue, schedule and rules go, with the backfill machine and the 6 alarms.
    expect(count(all, 'AWS::Lambda::Function')).toBe(4);
    expect(count(t, 'AWS::Lambda::Function')).toBe(3);
    expect(count(t, 'AWS::SQS::Queue')).toBe(0);
    expect(count(all, 'AWS::StepFunctions::StateMachine')).toBe(2);
    expect(count(t, 'AWS::StepFunctions::StateMachine')).toBe(1);
    expect(count(all, 'AWS::CloudWatch::Alarm')).toBe(6);
    expect(count(t, 'AWS::CloudWatch::Alarm')).toBe(0);
    expect(aslValidator(definitionOf(t)).isValid).toBe(true);
    expect(Object.keys(t.toJSON().Resources).length).toBeLessThan(Object.keys(all.toJSON().Resources).length - 12);
    // Only the trigger's own alarms.
    const { stack: quiet } = usageAnalysis({ triggerAlarms: false });
    expect(count(Template.fromStack(quiet), 'AWS::CloudWatch::Alarm')).toBe(4);

    expect(() => p.grantRun(new iam.Role(lean, 'Operator', { assumedBy: new iam.AccountRootPrincipal() }))).toThrow(
      'grantRun needs the trigger, and this purpose was built with trigger: false; use grantStartExecution',
    );
    expect(() => usageAnalysis({ trigger: false, freshness: Duration.hours(6) })).toThrow(
      'freshness needs the trigger, and trigger is false; leave it out, or keep the trigger',
    );
  });

  test('grantRun grants what batcat run needs, through the trigger: not StartExecution, which would bypass its run names', () => {
    const { stack, purpose: p } = usageAnalysis();
    const operator = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
    p.grantRun(operator);
    const t = Template.fromStack(stack);
    const [policy] = Object.values<any>(
      t.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^Operator') }] } }),
    );
    const statements = policy.Properties.PolicyDocument.Statement.map((st: any) => ({
      actions: [st.Action].flat().sort(),
      on: JSON.stringify(st.Resource),
    }));
    const actions = statements.flatMap((st: any) => st.actions);
    expect(actions).toEqual(
      expect.arrayContaining([
        'lambda:InvokeFunction',
        'lambda:GetFunctionConfiguration',
        'states:DescribeExecution',
        'states:ListExecutions',
      ]),
    );
    expect(actions).not.toContain('states:StartExecution');
    expect(
      actions.filter(
        (a: string) =>
          !/^(lambda:(InvokeFunction|GetFunctionConfiguration)|states:(Describe|List|GetExecutionHistory|RedriveExecution))/.test(a),
      ),
    ).toEqual([]);
    const invoke = statements.find((st: any) => st.actions.includes('lambda:InvokeFunction'));
    expect(invoke.on).toMatch(/UsageAnalysisTriggerFunction/);
    // batcat redrive: on the executions of this purpose's state machine only (not its backfill's, whose windows are runs of this one).
    const redrive = statements.filter((st: any) => st.actions.includes('states:RedriveExecution'));
    expect(redrive).toHaveLength(1);
    expect(redrive[0].actions).toEqual(['states:RedriveExecution']);
    expect(redrive[0].on).toMatch(/:execution:.*UsageAnalysisStateMachine[0-9A-F]+.*:\*/);
  });

  test('the definition is valid Amazon States Language', () => {
    const result = aslValidator(def);
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  test("the run manifest's steps surround the job, and their function may only list the purpose's folders' versions and write its manifests", () => {
    expect(def.States.RecordRunInputs.Next).toBe('RunProcessingJob');
    expect(def.States.CommitResults.Next).toBe('RecordRunOutputs');
    expect(def.States.RecordRunOutputs.Next).toBe('RecordRunSuccess');
    expect(def.States.RecordRunInputs.Retry[1]).toMatchObject({ ErrorEquals: ['BatCat.RunManifestTooLarge'], MaxAttempts: 0 });
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p: any) => JSON.stringify(p.Properties.Roles).includes('RunManifestsRole'))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const data = (suffix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^Data/), 'Arn'] }, suffix]] });
    expect(statements).toEqual([
      expect.objectContaining({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'] }),
      {
        Action: 's3:ListBucketVersions',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Data/), 'Arn'] },
        Condition: { StringLike: { 's3:prefix': ['raw/usage/*'] } },
      },
      {
        Action: 's3:ListBucketVersions',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Data/), 'Arn'] },
        Condition: { StringLike: { 's3:prefix': ['results/usage-analysis/summary/*'] } },
      },
      { Action: ['s3:GetObject', 's3:PutObject'], Effect: 'Allow', Resource: data('/_batcat/runs/usage-analysis/*') },
      expect.objectContaining({
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Condition: expect.objectContaining({ StringEquals: expect.anything() }),
      }),
      // The rows the manifest records come from the footers of the Parquet files the run wrote.
      { Action: ['s3:GetObject', 's3:GetObjectVersion'], Effect: 'Allow', Resource: data('/results/usage-analysis/summary/*') },
    ]);
  });

  test('the job name is derived from the execution id under a per-purpose prefix', () => {
    expect(purpose.jobNamePrefix).toBe(jobNamePrefix('usage-analysis', 'batcat-demo-dev-usage-analysis'));
    expect(purpose.jobNamePrefix).toMatch(/^usage-analysis-[0-9a-f]{6}$/);
    expect(def.StartAt).toBe('CheckRunInput');
    expect(def.States.CheckRunInput).toMatchObject({ Type: 'Choice', Choices: [{ Next: 'ResolveRun' }], Default: 'NotARunInput' });
    expect(def.States.NotARunInput).toMatchObject({ Type: 'Fail', Error: 'BatCat.InvalidRunInput' });
    expect(def.States.IsReproduction).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.reproduction', IsPresent: true, Next: 'UseStagedInputs' }],
      Default: 'RecordRunStart',
    });
    expect(def.States.ResolveRun).toMatchObject({
      Next: 'IsReproduction',
      Type: 'Pass',
      ResultPath: '$.batcat',
      Parameters: {
        // The start time too: an execution name reused after 90 days must not meet its old job's name.
        'jobName.$': `States.Format('${purpose.jobNamePrefix}-{}', States.Hash(States.Format('{} {} {}', $$.Execution.Id, $$.Execution.StartTime, $$.Execution.RedriveCount), 'MD5'))`,
        'partition.$': "States.Format('dt={}/', $.window.start)",
        'attempt.$': "States.Format('{}', $.attempt)",
      },
    });
    expect(def.States.RecordRunStart.Next).toBe('RecordRunInputs');
    expect(def.States.RecordRunInputs.Next).toBe('RunProcessingJob');
    expect(def.States.RunProcessingJob.Parameters['ProcessingJobName.$']).toBe('$.batcat.jobName');
  });

  test('job name prefixes stay within 30 characters and differ per state machine', () => {
    const long = jobNamePrefix('a-purpose-name-of-thirty-chars', 'batcat-p-dev-a-purpose-name-of-thirty-chars');
    expect(long).toMatch(/^a-purpose-name-of-thirt-[0-9a-f]{6}$/);
    expect(long.length).toBeLessThanOrEqual(30);
    expect(jobNamePrefix('x', 'batcat-a-dev-x')).not.toBe(jobNamePrefix('x', 'batcat-b-dev-x'));
    // Truncation never leaves a hyphen before the separator.
    expect(jobNamePrefix('abcdefghijklmnopqrstuv-xyz', 's')).toMatch(/^abcdefghijklmnopqrstuv-[0-9a-f]{6}$/);
  });

  test("the job writes each output below its attempt's folder of its results folder and gets its run in the environment", () => {
    const p = def.States.RunProcessingJob.Parameters;
    expect(p.ProcessingOutputConfig.Outputs[0].S3Output['S3Uri.$']).toMatch(
      /^States\.Format\('s3:\/\/Data[0-9A-F]{8}\/results\/usage-analysis\/summary\/\{\}', \$\.batcat\.attemptFolder\)$/,
    );
    expect(def.States.ResolveRun.Parameters['attemptFolder.$']).toBe("States.Format('_attempts/{}/', $$.Execution.Name)");
    expect(p.Environment).toEqual({
      USAGE_UNIT: 'kWh',
      BATCAT_PURPOSE: 'usage-analysis',
      'BATCAT_RUN_ID.$': '$.runId',
      'BATCAT_WINDOW_START.$': '$.window.start',
      'BATCAT_WINDOW_END.$': '$.window.end',
      'BATCAT_WINDOW_END_EXCLUSIVE.$': '$.window.endExclusive',
      'BATCAT_TIMEZONE.$': '$.timezone',
      'BATCAT_TRIGGER.$': '$.trigger.kind',
      'BATCAT_JOB_NAME.$': '$.batcat.jobName',
      'BATCAT_EXECUTION_ID.$': '$$.Execution.Id',
    });
    expect(p.ProcessingResources.ClusterConfig.InstanceType).toBe('ml.m5.xlarge');
    expect(p.Tags).toEqual([
      { Key: 'batcat:purpose', Value: 'usage-analysis' },
      { Key: 'batcat:state-machine', Value: 'batcat-demo-dev-usage-analysis' },
    ]);
  });

  test('retries follow AWS guidance and every error is caught', () => {
    const task = def.States.RunProcessingJob;
    expect(task.Retry.map((r: any) => r.ErrorEquals[0])).toEqual([
      'SageMaker.AmazonSageMakerException',
      'SageMaker.ThrottlingException',
      'SageMaker.ResourceLimitExceededException',
    ]);
    expect(task.Catch).toEqual([
      {
        ErrorEquals: ['SageMaker.AmazonSageMakerException', 'SageMaker.ResourceInUseException', 'SageMaker.ResourceInUse'],
        ResultPath: '$.error',
        Next: 'JobNameTaken',
      },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught-RunProcessingJob' },
    ]);
    expect(task.Next).toBe('CountOutputs');
    expect(def.States.DescribeExistingJob).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:sagemaker:describeProcessingJob',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught-RunProcessingJob' }],
    });
    expect(def.States.CountOutputs.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught-CountOutputs' }]);
    // Each marker records where a redrive resumes, and the redrive count the failure happened in, then describes the failure.
    expect(def.States['Caught-RunProcessingJob']).toMatchObject({
      Type: 'Pass',
      Parameters: { step: 'RunProcessingJob', 'redriveCount.$': '$$.Execution.RedriveCount' },
      ResultPath: '$.failedAt',
      Next: 'DescribeFailure',
    });
    // Every task of the run is caught: a failure anywhere is recorded, notified and published, and can be redriven.
    const uncaught = Object.entries<any>(def.States)
      .filter(([, st]) => st.Type === 'Task' && !st.Catch)
      .map(([id]) => id)
      .sort();
    expect(uncaught).toEqual(['AwaitRedrive', 'PublishRunSucceeded']);
    expect(def.States.RunSucceeded).toMatchObject({ Type: 'Succeed' });
  });

  test("after the job, each output's partition is counted and an empty required output fails the run", () => {
    const count = def.States.CountOutputs;
    expect(count).toMatchObject({ Type: 'Parallel', ResultPath: '$.outputCheck', Next: 'RequiredOutputsWritten' });
    expect(count.Branches.map((b: any) => b.States[b.StartAt])).toMatchObject([
      {
        Type: 'Task',
        End: true,
        Resource: 'arn:aws:states:::aws-sdk:s3:listObjectsV2',
        Parameters: {
          Bucket: expect.any(String),
          'Prefix.$': "States.Format('results/usage-analysis/summary/{}', $.batcat.attemptFolder)",
          MaxKeys: 1,
        },
        ResultSelector: { output: 'summary', 'keyCount.$': '$.KeyCount' },
      },
    ]);
    expect(def.States.RequiredOutputsWritten).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.outputCheck[0].keyCount', NumericEquals: 0, Next: 'EmptyOutput-summary' }],
      Default: 'CommitUnlessReproduction',
    });
    expect(def.States['EmptyOutput-summary']).toMatchObject({
      Type: 'Pass',
      ResultPath: '$.failure',
      Parameters: { error: 'BatCat.EmptyOutput' },
      Next: 'Failed-RunProcessingJob',
    });
    expect(def.States['EmptyOutput-summary'].Parameters['reason.$']).toMatch(
      /^States\.Format\('output summary is empty: the job wrote nothing to \/opt\/ml\/processing\/output\/summary, so nothing reached s3:\/\/.*\/results\/usage-analysis\/summary\/\{\}\./,
    );
    // Listing only the output folders, by prefix.
    const listing = Object.values<any>(template.findResources('AWS::IAM::Policy'))
      .filter(
        (p) => JSON.stringify(p.Properties.Roles).includes('StateMachineRole') && !JSON.stringify(p.Properties.Roles).includes('Backfill'),
      )
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((st: any) => [st.Action].flat().includes('s3:ListBucket'));
    expect(listing).toEqual([
      expect.objectContaining({ Effect: 'Allow', Condition: { StringLike: { 's3:prefix': ['results/usage-analysis/summary/*'] } } }),
    ]);
  });

  test('a timed-out or stopped run is published to the topic with its run id, input and why, by a role that may publish only there', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { status: ['TIMED_OUT', 'ABORTED'], stateMachineArn: [{ Ref: Match.stringLikeRegexp('^UsageAnalysisStateMachine') }] },
      },
      Targets: [
        Match.objectLike({
          Arn: { Ref: Match.stringLikeRegexp('^Topic') },
          RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^UsageAnalysisStoppedRunsRole'), 'Arn'] },
          InputTransformer: {
            InputPathsMap: {
              'detail-executionArn': '$.detail.executionArn',
              'detail-name': '$.detail.name',
              'detail-status': '$.detail.status',
              'detail-input': '$.detail.input',
            },
            InputTemplate: Match.stringLikeRegexp(
              '"runId":<detail-name>,"error":<detail-status>,"reason":"the run ended before its failure path could run',
            ),
          },
        }),
      ],
    });
    const policy = Object.values<any>(template.findResources('AWS::IAM::Policy')).find((p) =>
      JSON.stringify(p.Properties.Roles).includes('StoppedRunsRole'),
    );
    expect(policy.Properties.PolicyDocument.Statement.map((st: any) => st.Action)).toEqual([
      'sns:Publish',
      ['kms:Decrypt', 'kms:GenerateDataKey'],
    ]);
  });

  test('the state machine may put events on the default bus only', () => {
    const puts = Object.values<any>(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes('UsageAnalysisStateMachineRole'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((st: any) => [st.Action].flat().includes('events:PutEvents'));
    expect(puts).toEqual([
      {
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: {
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':event-bus/default'],
          ],
        },
      },
    ]);
  });

  test("an empty output's reason names the local path the script was to write", () => {
    const { def: d } = build({ outputs: [{ name: 'train', localPath: '/opt/ml/processing/train' }] });
    expect(d.States['EmptyOutput-train'].Parameters['reason.$']).toMatch(
      /^States\.Format\('output train is empty: the job wrote nothing to \/opt\/ml\/processing\/train, so nothing reached/,
    );
    expect(d.States.RunProcessingJob.Parameters.ProcessingOutputConfig.Outputs[0].S3Output.LocalPath).toBe('/opt/ml/processing/train');
  });

  test('an output with required: false may stay empty: no check for it', () => {
    const d = build({ outputs: [{ name: 'summary' }, { name: 'debug', required: false }] }).def;
    expect(d.States.CountOutputs.Branches).toHaveLength(2);
    expect(d.States.RequiredOutputsWritten.Choices).toEqual([
      { Variable: '$.outputCheck[0].keyCount', NumericEquals: 0, Next: 'EmptyOutput-summary' },
    ]);
    expect(d.States['EmptyOutput-debug']).toBeUndefined();
    const none = build({ outputs: [{ name: 'debug', required: false }] }).def;
    expect(none.States.CountOutputs.Next).toBe('CommitUnlessReproduction');
    expect(none.States.CommitUnlessReproduction).toMatchObject({
      Choices: [{ Variable: '$.reproduction', IsPresent: true, Next: 'ReproductionSucceeded' }],
      Default: 'CommitResults',
    });
  });

  test('a failure is described, published to the topic and fails the execution', () => {
    expect(def.States.DescribeFailure.Choices[0].Next).toBe('ParseJobDescription');
    expect(def.States.ParseJobDescription.Parameters).toEqual({ 'description.$': 'States.StringToJson($.error.Cause)' });
    expect(def.States.NotifyFailure).toMatchObject({
      Type: 'Task',
      Resource: 'arn:aws:states:::sns:publish',
      ResultPath: null,
      Parameters: {
        Subject: 'BatCat run failed: batcat-demo-dev-usage-analysis',
        Message: { 'reason.$': '$.failure.reason', 'error.$': '$.failure.error', 'execution.$': '$$.Execution.Id' },
      },
      Next: 'PublishUnlessReproduction',
    });
    // Then the Run Failed event (not for a reproduction); an event that cannot be put does not replace the run's error.
    expect(def.States.PublishUnlessReproduction.Default).toBe('PublishRunFailed');
    expect(def.States.PublishRunFailed).toMatchObject({
      Resource: 'arn:aws:states:::events:putEvents',
      Parameters: {
        Entries: [{ Source: 'batcat', DetailType: 'Run Failed', Detail: { 'error.$': '$.failure.error', 'reason.$': '$.failure.reason' } }],
      },
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'AwaitRedrive' }],
      Next: 'AwaitRedrive',
    });
    // A reproduction ends in a Fail state; a run ends in AwaitRedrive, which fails with the run's own error and lets a redrive go on.
    expect(def.States.PublishUnlessReproduction.Choices).toEqual([{ Variable: '$.reproduction', IsPresent: true, Next: 'RunFailed' }]);
    expect(def.States.RunFailed).toMatchObject({ Type: 'Fail', ErrorPath: '$.failure.error', CausePath: '$.failure.reason' });
    expect(def.States.AwaitRedrive).toMatchObject({
      Type: 'Task',
      Parameters: {
        'error.$': '$.failure.error',
        'reason.$': '$.failure.reason',
        'failedInRedrive.$': '$.failedAt.redriveCount',
        'redriveCount.$': '$$.Execution.RedriveCount',
      },
      Next: 'RedriveFrom',
    });
    // Not retried: a retry would only fail again with the run's error.
    expect(def.States.AwaitRedrive.Retry).toBeUndefined();
    expect(def.States.AwaitRedrive.Catch).toBeUndefined();
  });

  test('a redrive reopens the window only while the run is its newest attempt, then resumes where the run failed', () => {
    // A run that failed in its claim claims again; any other reopens its ledger item, FAILED -> RUNNING, for this execution only.
    expect(def.States.RedriveFrom).toMatchObject({
      Choices: [{ Variable: '$.failedAt.step', StringEquals: 'RecordRunStart', Next: 'ResolveRedrive' }],
      Default: 'ReopenRun',
    });
    expect(def.States.ReopenRun).toMatchObject({
      Resource: 'arn:aws:states:::dynamodb:updateItem',
      Parameters: {
        ConditionExpression: '#execution = :execution AND #status = :failed',
        UpdateExpression: 'SET #status = :running, #redrives = :redrives, #redrivenAt = :redrivenAt REMOVE #endedAt, #error, #reason',
      },
      Catch: [{ ErrorEquals: ['DynamoDB.ConditionalCheckFailedException'], Next: 'RedriveRefused' }],
      Next: 'ResumeAtFailedStep',
    });
    expect(def.States.RedriveRefused).toMatchObject({ Type: 'Fail', Error: 'BatCat.RedriveRefused' });
    // After the job, in the job's folder; up to the job, with a new job name and folder.
    const resumes = (id: string) => def.States[id].Choices.map((c: any) => [c.StringEquals, c.Next]);
    expect(resumes('ResumeAtFailedStep')).toEqual(
      ['CountOutputs', 'CommitResults', 'RecordRunOutputs', 'RecordRunSuccess'].map((step) => [step, step]),
    );
    expect(def.States.ResumeAtFailedStep.Default).toBe('ResolveRedrive');
    expect(resumes('ResumeWithNewTry')).toEqual(['RunProcessingJob', 'RecordRunStart', 'RecordRunInputs'].map((step) => [step, step]));
    expect(def.States.ResolveRedrive).toMatchObject({ ResultPath: '$.batcat', Next: 'ResumeWithNewTry' });
    expect(def.States.ResolveRedrive.Parameters).toMatchObject({
      'jobName.$': def.States.ResolveRun.Parameters['jobName.$'],
      'attemptFolder.$': "States.Format('_attempts/{}/', States.Format('{}-redrive-{}', $$.Execution.Name, $$.Execution.RedriveCount))",
    });
    // A new attempt of the window starts with no redrives.
    expect(def.States.RecordRunStart.Parameters.UpdateExpression).toMatch(/REMOVE .*#redrives, #redrivenAt$/);
    // The gate calls nothing: its role may write its own logs, nothing else.
    const gateRoles = Object.keys(template.findResources('AWS::IAM::Role')).filter((id) => id.startsWith('UsageAnalysisRedriveGateRole'));
    expect(gateRoles).toHaveLength(1);
    const statements = Object.values<any>(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(gateRoles[0]))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements.map((st: any) => [st.Action].flat().sort())).toEqual([['logs:CreateLogStream', 'logs:PutLogEvents']]);
    expect(JSON.stringify(statements[0].Resource)).toContain('UsageAnalysisRedriveGateLogs');
  });

  test('its run ledger: on-demand, point-in-time recovery, encrypted, kept when the stack is deleted', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'purpose', KeyType: 'HASH' },
          { AttributeName: 'window', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      },
    });
    // A generated name: a second stage, or a deploy after a destroy, meets no name clash.
    expect(Object.values<any>(template.findResources('AWS::DynamoDB::Table'))[0].Properties.TableName).toBeUndefined();
  });

  test('the state machine claims the window before the job, records success after the output check and failure before the notice', () => {
    expect(def.States.RecordRunStart).toMatchObject({
      Resource: 'arn:aws:states:::dynamodb:updateItem',
      Parameters: {
        ConditionExpression: 'attribute_not_exists(#status) OR (#status <> :running AND #attempts < :attempt)',
        Key: { purpose: { S: 'usage-analysis' }, window: { 'S.$': '$.window.start' } },
      },
      Catch: [
        { ErrorEquals: ['DynamoDB.ConditionalCheckFailedException'], Next: 'WindowTaken' },
        { ErrorEquals: ['States.ALL'], Next: 'Caught-RecordRunStart' },
      ],
    });
    expect(def.States.RecordRunSuccess).toMatchObject({
      Parameters: { ConditionExpression: '#execution = :execution' },
      Next: 'PublishRunSucceeded',
    });
    // Not caught: a success whose event cannot be put fails visibly, and a redrive puts it.
    expect(def.States.PublishRunSucceeded).toMatchObject({
      Next: 'RunSucceeded',
      Parameters: { Entries: [{ DetailType: 'Run Succeeded' }] },
    });
    expect(def.States.PublishRunSucceeded.Catch).toBeUndefined();
    expect(def.States.RecordRunFailure).toMatchObject({
      Next: 'NotifyFailure',
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'NotifyFailure' }],
    });
    for (const id of ['UseErrorCause', 'UseJobFailureReason', 'Failed-RunProcessingJob'])
      expect(def.States[id].Next).toBe('RecordRunFailure');
    expect(def.States.WindowTaken).toMatchObject({ Type: 'Fail', Error: 'BatCat.WindowTaken' });
    // The state machine may update its ledger's items, nothing else of DynamoDB.
    const actions = Object.values<any>(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes('UsageAnalysisStateMachineRole'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((st: any) => JSON.stringify(st.Action).includes('dynamodb:'));
    expect(actions).toHaveLength(1);
    expect(actions[0].Action).toBe('dynamodb:UpdateItem');
    expect(JSON.stringify(actions[0].Resource)).toMatch(/":table\/",\{"Ref":"UsageAnalysisLedgerTable[0-9A-F]+"\}/);
  });

  test('the execution times out after the wait for instance quota, the job and an hour for the rest', () => {
    expect(def.States.RunProcessingJob.Parameters.StoppingCondition.MaxRuntimeInSeconds).toBe(2 * 3600);
    // Waiting for quota has its own limit (6 hours by default, one create call a minute), inside the timeout.
    const quota = def.States.RunProcessingJob.Retry.find((r: any) => r.ErrorEquals.includes('SageMaker.ResourceLimitExceededException'));
    expect(quota).toMatchObject({ IntervalSeconds: 60, MaxAttempts: 360, BackoffRate: 1 });
    expect(def.TimeoutSeconds).toBe(6 * 3600 + 2 * 3600 + 3600);
    const short = build({ quotaWait: Duration.minutes(30) }).def;
    expect(
      short.States.RunProcessingJob.Retry.find((r: any) => r.ErrorEquals.includes('SageMaker.ResourceLimitExceededException')).MaxAttempts,
    ).toBe(30);
    expect(short.TimeoutSeconds).toBe(1800 + 2 * 3600 + 3600);
    expect(() => build({ quotaWait: Duration.seconds(10) })).toThrow(/'10 seconds' is not a valid quota wait/);
  });

  test('logs at level ALL to a vended-logs group, with X-Ray tracing', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: {
        'Fn::Join': [
          '',
          [
            '/aws/vendedlogs/states/batcat-demo-dev-usage-analysis-',
            { 'Fn::Select': [0, { 'Fn::Split': ['-', { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }] }] },
          ],
        ],
      },
      RetentionInDays: 365,
    });
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'batcat-demo-dev-usage-analysis',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true },
    });
  });

  test('the state machine may publish to the topic and use its key', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      p.Properties.Roles.some((r: any) => String(r.Ref).includes('StateMachineRole')),
    );
    const statements = policies[0].Properties.PolicyDocument.Statement;
    expect(statements).toEqual(
      expect.arrayContaining([
        { Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: expect.stringMatching(/^Topic/) } },
        {
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^TopicKey/), 'Arn'] },
        },
      ]),
    );
  });

  test.each([
    ['failed', 'ExecutionsFailed', 'batcat-demo-dev-usage-analysis-failed'],
    ['timedOut', 'ExecutionsTimedOut', 'batcat-demo-dev-usage-analysis-timed-out'],
    ['aborted', 'ExecutionsAborted', 'batcat-demo-dev-usage-analysis-aborted'],
    ['throttled', 'ExecutionThrottled', 'batcat-demo-dev-usage-analysis-was-throttled'],
  ] as const)('alarm %s on %s notifies the topic', (field, metricName, alarmName) => {
    expect(purpose.alarms?.[field]).toBeDefined();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: alarmName,
      MetricName: metricName,
      Namespace: 'AWS/States',
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Topic') }],
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: Match.stringLikeRegexp('StateMachine') } }],
    });
  });

  test('metric helpers expose the state machine metrics', () => {
    expect(purpose.metrics.metricRuns(RunOutcome.STARTED).metricName).toBe('ExecutionsStarted');
    expect(purpose.metrics.metricRuns(RunOutcome.SUCCEEDED).metricName).toBe('ExecutionsSucceeded');
    expect(purpose.metrics.metricDuration().metricName).toBe('ExecutionTime');
    expect(purpose.metrics.metricRuns(RunOutcome.FAILED, { period: Duration.hours(1) }).period.toMinutes()).toBe(60);
    expect(purpose.metrics.metricTriggerErrors().dimensions).toEqual({ FunctionName: triggerFunctionName(purpose.stateMachineName) });
  });

  test('an existing image needs no asset', () => {
    const { template: t } = build({
      containerDirectory: undefined,
      image: tasks.DockerImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/usage:1'),
    });
    expect(definitionOf(t).States.RunProcessingJob.Parameters.AppSpecification.ImageUri).toBe(
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/usage:1',
    );
  });

  test('script mode with a framework image: the code asset as input `code`, python3 on the script, the role may read only that object', () => {
    const { template: t, def } = build({
      containerDirectory: undefined,
      image: SageMakerFrameworkImage.of('xgboost:1.7-1'),
      script: SCRIPT,
      arguments: ['--day', '{window.start}'],
    });
    const job = def.States.RunProcessingJob.Parameters;
    expect(job.AppSpecification.ContainerEntrypoint.at(-1)).toBe('/opt/ml/processing/input/code/usage_analysis.py');
    expect(job.AppSpecification['ContainerArguments.$']).toBe('States.Array($.batcat.arguments.a0, $.batcat.arguments.a1)');
    expect(def.States.RenderArguments.Parameters).toEqual({ a0: '--day', 'a1.$': "States.Format('{}', $.window.start)" });
    expect(def.States.ResolveRun.Parameters.arguments).toBeUndefined();
    expect(job.ProcessingInputs.at(-1)).toMatchObject({ InputName: 'code', S3Input: { LocalPath: '/opt/ml/processing/input/code' } });
    expect(JSON.stringify(t.toJSON().Mappings)).toContain('"eu-west-1":{"account":"141502667606"}');
  });

  test('a framework image in a stack of a known region is a literal URI; an unknown framework is refused with the versions there are', () => {
    const app = testApp();
    const stack = new Stack(app, 'Regional', { env: { region: 'eu-central-1', account: '123456789012' } });
    const job = new SageMakerCreateProcessingJob(stack, 'Job', {
      jobName: 'x-1',
      jobNamePrefix: 'x',
      image: SageMakerFrameworkImage.of('sklearn:1.2-1'),
    });
    new sfn.StateMachine(stack, 'M', { definitionBody: sfn.DefinitionBody.fromChainable(job) });
    expect(JSON.stringify(Template.fromStack(stack).toJSON())).toContain('492215442770.dkr.ecr.eu-central-1.');
    expect(() => SageMakerFrameworkImage.of('sklearn:9.9')).toThrow(
      "'sklearn:9.9' is not a SageMaker framework image BatCat knows; write '<framework>:<version>', versions of sklearn: sklearn:0.20.0, sklearn:0.23-1",
    );
  });

  test.each<[string, Partial<PurposeProps>, RegExp]>([
    [
      'an invalid purpose name',
      { purposeName: 'Usage_Analysis' },
      /purpose name 'Usage_Analysis' is invalid: may only contain lowercase letters, digits and single hyphens/,
    ],
    ['both a folder and an image', { image: tasks.DockerImage.fromRegistry('x') }, /needs exactly one of containerDirectory or image/],
    ['neither a folder nor an image', { containerDirectory: undefined }, /needs exactly one of containerDirectory or image/],
    ['no outputs', { outputs: [] }, /needs at least one output/],
    [
      'an output inside its own input folder',
      { inputs: [{ name: 'usage', keyPrefix: 'raw/usage/' }], outputs: [{ name: 'summary', keyPrefix: 'raw/usage/summary/' }] },
      /output 'summary' writes to 'raw\/usage\/summary\/', which overlaps 'raw\/usage\/' that input 'usage' reads/,
    ],
    [
      'a folder with a wildcard',
      { outputs: [{ name: 'summary', keyPrefix: 'results/*/' }] },
      /'\*' would be a wildcard in the IAM policies/,
    ],
    ['a reserved environment variable', { environment: { BATCAT_RUN_DATE: 'x' } }, /'BATCAT_RUN_DATE' uses the reserved prefix/],
    ['a state machine name over 80 characters', { namePrefix: 'x'.repeat(70) }, /state machine name '.*' is 85 characters; at most 80/],
    [
      'a script and an entrypoint',
      { script: SCRIPT, entrypoint: ['python3', 'x.py'] },
      /'script' runs 'python3 <script>' as the entrypoint; give 'script' or 'entrypoint', not both/,
    ],
    [
      'a source folder without a script',
      { sourceDirectory: CONTAINER_DIR },
      /'sourceDirectory' is uploaded with 'script'; add the script that runs, e\.g\. script: .*\/containers\/usage-analysis\/preprocessing\.py/,
    ],
    [
      'a script outside its source folder',
      { script: SCRIPT, sourceDirectory: path.join(REPO_ROOT, 'queries') },
      /script '.*usage_analysis\.py' is not inside sourceDirectory '.*queries'/,
    ],
    [
      'a script that is not Python',
      { script: path.join(CONTAINER_DIR, 'Dockerfile') },
      /is not a Python file \(\.py\); script mode runs python3 <script>/,
    ],
    [
      'an input named code in script mode',
      { script: SCRIPT, inputs: [{ name: 'code', keyPrefix: 'raw/code/' }] },
      /input name 'code' is taken by the script/,
    ],
    [
      'an object input read per partition',
      { inputs: [{ name: 'model', keyPrefix: 'models/model.tar.gz', partitioned: true }] },
      /input 'model' is partitioned, but 'models\/model\.tar\.gz' is one object; a partitioned input is a folder ending with '\/'/,
    ],
  ])('rejects %s', (_what, overrides, error) => {
    expect(() => build(overrides)).toThrow(error);
  });
});
