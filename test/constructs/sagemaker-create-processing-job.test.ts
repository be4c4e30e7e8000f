import { Duration, Size, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import {
  S3DataDistribution,
  SageMakerCreateProcessingJob,
  type SageMakerCreateProcessingJobProps,
} from '../../lib/constructs/sagemaker-create-processing-job';
import aslValidator from 'asl-validator';
import jsonata from 'jsonata';
import { definitionOf } from '../helpers';
import { baseStack, CONTAINER_DIR } from './fixtures';

function build(overrides: Partial<SageMakerCreateProcessingJobProps> = {}) {
  const { stack, bucket, key } = baseStack();
  const task = new SageMakerCreateProcessingJob(stack, 'Job', {
    jobName: sfn.JsonPath.stringAt('$.jobName'),
    jobNamePrefix: 'usage-abc123',
    image: tasks.DockerImage.fromAsset(stack, 'Image', { directory: CONTAINER_DIR }),
    processingInputs: [{ name: 'usage', bucket, keyPrefix: 'raw/usage/', distribution: S3DataDistribution.SHARDED_BY_S3_KEY }],
    processingOutputs: [{ name: 'summary', bucket, keyPrefix: 'results/usage/summary/', runPrefix: sfn.JsonPath.stringAt('$.partition') }],
    instanceType: new ec2.InstanceType('m5.xlarge'),
    instanceCount: 3,
    volumeSize: Size.gibibytes(50),
    maxRuntime: Duration.minutes(90),
    environment: { MODE: 'full', RUN_DATE: sfn.JsonPath.stringAt('$.date') },
    ...overrides,
  });
  new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(task) });
  return { stack, task, bucket, key, template: Template.fromStack(stack) };
}

/** The statements of the policy attached to the role whose logical id starts with `rolePrefix`. */
function statementsOf(template: Template, rolePrefix: string): any[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
    p.Properties.Roles.some((r: any) => String(r.Ref).startsWith(rolePrefix)),
  );
  expect(policies).toHaveLength(1);
  return policies[0].Properties.PolicyDocument.Statement;
}

const actionsOf = (statements: any[]) => statements.flatMap((s) => [s.Action].flat());

