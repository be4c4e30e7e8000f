import * as path from 'node:path';
import { Duration, Size } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import aslValidator from 'asl-validator';
import { Purpose } from '../../lib/constructs/purpose';
import { SparkRuntime, type PurposeProps } from '../../lib/constructs/purpose-props';
import { SparkApplication } from '../../lib/constructs/spark-application';
import { definitionOf, REPO_ROOT } from '../helpers';
import { baseStack, usageAnalysis } from './fixtures';

/*
 * A Purpose with `spark`: on EMR Serverless (RunSparkJob on its own or a given application) and
 * on SageMaker's Spark image (RunProcessingJob as PySparkProcessor sends it), the IAM of each,
 * the placeholders, and the settings that do not apply. The rendered requests are checked
 * against the API models in test/cli/spark-run-local.test.ts, which runs them.
 */

const SCRIPT = path.join(REPO_ROOT, 'spark', 'fleet_daily.py');
const LIB = path.join(REPO_ROOT, 'spark', 'fleetlib');
const ARGS = ['--input', '{input.usage.uri}', '--output', '{output.summary.uri}', '--day', '{window.start}'];

function build(overrides: Partial<PurposeProps> = {}) {
  const { stack, purpose, bucket } = usageAnalysis({
    containerDirectory: undefined,
    script: SCRIPT,
    arguments: ARGS,
    spark: { pyFiles: [LIB], config: { 'spark.executor.memory': '4g' }, eventLogs: true },
    ...overrides,
  });
  const template = Template.fromStack(stack);
  return { stack, purpose, bucket, template, def: definitionOf(template) };
}

const statementsOf = (t: Template, rolePrefix: string) =>
  Object.entries<any>(t.findResources('AWS::IAM::Policy'))
    .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(rolePrefix))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);

