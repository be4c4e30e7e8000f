import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { Duration, Size, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ProjectData } from '../../lib/constructs/project-data';
import { acknowledgeFinding } from '../../lib/constructs/private/acknowledge';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks } from 'cdk-nag';
import aslValidator from 'asl-validator';
import { EmrServerlessStartJobRun, type EmrServerlessStartJobRunProps } from '../../lib/constructs/emr-serverless-start-job-run';
import { SparkApplication } from '../../lib/constructs/spark-application';
import { startJobRunProblems } from '../api-model';
import { definitionOf, everyTemplate, stubRefs, synthOnce, testApp } from '../helpers';
import { executionContext, StateMachine } from '../local-step-functions';

/*
 * A Spark job on EMR Serverless as a Step Functions task: the application it runs on, the
 * StartJobRun request the state machine sends (executed locally, then checked against the EMR
 * Serverless API model), the state machine's and the job's IAM, and cdk-nag and cfn-guard over
 * the stack.
 */

function build(overrides: Partial<EmrServerlessStartJobRunProps> = {}, app = testApp()) {
  const stack = new Stack(app, 'Spark', { env: { account: '123456789012', region: 'eu-west-1' } });
  // The project's data bucket, as secure as BatCat makes it (its acknowledgements included).
  const data = new ProjectData(stack, 'Data');
  const bucket = data.bucket;
  const key = data.key;
  const application = new SparkApplication(stack, 'Application', {
    releaseLabel: 'emr-7.5.0',
    maximumCapacity: { cpu: 32, memory: Size.gibibytes(128) },
  });
  const task = new EmrServerlessStartJobRun(stack, 'RunSparkJob', {
    application,
    entryPoint: { bucket, key: '_batcat/code/fleet-daily/fleet_daily.py' },
    pyFiles: [{ bucket, key: '_batcat/code/fleet-daily/lib.zip' }],
    entryPointArguments: [
      '--input',
      sfn.JsonPath.format('s3://data/raw/usage/dt={}/', sfn.JsonPath.stringAt('$.window.start')),
      '--mode',
      'daily',
    ],
    sparkConf: { 'spark.executor.memory': '4g', 'spark.sql.shuffle.partitions': '200' },
    name: sfn.JsonPath.stringAt('$.runId'),
    inputFolders: [{ bucket, keyPrefix: 'raw/usage/' }],
    outputFolders: [{ bucket, keyPrefix: 'results/fleet-daily/daily/' }],
    logs: { bucket, keyPrefix: '_batcat/spark-logs/fleet-daily/', runFolder: sfn.JsonPath.format('{}/', sfn.JsonPath.stringAt('$.runId')) },
    executionTimeout: Duration.hours(2),
    tags: { 'batcat:purpose': 'fleet-daily' },
    ...overrides,
  });
  const machine = new sfn.StateMachine(stack, 'Machine', {
    definitionBody: sfn.DefinitionBody.fromChainable(task),
    tracingEnabled: true,
    logs: { destination: new logs.LogGroup(stack, 'MachineLogs', { encryptionKey: key }), level: sfn.LogLevel.ALL },
  });
  // The test's own state machine: X-Ray and log delivery have no resource-level permissions.
  acknowledgeFinding(
    machine.role,
    'AwsSolutions-IAM5[Resource::*]',
    'X-Ray and vended log delivery support no resource-level permissions.',
  );
  return { stack, bucket, key, application, task, machine };
}