describe('SageMakerCreateProcessingJob', () => {
  test('renders a .sync createProcessingJob task with the job parameters', () => {
    const def = definitionOf(build().template);
    const state = def.States.Job;
    expect(state.Resource).toBe('arn:aws:states:::sagemaker:createProcessingJob.sync');
    expect(state.Parameters).toEqual({
      'ProcessingJobName.$': '$.jobName',
      RoleArn: expect.stringMatching(/^arn:aws:iam::123456789012:role\/JobJobRole/),
      AppSpecification: {
        ImageUri: expect.stringMatching(
          /^123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/cdk-[a-z0-9]+-container-assets-123456789012-eu-west-1:[a-f0-9]{64}$/,
        ),
      },
      ProcessingResources: { ClusterConfig: { InstanceCount: 3, InstanceType: 'ml.m5.xlarge', VolumeSizeInGB: 50 } },
      ProcessingInputs: [
        {
          InputName: 'usage',
          S3Input: {
            S3Uri: expect.stringMatching(/^s3:\/\/Data[0-9A-F]{8}\/raw\/usage\/$/),
            LocalPath: '/opt/ml/processing/input/usage',
            S3DataType: 'S3Prefix',
            S3InputMode: 'File',
            S3DataDistributionType: 'ShardedByS3Key',
            S3CompressionType: 'None',
          },
        },
      ],
      ProcessingOutputConfig: {
        Outputs: [
          {
            OutputName: 'summary',
            S3Output: {
              'S3Uri.$': expect.stringMatching(
                /^States\.Format\('s3:\/\/Data[0-9A-F]{8}\/results\/usage\/summary\/\{\}', \$\.partition\)$/,
              ),
              LocalPath: '/opt/ml/processing/output/summary',
              S3UploadMode: 'EndOfJob',
            },
          },
        ],
      },
      StoppingCondition: { MaxRuntimeInSeconds: 5400 },
      Environment: { MODE: 'full', 'RUN_DATE.$': '$.date' },
      // Three instances talk to each other encrypted.
      NetworkConfig: { EnableNetworkIsolation: true, EnableInterContainerTrafficEncryption: true },
    });
  });

  test('grants the state machine only what .sync needs, on its own jobs', () => {
    const statements = statementsOf(build().template, 'MachineRole');
    const jobs = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':sagemaker:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':processing-job/usage-abc123-*',
        ],
      ],
    };
    expect(statements).toEqual(
      expect.arrayContaining([
        // Network isolation on (the default): the role may create isolated jobs only.
        {
          Effect: 'Allow',
          Action: 'sagemaker:CreateProcessingJob',
          Resource: jobs,
          Condition: { Bool: { 'sagemaker:NetworkIsolation': 'true' } },
        },
        {
          Effect: 'Allow',
          Action: ['sagemaker:AddTags', 'sagemaker:DescribeProcessingJob', 'sagemaker:ListTags', 'sagemaker:StopProcessingJob'],
          Resource: jobs,
        },
        {
          Effect: 'Allow',
          Action: 'iam:PassRole',
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^JobJobRole/), 'Arn'] },
          Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
        },
        {
          Effect: 'Allow',
          Action: ['events:DescribeRule', 'events:PutRule', 'events:PutTargets'],
          Resource: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':events:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':rule/StepFunctionsGetEventsForSageMakerProcessingJobsRule',
              ],
            ],
          },
        },
      ]),
    );
    // Nothing broader: no service wildcards, and PassRole never without its condition.
    expect(actionsOf(statements).filter((a) => a.endsWith('*') || a === 'sagemaker:*')).toEqual([]);
    expect(statements.filter((s) => [s.Action].flat().includes('iam:PassRole')).every((s) => s.Condition)).toBe(true);
  });

  test('the job role reads only its inputs and writes only its outputs', () => {
    const statements = statementsOf(build().template, 'JobJobRole');
    const bucketArn = { 'Fn::GetAtt': [expect.stringMatching(/^Data/), 'Arn'] };
    expect(statements).toEqual(
      expect.arrayContaining([
        { Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Join': ['', [bucketArn, '/raw/usage/*']] } },
        { Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn, Condition: { StringLike: { 's3:prefix': ['raw/usage/*'] } } },
        {
          Effect: 'Allow',
          Action: ['s3:AbortMultipartUpload', 's3:PutObject'],
          Resource: { 'Fn::Join': ['', [bucketArn, '/results/usage/summary/*']] },
        },
        {
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^DataKey/), 'Arn'] },
          // Through S3, for this bucket's objects only.
          Condition: {
            StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
            StringLike: { 'kms:EncryptionContext:aws:s3:arn': [bucketArn, { 'Fn::Join': ['', [bucketArn, '/*']] }] },
          },
        },
        {
          Effect: 'Allow',
          Action: 'cloudwatch:PutMetricData',
          Resource: '*',
          Condition: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/ProcessingJobs' } },
        },
        { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      ]),
    );
    const actions = actionsOf(statements);
    for (const forbidden of [
      's3:*',
      's3:DeleteObject',
      's3:GetObject*',
      's3:List*',
      'kms:*',
      'iam:PassRole',
      'ec2:CreateNetworkInterface',
    ]) {
      expect(actions).not.toContain(forbidden);
    }
    // Reads never reach the outputs, and writes never reach the inputs.
    const resourcesFor = (action: string) =>
      statements.filter((s) => [s.Action].flat().includes(action)).map((s) => JSON.stringify(s.Resource));
    expect(resourcesFor('s3:GetObject').join()).not.toContain('results/');
    expect(resourcesFor('s3:PutObject').join()).not.toContain('raw/');
    expect(JSON.stringify(statements)).toContain(':log-group:/aws/sagemaker/ProcessingJobs:log-stream:usage-abc123-*');
  });

  test('the job role is trusted by SageMaker only', () => {
    Template.fromStack(build().stack).hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' } }],
      },
    });
  });

  test('REQUEST_RESPONSE starts the job without waiting, and needs no describe or EventBridge access', () => {
    const { template } = build({ integrationPattern: sfn.IntegrationPattern.REQUEST_RESPONSE });
    expect(definitionOf(template).States.Job.Resource).toBe('arn:aws:states:::sagemaker:createProcessingJob');
    const actions = actionsOf(statementsOf(template, 'MachineRole'));
    expect(actions).toEqual(expect.arrayContaining(['sagemaker:CreateProcessingJob', 'sagemaker:AddTags', 'iam:PassRole']));
    expect(actions).not.toContain('sagemaker:DescribeProcessingJob');
    expect(actions).not.toContain('events:PutRule');
  });

  test('a given role is used as is', () => {
    const { stack, bucket } = baseStack();
    const role = new iam.Role(stack, 'MyRole', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
    const task = new SageMakerCreateProcessingJob(stack, 'Job', {
      jobName: 'fixed-prefix-1',
      jobNamePrefix: 'fixed-prefix',
      role,
      image: tasks.DockerImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1'),
      processingOutputs: [{ name: 'out', bucket, keyPrefix: 'results/x/' }],
    });
    expect(task.role).toBe(role);
    new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(task) });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::IAM::Role', 2); // the given role and the state machine's
    expect(definitionOf(template).States.Job.Parameters).toMatchObject({
      ProcessingJobName: 'fixed-prefix-1',
      ProcessingResources: { ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 30 } },
      StoppingCondition: { MaxRuntimeInSeconds: 3600 },
    });
  });

  test('in a VPC the job gets subnets, security groups and the network-interface permissions', () => {
    const { stack, bucket } = baseStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    const sg = new ec2.SecurityGroup(stack, 'Sg', { vpc });
    const task = new SageMakerCreateProcessingJob(stack, 'Job', {
      jobName: sfn.JsonPath.stringAt('$.n'),
      jobNamePrefix: 'vpc-job',
      image: tasks.DockerImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1'),
      processingOutputs: [{ name: 'out', bucket, keyPrefix: 'results/x/' }],
      vpc,
      securityGroups: [sg],
      networkIsolation: false,
    });
    new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(task) });
    const template = Template.fromStack(stack);
    const net = definitionOf(template).States.Job.Parameters.NetworkConfig;
    expect(net.EnableNetworkIsolation).toBe(false);
    // One instance: nothing between instances to encrypt.
    expect(net).not.toHaveProperty('EnableInterContainerTrafficEncryption');
    expect(net.VpcConfig.Subnets).toHaveLength(2);
    expect(net.VpcConfig.SecurityGroupIds).toHaveLength(1);
    // The state machine may create jobs in these subnets and security groups only, and never outside the VPC.
    const create = statementsOf(template, 'MachineRole').find((st: any) => st.Action === 'sagemaker:CreateProcessingJob');
    expect(create.Condition.Null).toEqual({ 'sagemaker:VpcSubnets': 'false' });
    const allowed = create.Condition['ForAllValues:StringEquals'];
    expect(allowed['sagemaker:VpcSubnets']).toEqual(net.VpcConfig.Subnets.map((id: string) => ({ Ref: id })));
    expect(allowed['sagemaker:VpcSecurityGroupIds']).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^Sg/), 'GroupId'] }]);
    // networkIsolation: false here, so no isolation condition.
    expect(create.Condition.Bool).toBeUndefined();
    expect(actionsOf(statementsOf(template, 'JobJobRole'))).toEqual(
      expect.arrayContaining(['ec2:CreateNetworkInterface', 'ec2:DescribeSubnets']),
    );
  });

  test.each<[string, Partial<SageMakerCreateProcessingJobProps>, RegExp]>([
    ['a job name that breaks the pattern', { jobName: 'usage-abc123_x' }, /jobName must match/],
    ['a job name outside the prefix', { jobName: 'other-1' }, /start with jobNamePrefix and a hyphen, 'usage-abc123-'/],
    ['a path written as a plain string, which would be sent literally', { jobName: '$.jobName' }, /jobName must match/],
    ['a prefix that is too long', { jobNamePrefix: 'x'.repeat(31) }, /jobNamePrefix 'x{31}' is invalid; use 1-30 .*; try 'x{30}'$/],
    ['a prefix with an underscore', { jobNamePrefix: 'daily_usage' }, /jobNamePrefix 'daily_usage' is invalid.*; try 'daily-usage'$/],
    [
      'an unknown instance type',
      { instanceType: new ec2.InstanceType('m5.huge') },
      /'ml\.m5\.huge' is not a SageMaker Processing instance type; did you mean 'ml\.m5\.large'/,
    ],
    ['zero instances', { instanceCount: 0 }, /instanceCount must be a whole number from 1 to 100, got 0/],
    [
      "an instance type with SageMaker's 'ml.' prefix, which the task adds",
      { instanceType: new ec2.InstanceType('ml.m5.xlarge') },
      /instanceType 'ml\.m5\.xlarge' has the 'ml\.' prefix, which the task adds itself; drop it: new ec2\.InstanceType\('m5\.xlarge'\)/,
    ],
    [
      'security groups with imported subnets but no VPC',
      { vpcSubnets: { subnets: [ec2.Subnet.fromSubnetId(new Stack(), 'S', 'subnet-1')] } },
      /securityGroups are required with vpcSubnets but no vpc/,
    ],
    [
      'a runtime over nine days',
      { maxRuntime: Duration.days(10) },
      /'10 days' is not a valid max runtime; use a duration such as '45m', '2h' or '1d' between 1 second and 9 days/,
    ],
    [
      'an output key prefix without a trailing slash',
      { processingOutputs: [{ name: 'a', bucket: s3.Bucket.fromBucketName(new Stack(), 'B', 'other-bucket'), keyPrefix: 'raw/a' }] },
      /'raw\/a' is not a valid key prefix; use folders of letters/,
    ],
    [
      'an empty list of security groups',
      {
        vpc: ec2.Vpc.fromVpcAttributes(new Stack(), 'V', { vpcId: 'vpc-1', availabilityZones: ['a'], privateSubnetIds: ['s-1'] }),
        securityGroups: [],
      },
      /securityGroups is empty; leave it out for a new security group/,
    ],
  ])('rejects %s', (_what, overrides, error) => {
    expect(() => build(overrides)).toThrow(error);
  });

  test('a volume key encrypts the EBS volumes, for which SageMaker creates a grant with the job role; local NVMe storage takes none', () => {
    const { stack, bucket, key } = baseStack();
    const job = (id: string, instanceType: string) =>
      new SageMakerCreateProcessingJob(stack, id, {
        jobName: sfn.JsonPath.stringAt('$.jobName'),
        jobNamePrefix: 'usage-abc123',
        image: tasks.DockerImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/job:1'),
        processingOutputs: [{ name: 'summary', bucket, keyPrefix: 'results/' }],
        instanceType: new ec2.InstanceType(instanceType),
        volumeEncryptionKey: key,
      });
    expect(() => job('Nvme', 'g5.xlarge')).toThrow(
      /volumeEncryptionKey cannot be used with ml\.g5\.xlarge: its storage is local NVMe, encrypted by the instance, and SageMaker refuses a volume key for it/,
    );
    const task = job('Ebs', 'm5.xlarge');
    new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(task) });
    const template = Template.fromStack(stack);
    expect(definitionOf(template).States.Ebs.Parameters.ProcessingResources.ClusterConfig.VolumeKmsKeyId).toEqual(
      expect.stringMatching(/DataKey/),
    );
    expect(statementsOf(template, 'EbsJobRole').filter((st) => st.Action === 'kms:CreateGrant')).toEqual([
      {
        Effect: 'Allow',
        Action: 'kms:CreateGrant',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^DataKey/), 'Arn'] },
        Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      },
    ]);
  });

  test('with a VPC and no security groups, the job gets its own, allows no inbound traffic, and is connectable like any CDK compute', () => {
    const { stack, bucket } = baseStack();
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
      vpcId: 'vpc-1',
      availabilityZones: ['a'],
      privateSubnetIds: ['s-1'],
      privateSubnetRouteTableIds: ['rtb-1'],
    });
    const task = new SageMakerCreateProcessingJob(stack, 'Job', {
      jobName: sfn.JsonPath.stringAt('$.jobName'),
      jobNamePrefix: 'usage-abc123',
      image: tasks.DockerImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/job:1'),
      processingOutputs: [{ name: 'summary', bucket, keyPrefix: 'results/' }],
      vpc,
    });
    new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(task) });
    // A database lets the job in the way it lets any CDK compute in.
    const db = new ec2.SecurityGroup(stack, 'Db', { vpc });
    db.connections.allowFrom(task, ec2.Port.tcp(5432));
    const template = Template.fromStack(stack);
    const groups = template.findResources('AWS::EC2::SecurityGroup');
    const sg = Object.keys(groups).find((k) => k.startsWith('JobJobSecurityGroup'))!;
    expect(groups[sg].Properties.SecurityGroupIngress).toBeUndefined();
    expect(definitionOf(template).States.Job.Parameters.NetworkConfig.VpcConfig.SecurityGroupIds).toEqual([expect.stringContaining(sg)]);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      FromPort: 5432,
      SourceSecurityGroupId: { 'Fn::GetAtt': [sg, 'GroupId'] },
    });
  });

  test('jsonata(): per-run values are JSONata expressions, in a JSONata or a JSONPath state machine, and evaluate to the same request', async () => {
    for (const machineLanguage of [sfn.QueryLanguage.JSONATA, sfn.QueryLanguage.JSON_PATH]) {
      const { stack, bucket } = baseStack();
      const task = SageMakerCreateProcessingJob.jsonata(stack, 'Job', {
        jobName: '{% $states.input.jobName %}',
        jobNamePrefix: 'usage-abc123',
        image: tasks.DockerImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/job:1'),
        processingInputs: [{ name: 'usage', bucket, keyPrefix: 'raw/usage/', runPrefix: '{% $states.input.partition %}' }],
        processingOutputs: [
          { name: 'summary', bucket, keyPrefix: 'results/summary/', runPrefix: "{% 'attempt=' & $states.input.attempt & '/' %}" },
        ],
        containerArguments: ['--date', '{% $states.input.date %}', '{literal}'],
        environment: { RUN_DATE: '{% $states.input.date %}', MODE: 'full' },
      });
      new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(task), queryLanguage: machineLanguage });
      const def = definitionOf(Template.fromStack(stack));
      expect(aslValidator(def).errors).toEqual([]);
      const state = def.States.Job;
      expect(state.QueryLanguage ?? def.QueryLanguage).toBe('JSONata');
      expect(state.Parameters).toBeUndefined();
      // What Step Functions would send for one run: each {% %} string evaluated against the state's input.
      const states = { input: { jobName: 'usage-abc123-0a1b', partition: 'dt=2026-11-22/', attempt: 2, date: '2026-11-22' } };
      const evaluate = async (v: any): Promise<any> => {
        if (typeof v === 'string') {
          const m = /^\{%([\s\S]*)%\}$/.exec(v);
          return m ? jsonata(m[1]).evaluate({}, { states }) : v;
        }
        if (Array.isArray(v)) return Promise.all(v.map(evaluate));
        if (v && typeof v === 'object')
          return Object.fromEntries(await Promise.all(Object.entries(v).map(async ([k, x]) => [k, await evaluate(x)])));
        return v;
      };
      const request = await evaluate(state.Arguments);
      expect(request.ProcessingJobName).toBe('usage-abc123-0a1b');
      expect(request.ProcessingInputs[0].S3Input.S3Uri).toMatch(/^s3:\/\/Data\w+\/raw\/usage\/dt=2026-11-22\/$/);
      expect(request.ProcessingOutputConfig.Outputs[0].S3Output.S3Uri).toMatch(/^s3:\/\/Data\w+\/results\/summary\/attempt=2\/$/);
      expect(request.AppSpecification.ContainerArguments).toEqual(['--date', '2026-11-22', '{literal}']);
      expect(request.Environment).toEqual({ RUN_DATE: '2026-11-22', MODE: 'full' });
    }
  });

  test('a per-run value written for the other query language is refused, with how to write it', () => {
    const image = tasks.DockerImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/job:1');
    const machine = (task: sfn.IChainable) =>
      new sfn.StateMachine(Stack.of(task as any), 'M', { definitionBody: sfn.DefinitionBody.fromChainable(task) });
    const jsonPathTask = SageMakerCreateProcessingJob.jsonPath(baseStack().stack, 'Job', {
      jobName: '{% $states.input.jobName %}',
      jobNamePrefix: 'p',
      image,
    });
    expect(() => machine(jsonPathTask)).toThrow(
      "jobName is a JSONata expression, which a JSONPath task sends as it is; use SageMakerCreateProcessingJob.jsonata(), or a JsonPath reference such as JsonPath.stringAt('$.jobName')",
    );
    const { stack, bucket } = baseStack();
    const jsonataTask = SageMakerCreateProcessingJob.jsonata(stack, 'Job', {
      jobName: '{% $states.input.jobName %}',
      jobNamePrefix: 'p',
      image,
      processingInputs: [{ name: 'usage', bucket, keyPrefix: 'raw/', runPrefix: sfn.JsonPath.stringAt('$.partition') }],
    });
    expect(() => machine(jsonataTask)).toThrow(
      "input 'usage' runPrefix is a JsonPath reference, which a JSONata task sends as it is; write a JSONata expression, e.g. '{% $states.input.jobName %}', or use SageMakerCreateProcessingJob.jsonPath()",
    );
  });

  test('rejects duplicate output names, and JsonPath references in a JSONata state machine', () => {
    const { stack, bucket } = baseStack();
    const image = tasks.DockerImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1');
    expect(
      () =>
        new SageMakerCreateProcessingJob(stack, 'Dup', {
          jobName: sfn.JsonPath.stringAt('$.n'),
          jobNamePrefix: 'p',
          image,
          processingOutputs: [
            { name: 'o', bucket, keyPrefix: 'a/' },
            { name: 'o', bucket, keyPrefix: 'b/' },
          ],
        }),
    ).toThrow(/duplicate output name 'o' \(first declared at outputs\[0\]\)/);
    const task = new SageMakerCreateProcessingJob(stack, 'Ok', { jobName: sfn.JsonPath.stringAt('$.n'), jobNamePrefix: 'p', image });
    expect(
      () =>
        new sfn.StateMachine(stack, 'M', {
          definitionBody: sfn.DefinitionBody.fromChainable(task),
          queryLanguage: sfn.QueryLanguage.JSONATA,
        }),
    ).toThrow(/jobName is a JsonPath reference, which a JSONata task sends as it is/);
  });

  test('documented retries: service errors, throttling and resource limits', () => {
    const { stack } = baseStack();
    const task = new SageMakerCreateProcessingJob(stack, 'Job', {
      jobName: sfn.JsonPath.stringAt('$.n'),
      jobNamePrefix: 'p',
      image: tasks.DockerImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1'),
    }).addDocumentedRetries();
    new sfn.StateMachine(stack, 'M', { definitionBody: sfn.DefinitionBody.fromChainable(task) });
    expect(definitionOf(Template.fromStack(stack)).States.Job.Retry).toEqual([
      { ErrorEquals: ['SageMaker.AmazonSageMakerException'], IntervalSeconds: 1, MaxAttempts: 5, BackoffRate: 1.1 },
      { ErrorEquals: ['SageMaker.ThrottlingException'], IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2 },
      { ErrorEquals: ['SageMaker.ResourceLimitExceededException'], IntervalSeconds: 60, MaxAttempts: 360, BackoffRate: 1 },
    ]);
  });

  test('the image asset is pulled with the job role', () => {
    const { template } = build();
    expect(statementsOf(template, 'JobJobRole')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
          Resource: expect.anything(),
        }),
      ]),
    );
  });
});
