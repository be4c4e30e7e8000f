import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import aslValidator from 'asl-validator';
import { Purpose } from '../../lib/constructs/purpose';
import type { PurposeProps } from '../../lib/constructs/purpose-props';
import { RedshiftUnloadFormat } from '../../lib/constructs/redshift-unload-query';
import { unloadStatement } from '../../lib/contract/sql';
import { resolveRunRequest, singleRunInput } from '../../lib/runtime/trigger';
import { definitionOf, recordInputsStub, runConfigOf, stubRefs } from '../helpers';
import { awaitRedriveHandler, executionContext, ExecutionError, StateMachine } from '../local-step-functions';
import { createProcessingJobProblems } from '../api-model';
import { baseStack } from './fixtures';

/*
 * A purpose whose query runs in Redshift: the UNLOAD statement, the polling with backoff, the
 * job reading the unloaded folder, least privilege, and its definition executed by the local
 * Step Functions interpreter with the Data API answered here.
 */

const SQL = "SELECT vin, sum(kwh) AS kwh FROM fleet.usage WHERE day BETWEEN ? AND ? AND note <> '{x}' GROUP BY vin;";

function build(overrides: Partial<PurposeProps['redshiftQuery']> = {}, props: Partial<PurposeProps> = {}) {
  const { stack, bucket, topic } = baseStack();
  const secret = secretsmanager.Secret.fromSecretNameV2(stack, 'Secret', 'prod/fleet-redshift');
  const purpose = new Purpose(stack, 'FleetReport', {
    purposeName: 'fleet-report',
    namePrefix: 'batcat-demo-dev',
    bucket,
    notificationTopic: topic,
    image: tasks.DockerImage.fromRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com/report:1'),
    outputs: [{ name: 'report' }],
    redshiftQuery: { queryString: SQL, database: 'fleet', secret, workgroupName: 'analytics', ...overrides },
    ...props,
  });
  const template = Template.fromStack(stack);
  const stubs = stubRefs((ref) => (ref.startsWith('Data') ? 'demo-data-bucket' : undefined));
  return { purpose, template, definition: definitionOf(template, stubs), config: runConfigOf(template, stubs) };
}

const demo = build();
const FOLDER = '_batcat/redshift-results/fleet-report/';

test('unloadStatement doubles the query quotes, binds each placeholder and drops the semicolon', () => {
  expect(
    unloadStatement("SELECT 'a' FROM t WHERE d = ? AND s = '?';", {
      to: 's3://b/f/',
      iamRole: 'arn:aws:iam::1:role/r',
      format: 'parquet',
      bind: (n) => `''d${n}''`,
    }),
  ).toBe(
    "UNLOAD ('SELECT ''a'' FROM t WHERE d = ''d0'' AND s = ''?''') TO 's3://b/f/' IAM_ROLE 'arn:aws:iam::1:role/r' FORMAT AS PARQUET PARALLEL OFF",
  );
});

