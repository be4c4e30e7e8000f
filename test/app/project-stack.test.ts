import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnResource, Duration, Stack, TimeZone } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Purpose } from '../../lib/constructs/purpose';
import { QueryParameter } from '../../lib/constructs/purpose-props';
import { QueryWorkGroup } from '../../lib/constructs/query-workgroup';
import { S3DataDistribution, SageMakerCreateProcessingJob } from '../../lib/constructs/sagemaker-create-processing-job';
import { CONTAINER_DIR } from '../constructs/fixtures';
import { definitionOf, testApp } from '../helpers';
import { synthesizedProject } from './synthesized-project';

const IMAGE = '210987654321.dkr.ecr.eu-west-1.amazonaws.com/team/forecast@sha256:' + 'ab'.repeat(32);

const LABELS_KEY = 'arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function project(yaml: string) {
  const p = synthesizedProject(yaml);
  return { ...p, nested: p.nestedOf('forecast') };
}

describe('ProjectStack', () => {
  const { synth, stack, parent, nested } = project(`project: demo
stage: prod
purposes:
  - name: forecast
    image: ${IMAGE}
    instanceType: ml.c5.xlarge
    instanceCount: 4
    inputs:
      - name: features
        uri: s3://shared-feature-store/vehicles/
        distribution: ShardedByS3Key
      - name: labels
        uri: s3://labelled-fleet/2026/
        kmsKey: ${LABELS_KEY}
    outputs:
      - name: predictions
        prefix: curated/predictions/
`);

  test('cdk-nag finds nothing unacknowledged for an external input bucket and an ECR image either', () => {
    expect(synth.findings()).toEqual([]);
  });

  test('is named from project and stage, and tags everything with them', () => {
    expect(stack.stackName).toBe('batcat-demo-prod');
    parent.hasResourceProperties('AWS::S3::Bucket', {
      Tags: [
        { Key: 'batcat:project', Value: 'demo' },
        { Key: 'batcat:stage', Value: 'prod' },
      ],
    });
  });

  test('an existing ECR image is pulled from its own repository only, by digest', () => {
    const def = definitionOf(nested);
    expect(def.States.RunProcessingJob.Parameters.AppSpecification.ImageUri).toBe(IMAGE);
    const statements = Object.values<any>(nested.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const pull = statements.find((s) => [s.Action].flat().includes('ecr:BatchGetImage'));
    expect(JSON.stringify(pull.Resource)).toContain(':ecr:eu-west-1:210987654321:repository/team/forecast');
    expect(Object.keys(nested.findResources('AWS::ECR::Repository'))).toEqual([]);
  });

  test('an input in another bucket is read below its prefix only, sharded across the instances', () => {
    const def = definitionOf(nested);
    const p = def.States.RunProcessingJob.Parameters;
    // The job reads what RecordRunInputs recorded of the folder.
    expect(p.ProcessingInputs[0].S3Input).toMatchObject({ 'S3Uri.$': '$.manifest.uris.u0', S3DataDistributionType: 'ShardedByS3Key' });
    expect(def.States.RecordRunInputs.Parameters.inputs[0]).toMatchObject({
      bucket: 'shared-feature-store',
      prefix: 'vehicles/',
      read: 'all',
    });
    expect(p.ProcessingResources.ClusterConfig).toEqual({
      InstanceCount: 4,
      InstanceType: 'ml.c5.xlarge',
      VolumeSizeInGB: 30,
      VolumeKmsKeyId: expect.stringMatching(/DataKey.*Arn/),
    });
    const statements = Object.values<any>(nested.findResources('AWS::IAM::Policy')).flatMap((s) => s.Properties.PolicyDocument.Statement);
    const text = JSON.stringify(statements);
    expect(text).toContain(':s3:::shared-feature-store/vehicles/*');
    expect(text).toContain('"s3:prefix":["vehicles/*"]');
  });

  test("an input in a bucket encrypted with its own key (kmsKey) may be decrypted with that key only, through S3, for that bucket's objects", () => {
    const statements = Object.values<any>(nested.findResources('AWS::IAM::Policy')).flatMap((s) => s.Properties.PolicyDocument.Statement);
    const onKey = statements.filter((s) => JSON.stringify(s.Resource) === JSON.stringify(LABELS_KEY));
    expect(onKey).toHaveLength(1);
    expect(onKey[0].Action).toBe('kms:Decrypt');
    expect(JSON.stringify(onKey[0].Condition.StringEquals['kms:ViaService'])).toContain('s3.');
    expect(JSON.stringify(onKey[0].Condition.StringLike['kms:EncryptionContext:aws:s3:arn'])).toContain(':s3:::labelled-fleet');
    // The other foreign bucket names no key: S3's own encryption needs no grant.
    const kmsOnOthers = statements.filter(
      (s) => [s.Action].flat().some((a: string) => a.startsWith('kms:')) && JSON.stringify(s).includes('shared-feature-store'),
    );
    expect(kmsOnOthers).toEqual([]);
  });

  test("an output prefix may be set; the job writes below its attempt's folder there, committed to the run partition", () => {
    const def = definitionOf(nested);
    const out = def.States.RunProcessingJob.Parameters.ProcessingOutputConfig.Outputs[0].S3Output;
    expect(out['S3Uri.$']).toMatch(/\/curated\/predictions\/\{\}', \$\.batcat\.attemptFolder\)$/);
    expect(def.States.CommitResults.Parameters.outputs[0]).toEqual({
      name: expect.any(String),
      'attemptPrefix.$': "States.Format('curated/predictions/{}', $.batcat.attemptFolder)",
      'resultPrefix.$': "States.Format('curated/predictions/{}', $.batcat.partition)",
    });
  });
});

describe("stage isolation in a shared account: the data is for the stage's roles and dataAccess only", () => {
  const ADMINS = 'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_DataScience_*';
  const { parent, nestedOf } = project(`project: demo
stage: prod
dataAccess: ['${ADMINS}']
purposes:
  - name: forecast
    image: ${IMAGE}
    instanceType: ml.g5.xlarge
    outputs: [{ name: predictions }]
  - name: report
    image: ${IMAGE}
    outputs: [{ name: summary }]
`);
  /** The template value with the account's pseudo parameters filled in. */
  const resolve = (v: any): any =>
    typeof v === 'string'
      ? v
      : Array.isArray(v)
        ? v.map(resolve)
        : v['Fn::Join']
          ? v['Fn::Join'][1].map(resolve).join(v['Fn::Join'][0])
          : ({ 'AWS::Partition': 'aws', 'AWS::AccountId': '123456789012' } as any)[v.Ref];
  /** IAM's StringLike: `*` any run of characters, `?` one. */
  const like = (value: string, pattern: string) =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    ).test(value);
  const deniedTo = (statement: any, principalArn: string) =>
    !resolve(statement.Condition.StringNotLike['aws:PrincipalArn']).some((p: string) => like(principalArn, p));
  const who = {
    ownJobRole: 'arn:aws:iam::123456789012:role/batcat/demo/prod/batcat-demo-prod-forecast-JobRole1234',
    dataScientist: 'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_DataScience_0a1b2c3d',
    devStageRole: 'arn:aws:iam::123456789012:role/batcat/demo/dev/batcat-demo-dev-forecast-JobRole1234',
    otherProject: 'arn:aws:iam::123456789012:role/batcat/demo-x/prod/JobRole',
    sageMakerFullAccessUser: 'arn:aws:iam::123456789012:role/SageMakerStudioExecutionRole',
    otherSsoRole: 'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_ReadOnly_0a1b2c3d',
  };

  test('the bucket policy denies reading, writing, listing and deleting objects to every principal but those', () => {
    const policy = Object.entries<any>(parent.findResources('AWS::S3::BucketPolicy')).find(([id]) => id.startsWith('DataBucket'))![1];
    const deny = policy.Properties.PolicyDocument.Statement.find((s: any) => s.Sid === 'DataOnlyForDataPrincipals');
    expect(deny).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Condition: { BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' } },
    });
    expect(deny.Action).toEqual(expect.arrayContaining(['s3:GetObject*', 's3:PutObject*', 's3:DeleteObject*', 's3:ListBucket*']));
    expect(JSON.stringify(deny.Resource)).toMatch(
      /DataBucket.*"Arn"\]\},\{"Fn::Join":\["",\[\{"Fn::GetAtt":\["DataBucket\w+","Arn"\]\},"\/\*"\]/,
    );
    expect(Object.fromEntries(Object.entries(who).map(([k, arn]) => [k, deniedTo(deny, arn)]))).toEqual({
      ownJobRole: false,
      dataScientist: false,
      devStageRole: true,
      otherProject: true,
      sageMakerFullAccessUser: true,
      otherSsoRole: true,
    });
  });

  test('the key policy denies using the key for S3 objects to the same principals, and leaves logs and the ledger alone', () => {
    const key = Object.entries<any>(parent.findResources('AWS::KMS::Key')).find(([id]) => id.startsWith('DataKey'))![1];
    const deny = key.Properties.KeyPolicy.Statement.find((s: any) => s.Sid === 'S3DataOnlyForDataPrincipals');
    expect(deny).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey*']),
      Condition: { Null: { 'kms:EncryptionContext:aws:s3:arn': 'false' }, BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' } },
    });
    expect(deniedTo(deny, who.devStageRole)).toBe(true);
    expect(deniedTo(deny, who.ownJobRole)).toBe(false);
    expect(deniedTo(deny, who.dataScientist)).toBe(false);
    // Who administers the key is untouched: the account's administrators can always fix the policy.
    expect(JSON.stringify(deny.Action)).not.toMatch(/Put|Create|Update|"kms:\*"/);
  });

  test('jobs encrypt their volumes and results with the project key, but for instance types with local NVMe storage', () => {
    const cluster = (p: string) => definitionOf(nestedOf(p)).States.RunProcessingJob.Parameters.ProcessingResources.ClusterConfig;
    const outputs = (p: string) => definitionOf(nestedOf(p)).States.RunProcessingJob.Parameters.ProcessingOutputConfig;
    expect(cluster('report').VolumeKmsKeyId).toMatch(/DataKey.*Arn/);
    expect(cluster('forecast')).toEqual({ InstanceCount: 1, InstanceType: 'ml.g5.xlarge', VolumeSizeInGB: 30 });
    for (const p of ['report', 'forecast']) expect(outputs(p).KmsKeyId).toMatch(/DataKey.*Arn/);
    const grants = (p: string) =>
      Object.values<any>(nestedOf(p).findResources('AWS::IAM::Policy'))
        .flatMap((s) => s.Properties.PolicyDocument.Statement)
        .filter((s) => s.Action === 'kms:CreateGrant');
    expect(grants('report')).toEqual([expect.objectContaining({ Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } } })]);
    expect(grants('forecast')).toEqual([]);
  });
});