describe('EmrServerlessStartJobRun', () => {
  const built = build();
  const template = Template.fromStack(built.stack);
  const stubs = stubRefs((ref) =>
    ref.startsWith('DataBucket')
      ? 'spark-data'
      : ref.startsWith('Application')
        ? '00fabcd1234'
        : ref.includes('JobRole')
          ? 'arn:aws:iam::123456789012:role/spark-job'
          : undefined,
  );
  const def = definitionOf(template, stubs);

  test('the application starts with the first job, stops when idle, and bounds what all its jobs may use', () => {
    template.hasResourceProperties('AWS::EMRServerless::Application', {
      ReleaseLabel: 'emr-7.5.0',
      Type: 'Spark',
      Architecture: 'ARM64',
      AutoStartConfiguration: { Enabled: true },
      AutoStopConfiguration: { Enabled: true, IdleTimeoutMinutes: 15 },
      MaximumCapacity: { Cpu: '32 vCPU', Memory: '128 GB' },
    });
  });

  test('the task waits for the job run and sends a StartJobRun request valid by the EMR Serverless API model', async () => {
    const state = def.States.RunSparkJob;
    expect(state.Resource).toBe('arn:aws:states:::emr-serverless:startJobRun.sync');
    expect(aslValidator(def).isValid).toBe(true);
    let request: any;
    const machine = new StateMachine(def, { validationOptions: { checkArn: false } });
    await machine.run(
      { runId: 'fleet-daily-20261122-a1', window: { start: '2026-11-22' } },
      {
        context: executionContext('spark', 'fleet-daily-20261122-a1'),
        overrides: {
          taskResourceLocalHandlers: {
            RunSparkJob: async (params: any) => {
              request = params;
              return { ApplicationId: params.ApplicationId, JobRunId: '00f1', Arn: 'arn', State: 'SUCCESS' };
            },
          },
        },
      },
    ).result;
    expect(request).toEqual({
      ApplicationId: expect.any(String),
      ExecutionRoleArn: expect.stringMatching(/^arn:aws:iam::123456789012:role\/RunSparkJobJobRole/),
      // The name is the idempotency token too: a retried call starts no second job run.
      Name: 'fleet-daily-20261122-a1',
      ClientToken: 'fleet-daily-20261122-a1',
      JobDriver: {
        SparkSubmit: {
          EntryPoint: 's3://spark-data/_batcat/code/fleet-daily/fleet_daily.py',
          // The placeholder is resolved per run.
          EntryPointArguments: ['--input', 's3://data/raw/usage/dt=2026-11-22/', '--mode', 'daily'],
          SparkSubmitParameters:
            '--conf spark.executor.memory=4g --conf spark.sql.shuffle.partitions=200 --py-files s3://spark-data/_batcat/code/fleet-daily/lib.zip',
        },
      },
      ConfigurationOverrides: {
        MonitoringConfiguration: {
          S3MonitoringConfiguration: {
            LogUri: 's3://spark-data/_batcat/spark-logs/fleet-daily/fleet-daily-20261122-a1/',
            EncryptionKeyArn: expect.any(String),
          },
        },
      },
      ExecutionTimeoutMinutes: 120,
      Tags: { 'batcat:purpose': 'fleet-daily' },
    });
    // The application's ID and the key's ARN are references in the template; the model wants their real forms there.
    request.ApplicationId = '00fabcd1234';
    request.ConfigurationOverrides.MonitoringConfiguration.S3MonitoringConfiguration.EncryptionKeyArn =
      'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(startJobRunProblems(request)).toEqual([]);
  });

  test("a literal argument's braces are escaped in States.Array, as intrinsic functions require", () => {
    const t = Template.fromStack(build({ entryPointArguments: ['--options', '{"a": 1}', sfn.JsonPath.stringAt('$.runId')] }).stack);
    expect(definitionOf(t).States.RunSparkJob.Parameters.JobDriver.SparkSubmit['EntryPointArguments.$']).toBe(
      "States.Array('--options', '\\{\"a\": 1\\}', $.runId)",
    );
    // Without a per-run value the arguments are a plain list, braces as written.
    const plain = Template.fromStack(build({ entryPointArguments: ['--options', '{"a": 1}'] }).stack);
    expect(definitionOf(plain).States.RunSparkJob.Parameters.JobDriver.SparkSubmit.EntryPointArguments).toEqual(['--options', '{"a": 1}']);
  });

  test('the API model check is live: a request it should refuse is refused', () => {
    expect(startJobRunProblems({ ApplicationId: 'App_1', ExecutionRoleArn: 'x', JobDriver: { SparkSubmit: {} }, Colour: 'red' })).toEqual(
      expect.arrayContaining([
        'StartJobRun.clientToken: required',
        'StartJobRun.JobDriver.SparkSubmit.entryPoint: required',
        expect.stringMatching(/^StartJobRun\.Colour: not a member/),
      ]),
    );
  });

  test("the state machine may start job runs on this application only, follow and cancel them, and pass the job's role to EMR Serverless only", () => {
    const statements = Object.values<any>(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes('MachineRole'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s: any) => !JSON.stringify(s.Action).match(/logs:|xray:/));
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: 'emr-serverless:StartJobRun',
        Resource: expect.objectContaining({ 'Fn::GetAtt': [expect.stringMatching(/^Application/), 'Arn'] }),
      },
      {
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^RunSparkJobJobRole/), 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'emr-serverless.amazonaws.com' } },
      },
      {
        Effect: 'Allow',
        Action: ['emr-serverless:CancelJobRun', 'emr-serverless:GetJobRun'],
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^Application/), 'Arn'] }, '/jobruns/*']] },
      },
      {
        Effect: 'Allow',
        Action: ['events:DescribeRule', 'events:PutRule', 'events:PutTargets'],
        Resource: 'arn:aws:events:eu-west-1:123456789012:rule/StepFunctionsGetEventsForEMRServerlessJobRule',
      },
    ]);
  });

  test("the job's role: taken only by this application's job runs; it reads its code and inputs and writes its outputs and logs, by prefix", () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'emr-serverless.amazonaws.com' },
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [Match.stringLikeRegexp('^Application'), 'Arn'] } },
            },
          },
        ],
      },
    });
    const statements = Object.values<any>(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes('RunSparkJobJobRole'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    // Each action, with the objects it is allowed on (the bucket's ARN left out).
    const on = (action: string) =>
      statements
        .filter((s: any) => [s.Action].flat().includes(action))
        .flatMap((s: any) => [s.Resource].flat())
        .map((r: any) => r['Fn::Join'][1][1])
        .sort();
    expect(on('s3:GetObject')).toEqual([
      '/_batcat/code/fleet-daily/fleet_daily.py',
      '/_batcat/code/fleet-daily/lib.zip',
      '/_batcat/spark-logs/fleet-daily/*',
      '/raw/usage/*',
      '/results/fleet-daily/daily/*',
    ]);
    expect(on('s3:PutObject')).toEqual(['/_batcat/spark-logs/fleet-daily/*', '/results/fleet-daily/daily/*']);
    expect(on('s3:DeleteObject')).toEqual(on('s3:PutObject'));
    expect(
      statements
        .filter((s: any) => [s.Action].flat().includes('s3:ListBucket'))
        .map((s: any) => s.Condition.StringLike['s3:prefix'])
        .sort(),
    ).toEqual([['_batcat/spark-logs/fleet-daily/*'], ['raw/usage/*'], ['results/fleet-daily/daily/*']]);
    // The bucket's key, only through S3.
    for (const s of statements.filter((x: any) => JSON.stringify(x.Action).includes('kms:'))) {
      expect(s.Condition.StringEquals['kms:ViaService']).toEqual(expect.anything());
    }
  });

  test('REQUEST_RESPONSE only starts the job run: no GetJobRun, CancelJobRun or managed rule', () => {
    const t = Template.fromStack(build({ integrationPattern: sfn.IntegrationPattern.REQUEST_RESPONSE }).stack);
    const text = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    expect(text).toContain('emr-serverless:StartJobRun');
    expect(text).not.toContain('emr-serverless:GetJobRun');
    expect(text).not.toContain('StepFunctionsGetEventsForEMRServerlessJobRule');
    expect(definitionOf(t).States.RunSparkJob.Resource).toBe('arn:aws:states:::emr-serverless:startJobRun');
  });

  test('a role brought along is used as it is, and given nothing', () => {
    const app = testApp();
    const stack = new Stack(app, 'Own');
    const role = new iam.Role(stack, 'TeamRole', { assumedBy: new iam.ServicePrincipal('emr-serverless.amazonaws.com') });
    const bucket = new s3.Bucket(stack, 'Code');
    const task = new EmrServerlessStartJobRun(stack, 'Run', {
      application: SparkApplication.fromApplicationId(stack, '00fabcd1234'),
      entryPoint: { bucket, key: 'job.py' },
      name: 'nightly',
      role,
      inputFolders: [{ bucket, keyPrefix: 'in/' }],
    });
    expect(task.role).toBe(role);
    new sfn.StateMachine(stack, 'M', { definitionBody: sfn.DefinitionBody.fromChainable(task) });
    const t = Template.fromStack(stack);
    expect(JSON.stringify(t.findResources('AWS::IAM::Policy'))).not.toContain('TeamRole"]');
    const def2 = definitionOf(t);
    expect(def2.States.Run.Parameters).toMatchObject({ ApplicationId: '00fabcd1234', Name: 'nightly', ClientToken: 'nightly' });
    // An imported application's ARN is built from its ID.
    expect(JSON.stringify(t.findResources('AWS::IAM::Policy'))).toContain(':/applications/00fabcd1234');
  });

  test('bad input is refused at synth, each error naming the field and the fix', () => {
    const cases: Array<[Partial<EmrServerlessStartJobRunProps>, RegExp]> = [
      [{ name: 'fleet daily' }, /name 'fleet daily' must be 1 to 64 characters of \[A-Za-z0-9._-\]/],
      [
        { sparkConf: { 'spark.driver.extraJavaOptions': '-Xss4m -Dx=y' } },
        /sparkConf spark\.driver\.extraJavaOptions: the value '-Xss4m -Dx=y' is empty or has a space/,
      ],
      [{ sparkConf: { 'spark executor': '1' } }, /sparkConf key 'spark executor' is not a Spark property name/],
      [{ mainClass: 'com.example.Daily-Job' }, /mainClass 'com\.example\.Daily-Job' is not a Java class name/],
      [{ executionTimeout: Duration.seconds(90) }, /executionTimeout must be a whole number of minutes, at least 1, got 1\.5/],
      [
        { integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN },
        /integrationPattern WAIT_FOR_TASK_TOKEN is not supported; use RUN_JOB \(\.sync\) or REQUEST_RESPONSE/,
      ],
    ];
    for (const [overrides, message] of cases) expect(() => build(overrides)).toThrow(message);
    const stack = new Stack(testApp(), 'Bad');
    expect(() => new SparkApplication(stack, 'A', { releaseLabel: '7.5.0' })).toThrow(
      /releaseLabel '7\.5\.0' is not an EMR release label; write it like 'emr-7\.5\.0'/,
    );
    expect(() => new SparkApplication(stack, 'B', { releaseLabel: 'emr-7.5.0', idleTimeout: Duration.days(8) })).toThrow(
      /idleTimeout must be from 1 minute to 7 days, got 11520 minutes/,
    );
    expect(
      () => new SparkApplication(stack, 'C', { releaseLabel: 'emr-7.5.0', maximumCapacity: { cpu: 0.5, memory: Size.gibibytes(4) } }),
    ).toThrow(/maximumCapacity\.cpu must be a whole number of vCPUs, at least 1, got 0\.5/);
    expect(() => SparkApplication.fromApplicationId(stack, 'App-1')).toThrow(/'App-1' is not an EMR Serverless application ID/);
  });

  test('cdk-nag and cfn-guard find nothing unacknowledged', () => {
    const app = testApp({ validate: true });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), everyTemplate(new CfnGuardValidator()));
    build({}, app);
    expect(synthOnce(app).findings()).toEqual([]);
  });
});