describe('a purpose with a Redshift query', () => {
  test('runs the UNLOAD after claiming the window, polls it, and the job reads the unloaded folder', () => {
    const { States } = demo.definition;
    expect(aslValidator(demo.definition).isValid).toBe(true);
    expect(States.RecordRunStart.Next).toBe('RunQuery');
    expect(States.RunQuery).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:redshiftdata:executeStatement',
      Parameters: { Database: 'fleet', WorkgroupName: 'analytics', 'StatementName.$': '$$.Execution.Name' },
      Next: 'WaitForQuery',
    });
    expect(States.RunQuery.Parameters['Sql.$']).toMatch(
      /^States\.Format\('UNLOAD \(\\'SELECT vin, sum\(kwh\) AS kwh FROM fleet\.usage WHERE day BETWEEN \\'\\'\{\}\\'\\' AND \\'\\'\{\}\\'\\' AND note <> \\'\\'\\\{x\\\}\\'\\' GROUP BY vin\\'\) TO \\'s3:\/\/demo-data-bucket\/_batcat\/redshift-results\/fleet-report\/\{\}\\' IAM_ROLE \\'arn:aws:iam::123456789012:role\/FleetReportRedshiftQueryUnloadRole[0-9A-F]+\\' FORMAT AS CSV HEADER EXTENSION \\'csv\\' PARALLEL OFF', \$\.window\.start, \$\.window\.end, \$\.batcat\.queryFolder\)$/,
    );
    expect(States.QueryDone.Next).toBe('RecordRunInputs');
    const query = States.RunProcessingJob.Parameters.ProcessingInputs.find((i: any) => i.InputName === 'query');
    // The job reads what RecordRunInputs recorded of the unloaded folder.
    expect(query.S3Input['S3Uri.$']).toBe('$.manifest.uris.u0');
    expect(States.RecordRunInputs.Parameters.inputs[0]).toMatchObject({
      name: 'query',
      bucket: 'demo-data-bucket',
      'prefix.$': `States.Format('${FOLDER}{}', $.batcat.queryFolder)`,
      read: 'all',
    });
    expect(States.RunQuery.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'] })]);
    expect(States.DescribeQuery.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'] })]);
  });

  test('least privilege: the statement on the workgroup, its own statements, the secret; the unload role writes one folder', () => {
    const statements = Object.values(demo.template.findResources('AWS::IAM::Policy')).flatMap((p: any) =>
      p.Properties.PolicyDocument.Statement.map((s: any) => ({ roles: JSON.stringify(p.Properties.Roles), ...s })),
    );
    const machine = statements.filter((s) => /FleetReportStateMachineRole/.test(s.roles));
    expect(machine).toContainEqual(
      expect.objectContaining({
        Action: 'redshift-data:ExecuteStatement',
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':redshift-serverless:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':workgroup/*',
            ],
          ],
        },
      }),
    );
    expect(machine).toContainEqual(
      expect.objectContaining({
        Action: ['redshift-data:CancelStatement', 'redshift-data:DescribeStatement'],
        Resource: '*',
        Condition: { StringEquals: { 'redshift-data:statement-owner-iam-userid': '${aws:userid}' } },
      }),
    );
    expect(machine).toContainEqual(
      expect.objectContaining({
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
        Resource: expect.objectContaining({ 'Fn::Join': ['', expect.arrayContaining([':secret:prod/fleet-redshift-??????'])] }),
      }),
    );
    const unload = statements.filter((s) => /RedshiftQueryUnloadRole/.test(s.roles));
    expect(unload.map((s) => s.Action)).toEqual([
      ['s3:AbortMultipartUpload', 's3:PutObject'],
      's3:ListBucket',
      's3:GetBucketLocation',
      ['kms:Decrypt', 'kms:GenerateDataKey'],
    ]);
    expect(unload[0].Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^Data/), 'Arn'] }, `/${FOLDER}*`]] });
    demo.template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{ Action: 'sts:AssumeRole', Principal: { Service: ['redshift-serverless.amazonaws.com', 'redshift.amazonaws.com'] } }],
      },
    });
    // A cluster is named exactly.
    const cluster = build({ workgroupName: undefined, clusterIdentifier: 'fleet-dw', format: RedshiftUnloadFormat.PARQUET });
    expect(JSON.stringify(cluster.template.toJSON())).toContain(':cluster:fleet-dw');
    expect(cluster.definition.States.RunQuery.Parameters).toMatchObject({ ClusterIdentifier: 'fleet-dw' });
    expect(cluster.definition.States.RunQuery.Parameters['Sql.$']).toContain('FORMAT AS PARQUET PARALLEL OFF');
  });

  test('mistakes are refused at synth', () => {
    expect(() => build({ clusterIdentifier: 'fleet-dw' })).toThrow(
      /give exactly one of workgroupName \(Redshift Serverless\) or clusterIdentifier/,
    );
    expect(() => build({ queryString: 'SELECT 1 WHERE d = ?' })).toThrow(/the query has 1 '\?' placeholder\(s\) but 2 binding\(s\)/);
    expect(() => build({}, { inputs: [{ name: 'query', keyPrefix: 'raw/q/' }] })).toThrow(
      /input name 'query' is taken by the query's result/,
    );
  });
});

/** Runs the weekly definition with the Data API answered by `statuses`, one per DescribeStatement. */
async function execute(statuses: Array<{ Status: string; Error?: string }>) {
  const input = singleRunInput(
    resolveRunRequest({ purpose: 'fleet-report', date: '2026-11-22' }, demo.config, new Date('2026-11-30T09:00:00Z')),
    demo.config,
  );
  const calls: any[] = [];
  const jobs: any[] = [];
  const notifications: any[] = [];
  const machine = new StateMachine(demo.definition, { validationOptions: { checkArn: false } });
  const execution = machine.run(input as any, {
    context: executionContext(demo.purpose.stateMachineName, input.runId),
    overrides: {
      taskResourceLocalHandlers: {
        RecordRunStart: async () => ({}),
        RecordRunSuccess: async () => ({}),
        PublishRunSucceeded: async () => ({}),
        AwaitRedrive: awaitRedriveHandler,
        PublishRunFailed: async () => ({}),
        RecordRunFailure: async () => ({}),
        RunQuery: async (params: any) => {
          calls.push(params);
          return { Id: 'a1b2c3d4-statement' };
        },
        DescribeQuery: async (params: any) => {
          calls.push(params);
          return { Id: params.Id, ...statuses[calls.length - 2] };
        },
        RunProcessingJob: async (params: any) => {
          jobs.push(params);
          return {
            ProcessingJobArn: `arn:aws:sagemaker:eu-west-1:123456789012:processing-job/${params.ProcessingJobName}`,
            ProcessingJobStatus: 'Completed',
          };
        },
        'CountOutput-report': async () => ({ KeyCount: 1 }),
        CommitResults: async () => ({ outputs: [] }),
        RecordRunInputs: recordInputsStub,
        RecordRunOutputs: async () => ({ manifest: 's3://manifests/manifest.json', inputObjects: 0, outputObjects: 0 }),
        NotifyFailure: async (params: any) => {
          notifications.push(params.Message);
          return { MessageId: 'm-1' };
        },
      },
      waitTimeOverrides: { WaitForQuery: 0 },
    },
  });
  try {
    return { input, output: (await execution.result) as any, calls, jobs, notifications };
  } catch (error) {
    return { input, error: error as Error, calls, jobs, notifications };
  }
}

describe('a Redshift query run, executed locally', () => {
  test('waits 5, 10, 20, 40 and then 60 seconds between checks; the job reads the run folder with the statement id', async () => {
    const r = await execute([
      { Status: 'SUBMITTED' },
      { Status: 'STARTED' },
      { Status: 'STARTED' },
      { Status: 'STARTED' },
      { Status: 'STARTED' },
      { Status: 'FINISHED' },
    ]);
    expect(r.error).toBeUndefined();
    expect(r.output.query).toMatchObject({
      queryExecutionId: 'a1b2c3d4-statement',
      wait: { seconds: 60 },
      statement: { status: 'FINISHED' },
    });
    expect(r.calls[0].Sql).toBe(
      "UNLOAD ('SELECT vin, sum(kwh) AS kwh FROM fleet.usage WHERE day BETWEEN ''2026-11-22'' AND ''2026-11-22'' AND note <> ''{x}'' GROUP BY vin') " +
        `TO 's3://demo-data-bucket/${FOLDER}${r.input.runId}/' IAM_ROLE '${r.calls[0].Sql.match(/IAM_ROLE '([^']+)'/)[1]}' FORMAT AS CSV HEADER EXTENSION 'csv' PARALLEL OFF`,
    );
    expect(r.calls.slice(1).map((c) => c.Id)).toEqual(Array(6).fill('a1b2c3d4-statement'));
    const job = r.jobs[0];
    expect(job.ProcessingInputs.find((i: any) => i.InputName === 'query').S3Input.S3Uri).toBe(
      `s3://demo-data-bucket/${FOLDER}${r.input.runId}/`,
    );
    expect(job.Environment.BATCAT_QUERY_EXECUTION_ID).toBe('a1b2c3d4-statement');
    expect(createProcessingJobProblems(job)).toEqual([]);
  });

  test("a failed statement fails the run before the job, with Redshift's error in the notification", async () => {
    const r = await execute([{ Status: 'FAILED', Error: 'ERROR: relation "fleet.usage" does not exist' }]);
    expect(r.error).toBeInstanceOf(ExecutionError);
    expect(r.jobs).toEqual([]);
    expect(r.notifications).toEqual([
      expect.objectContaining({
        error: 'BatCat.RedshiftQueryFailed',
        reason: 'The Redshift query failed (statement a1b2c3d4-statement): ERROR: relation "fleet.usage" does not exist',
      }),
    ]);
    const aborted = await execute([{ Status: 'ABORTED' }]);
    expect(aborted.notifications[0].reason).toMatch(/^The Redshift query was cancelled \(statement a1b2c3d4-statement\)/);
  });
});