/*
 * The construct unit tests run without the built-in CloudFormation validation (see testApp).
 * This suite keeps that check for the variants they build: every optional feature of Purpose
 * and of the processing task, synthesized once with the validation on, must give no finding.
 * It lives here, with the other validated synths, so the validation engine starts once.
 */
test('every Purpose and task variant passes the built-in CloudFormation validation with no finding', () => {
  const app = testApp({ validate: true });
  const stack = new Stack(app, 'Variants', { stackName: 'variants' });
  const bucket = new s3.Bucket(stack, 'Data', { encryption: s3.BucketEncryption.KMS });
  const topic = new sns.Topic(stack, 'Topic');
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: 'vpc-1',
    availabilityZones: ['eu-west-1a'],
    privateSubnetIds: ['subnet-1'],
    privateSubnetRouteTableIds: ['rtb-1'],
  });
  const securityGroup = ec2.SecurityGroup.fromSecurityGroupId(stack, 'Sg', 'sg-1');
  const workGroup = new QueryWorkGroup(stack, 'Queries', { workGroupName: 'variants', resultsBucket: bucket });
  const upstream = new Purpose(stack, 'Upstream', {
    purposeName: 'upstream',
    bucket,
    notificationTopic: topic,
    containerDirectory: CONTAINER_DIR,
    inputs: [{ name: 'usage', keyPrefix: 'raw/usage/', partitioned: true }],
    outputs: [{ name: 'summary' }],
    schedule: scheduler.ScheduleExpression.cron({ minute: '0', hour: '4', timeZone: TimeZone.EUROPE_BERLIN }),
    s3Arrival: [{ input: 'usage', suffix: '.csv' }],
  });
  new Purpose(stack, 'Everything', {
    purposeName: 'everything',
    bucket,
    notificationTopic: topic,
    image: tasks.DockerImage.fromEcrRepository(ecr.Repository.fromRepositoryName(stack, 'Repo', 'team/forecast'), '1.0'),
    inputs: [
      { name: 'features', keyPrefix: 'curated/features/', distribution: S3DataDistribution.SHARDED_BY_S3_KEY },
      { name: 'summary', keyPrefix: 'results/upstream/summary/', partitioned: true },
    ],
    outputs: [{ name: 'report', keyPrefix: 'results/everything/' }],
    instanceType: new ec2.InstanceType('c5.xlarge'),
    instanceCount: 3,
    maxRuntime: Duration.hours(6),
    environment: { MODE: 'full' },
    networkIsolation: false,
    vpc,
    securityGroups: [securityGroup],
    after: upstream,
    backfillConcurrency: 5,
    query: {
      queryString: 'SELECT * FROM t WHERE dt = ?',
      parameters: [QueryParameter.WINDOW_START],
      workGroup,
      database: 'variants',
      tables: ['t'],
      dataLocations: [{ bucket, keyPrefix: 'results/upstream/summary/' }],
    },
  });
  const requestResponse = new SageMakerCreateProcessingJob(stack, 'FireAndForget', {
    jobName: 'fire-and-forget-1',
    jobNamePrefix: 'fire-and-forget',
    image: tasks.DockerImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/tools:1'),
    integrationPattern: sfn.IntegrationPattern.REQUEST_RESPONSE,
    processingOutputs: [{ name: 'out', bucket, keyPrefix: 'tmp/out/' }],
  });
  new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(requestResponse) });

  app.synth();
  const report = JSON.parse(fs.readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8'));
  // The report lists only plugins that found something.
  expect(
    report.pluginReports.flatMap((p: any) => p.violations.map((v: any) => `${p.pluginName}: ${v.ruleName}: ${v.description}`)),
  ).toEqual([]);
});

test('the validation is live in these tests: an invalid property fails the synth', () => {
  const app = testApp({ validate: true });
  const stack = new Stack(app, 'Canary');
  new CfnResource(stack, 'BadQueue', { type: 'AWS::SQS::Queue', properties: { VisibilityTimeout: 'a long time' } });
  const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    expect(() => app.synth()).toThrow(/VisibilityTimeout: 'a long time' is not of type 'integer' \(CloudFormation Validate\)/);
  } finally {
    error.mockRestore();
  }
});