describe('a Spark purpose on EMR Serverless', () => {
  const { purpose, template, def } = build();

  test('runs RunSparkJob after RenderArguments, on an application of its own, with its code, py-files, properties and logs', () => {
    expect(purpose.processingJob).toBeUndefined();
    expect(purpose.job).toBe(purpose.sparkJob);
    expect(purpose.sparkApplication).toBeInstanceOf(SparkApplication);
    template.hasResourceProperties('AWS::EMRServerless::Application', { ReleaseLabel: 'emr-7.5.0', Type: 'Spark', Architecture: 'ARM64' });
    expect(def.States.RecordRunInputs.Next).toBe('RenderArguments');
    expect(def.States.UseStagedInputs.Next).toBe('RenderArguments');
    expect(def.States.RenderArguments).toMatchObject({
      Next: 'RunSparkJob',
      ResultPath: '$.batcat.arguments',
      Parameters: {
        a0: '--input',
        'a1.$': "States.Format('{}', $.manifest.uris.u0)",
        'a3.$': expect.stringMatching(/^States\.Format\('s3:\/\/.+\/results\/usage-analysis\/summary\/\{\}', \$\.batcat\.attemptFolder\)$/),
        'a5.$': "States.Format('{}', $.window.start)",
      },
    });
    const job = def.States.RunSparkJob;
    expect(job.Resource).toMatch(/:states:::emr-serverless:startJobRun\.sync$/);
    expect(job.Next).toBe('CountOutputs');
    expect(job.Parameters).toMatchObject({
      'Name.$': '$.batcat.jobName',
      'ClientToken.$': '$.batcat.jobName',
      ExecutionTimeoutMinutes: 60,
      JobDriver: {
        SparkSubmit: {
          EntryPoint: expect.stringMatching(/^s3:\/\/.+\/[0-9a-f]{64}\.py$/),
          'EntryPointArguments.$':
            'States.Array($.batcat.arguments.a0, $.batcat.arguments.a1, $.batcat.arguments.a2, $.batcat.arguments.a3, $.batcat.arguments.a4, $.batcat.arguments.a5)',
        },
      },
      ConfigurationOverrides: {
        MonitoringConfiguration: {
          S3MonitoringConfiguration: { 'LogUri.$': expect.stringContaining('/_batcat/spark-logs/usage-analysis/{}') },
        },
      },
    });
    const submit = job.Parameters.JobDriver.SparkSubmit.SparkSubmitParameters;
    expect(submit).toContain('--conf spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs=false');
    expect(submit).toContain('--conf spark.executor.memory=4g');
    expect(submit).toContain('--conf spark.eventLog.enabled=true');
    expect(submit).toMatch(/--conf spark\.eventLog\.dir=s3:\/\/\S+\/_batcat\/spark-events\/usage-analysis\//);
    expect(submit).toContain('--conf spark.emr-serverless.driverEnv.BATCAT_PURPOSE=usage-analysis');
    expect(submit).toMatch(/--py-files s3:\/\/\S+\/[0-9a-f]{64}\.zip$/);
    // A job run failure: its reason and the driver's log in the notification.
    expect(def.States.UseSparkJobReason.Parameters['reason.$']).toMatch(
      /the driver log: s3:\/\/.+\/_batcat\/spark-logs\/usage-analysis\/\{\}applications\/.+\/jobs\/\{\}\/SPARK_DRIVER\/stderr\.gz\)', \$\.failedJob\.description\.JobRun\.StateDetails, \$\.batcat\.attemptFolder, \$\.failedJob\.description\.JobRun\.JobRunId\)$/,
    );
    // A failed job is redriven from RenderArguments: a new try renders its output folder anew.
    expect(job.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught-RenderArguments' }]);
    expect(def.States.ResumeWithNewTry.Choices).toContainEqual({
      Variable: '$.failedAt.step',
      StringEquals: 'RenderArguments',
      Next: 'RenderArguments',
    });
    expect(def.States.DescribeExistingJob).toBeUndefined();
  });

  test('is valid ASL', () => {
    const result = aslValidator(def);
    expect(result.errorsText()).toBe('');
    expect(result.isValid).toBe(true);
  });

  test("the job role: only this application's job runs; the inputs read, the outputs and log folders written, nothing else", () => {
    const trust = Object.values<any>(template.findResources('AWS::IAM::Role')).find((r) =>
      JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('emr-serverless.amazonaws.com'),
    );
    expect(trust.Properties.AssumeRolePolicyDocument.Statement[0].Condition).toMatchObject({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [expect.stringMatching(/SparkApplication/), 'Arn'] } },
    });
    const statements = statementsOf(template, 'RunSparkJobJobRole');
    const resources = (actions: string) =>
      statements.filter((s) => JSON.stringify(s.Action).includes(actions)).map((s) => JSON.stringify(s.Resource));
    expect(resources('s3:DeleteObject').join(' ')).toMatch(/results\/usage-analysis\/summary\/\*/);
    expect(resources('s3:DeleteObject').join(' ')).toMatch(/_batcat\/spark-logs\/usage-analysis\/\*/);
    expect(resources('s3:DeleteObject').join(' ')).toMatch(/_batcat\/spark-events\/usage-analysis\/\*/);
    expect(resources('s3:DeleteObject').join(' ')).not.toMatch(/raw\/usage/);
    expect(resources('s3:GetObject').join(' ')).toMatch(/raw\/usage\/\*/);
    for (const s of statements) expect(JSON.stringify(s.Resource)).not.toBe('"*"');
  });

  test('the state machine may start job runs on its application, follow and cancel them, and pass the job role to EMR Serverless only', () => {
    const statements = statementsOf(template, 'StateMachineRole');
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'emr-serverless:StartJobRun',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/SparkApplication/), 'Arn'] },
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'iam:PassRole',
        Condition: { StringEquals: { 'iam:PassedToService': 'emr-serverless.amazonaws.com' } },
      }),
    );
    expect(statements).toContainEqual(expect.objectContaining({ Action: ['emr-serverless:CancelJobRun', 'emr-serverless:GetJobRun'] }));
  });

  test('a given application is used, not one of its own; its maxCapacity is its own business', () => {
    const base = baseStack();
    const shared = new SparkApplication(base.stack, 'Shared', { releaseLabel: 'emr-7.5.0' });
    const props = (spark: PurposeProps['spark']): PurposeProps => ({
      purposeName: 'fleet-daily',
      namePrefix: 'batcat-demo-dev',
      bucket: base.bucket,
      notificationTopic: base.topic,
      script: SCRIPT,
      arguments: ARGS.slice(0, 2),
      inputs: [{ name: 'usage', keyPrefix: 'raw/usage/' }],
      outputs: [{ name: 'summary' }],
      spark,
    });
    const purpose = new Purpose(base.stack, 'FleetDaily', props({ application: shared }));
    expect(purpose.sparkApplication).toBe(shared);
    expect(Object.keys(Template.fromStack(base.stack).findResources('AWS::EMRServerless::Application'))).toHaveLength(1);
    expect(
      () => new Purpose(base.stack, 'Other', props({ application: shared, maxCapacity: { cpu: 8, memory: Size.gibibytes(32) } })),
    ).toThrow(/spark\.maxCapacity applies to the application the purpose creates; set it on the application you give/);
  });

  test('settings that do not apply say why and what to do instead', () => {
    expect(() => build({ instanceType: new ec2.InstanceType('m5.xlarge') })).toThrow(
      /'instanceType' does not apply to a Spark purpose on emr-serverless: EMR Serverless sizes its workers itself; bound them with spark\.maxCapacity/,
    );
    expect(() => build({ containerDirectory: path.join(REPO_ROOT, 'containers', 'usage-analysis') })).toThrow(
      /'containerDirectory' does not apply to a Spark purpose on emr-serverless: the Spark runtime chooses the image/,
    );
    expect(() => build({ quotaWait: Duration.hours(1) })).toThrow(/EMR Serverless has no instance quota to wait for/);
    expect(() => build({ script: undefined })).toThrow(/spark runs the purpose's script: add script/);
    expect(() => build({ script: path.join(REPO_ROOT, 'README.md') })).toThrow(/is neither a PySpark script \(\.py\) nor a jar/);
    expect(() => build({ spark: { mainClass: 'com.example.Daily' } })).toThrow(
      /spark\.mainClass 'com\.example\.Daily' runs a class of a jar, and script .* is a PySpark script/,
    );
    expect(() => build({ spark: { release: '3.5' } })).toThrow(
      /spark\.release '3\.5' is not an EMR release label; write it like 'emr-7\.5\.0'/,
    );
    expect(() => build({ spark: { config: { 'executor.memory': '4g' } } })).toThrow(
      /spark\.config key 'executor\.memory' is not a Spark property/,
    );
    expect(() => build({ spark: { config: { 'spark.driver.extraJavaOptions': '-Da=1 -Db=2' } } })).toThrow(
      /must be a value without spaces, as spark-submit --conf takes it/,
    );
    expect(() => build({ arguments: ['--in', '{input.usage-raw.uri}'] })).toThrow(
      /uses the placeholder \{input\.usage-raw\.uri\}, which does not exist; .*allowed: .*\{input\.usage\.uri\}, \{output\.summary\.uri\}/,
    );
  });
});

describe('a Spark purpose on SageMaker', () => {
  const { template, def, purpose } = build({
    instanceCount: 3,
    spark: { runtime: SparkRuntime.SAGEMAKER, release: '3.3', pyFiles: [LIB], config: { 'spark.executor.memory': '4g' }, eventLogs: true },
  });

  test("runs PySparkProcessor's job: SageMaker's Spark image, smspark-submit, the script, conf and py-files as inputs, event logs as an output", () => {
    expect(purpose.sparkJob).toBeUndefined();
    expect(Object.keys(template.findResources('AWS::EMRServerless::Application'))).toHaveLength(0);
    expect(def.States.RecordRunInputs.Next).toBe('WriteSparkConfiguration');
    expect(def.States.WriteSparkConfiguration).toMatchObject({
      Resource: expect.stringMatching(/:states:::aws-sdk:s3:putObject$/),
      Next: 'RenderArguments',
      Parameters: {
        Key: expect.stringMatching(/^_batcat\/spark-conf\/usage-analysis\/[0-9a-f]{16}\/configuration\.json$/),
        ContentType: 'application/json',
      },
    });
    expect(JSON.parse(def.States.WriteSparkConfiguration.Parameters.Body)).toEqual([
      {
        Classification: 'spark-defaults',
        Properties: { 'spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs': 'false', 'spark.executor.memory': '4g' },
      },
    ]);
    const job = def.States.RunProcessingJob.Parameters;
    // The account is looked up per region in the SageMakerSparkRegistries mapping (stubbed here).
    expect(job.AppSpecification.ImageUri).toMatch(/^SageMakerSparkRegistries\.account\.dkr\.ecr\..+\/sagemaker-spark-processing:3\.3-cpu$/);
    expect(job.AppSpecification.ContainerEntrypoint).toEqual([
      'smspark-submit',
      '--py-files',
      expect.stringMatching(/^\/opt\/ml\/processing\/input\/py-files\/[0-9a-f]{64}\.zip$/),
      '--local-spark-event-logs-dir',
      '/opt/ml/processing/spark-events/',
      expect.stringMatching(/^\/opt\/ml\/processing\/input\/code\/[0-9a-f]{64}\.py$/),
    ]);
    expect(job.ProcessingResources.ClusterConfig.InstanceCount).toBe(3);
    expect(job.NetworkConfig.EnableNetworkIsolation).toBe(false);
    const names = job.ProcessingInputs.map((i: any) => [i.InputName, i.S3Input.LocalPath]);
    expect(names).toEqual(
      expect.arrayContaining([
        ['code', '/opt/ml/processing/input/code'],
        ['conf', '/opt/ml/processing/input/conf'],
        ['py-files', '/opt/ml/processing/input/py-files'],
      ]),
    );
    const events = job.ProcessingOutputConfig.Outputs.find((o: any) => o.OutputName === 'spark-events');
    expect(events.S3Output).toMatchObject({ LocalPath: '/opt/ml/processing/spark-events', S3UploadMode: 'Continuous' });
    expect(JSON.stringify(template.toJSON().Mappings.SageMakerSparkRegistries)).toContain('"eu-west-1":{"account":"571004829621"}');
    expect(aslValidator(def).isValid).toBe(true);
  });

  test('the state machine writes only its configuration object; the job role may delete below its outputs (Spark commits)', () => {
    const machine = statementsOf(template, 'StateMachineRole');
    const put = machine.find((s) => s.Action === 's3:PutObject');
    expect(JSON.stringify(put.Resource)).toMatch(/_batcat\/spark-conf\/usage-analysis\/[0-9a-f]{16}\/configuration\.json"/);
    const job = statementsOf(template, 'RunProcessingJobJobRole');
    expect(
      job
        .filter((s) => JSON.stringify(s.Action).includes('s3:DeleteObject'))
        .map((s) => JSON.stringify(s.Resource))
        .join(' '),
    ).toMatch(/results\/usage-analysis\/summary\/\*/);
  });

  test('SageMaker offers the versions it has; EMR releases and maxCapacity are for EMR Serverless', () => {
    expect(() => build({ spark: { runtime: SparkRuntime.SAGEMAKER, release: 'emr-7.5.0' } })).toThrow(
      /spark\.release 'emr-7\.5\.0' is not a Spark version of SageMaker's Spark processing image; allowed: 2\.4, 3\.0, 3\.1, 3\.2, 3\.3, 3\.5 \('emr-7\.5\.0' is an EMR release, for runtime: emr-serverless\)/,
    );
    expect(() => build({ spark: { runtime: SparkRuntime.SAGEMAKER, maxCapacity: { cpu: 8, memory: Size.gibibytes(32) } } })).toThrow(
      /spark\.maxCapacity bounds an EMR Serverless application/,
    );
    // instanceType applies on SageMaker.
    expect(() => build({ spark: { runtime: SparkRuntime.SAGEMAKER }, instanceType: new ec2.InstanceType('m5.4xlarge') })).not.toThrow();
  });
});
