import { Match } from 'aws-cdk-lib/assertions';
import { definitionOf, recordInputsStub, stubRefs } from '../helpers';
import { synthesizedProject } from './synthesized-project';
import { awaitRedriveHandler, executionContext, StateMachine } from '../local-step-functions';

/*
 * The Athena side of a project: the workgroup, the Glue database and result tables, and a
 * query-fed purpose whose state machine runs the query before the job.
 */

const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/report:1';
const SQL = "SELECT vin, kwh FROM usage_analysis_summary WHERE dt BETWEEN ? AND ? -- the window's days\n";

function project(yaml: string, sql = SQL) {
  return synthesizedProject(yaml, { 'queries/report.sql': sql });
}

const YAML = `project: demo
athena:
  bytesScannedCutoff: 2GB
purposes:
  - name: usage-analysis
    image: ${IMAGE}
    outputs:
      - name: summary
        table:
          description: Usage per vehicle and day
          columns: { vin: string, kwh: double }
      - name: details
        table:
          name: usage_details
          format: parquet
          columns: { vin: string, at: timestamp }
      - name: scratch
  - name: report
    image: ${IMAGE}
    query:
      file: queries/report.sql
      tables: [usage_analysis_summary]
    outputs:
      - name: report
`;

/** The project of YAML, synthesized once for both suites below. */
let example: ReturnType<typeof project> | undefined;
const exampleProject = () => (example ??= project(YAML));

describe('a project with result tables and a query-fed purpose', () => {
  const { synth, parent, nestedOf } = exampleProject();
  const report = nestedOf('report');
  const statements = Object.values<any>(report.findResources('AWS::IAM::Policy'))
    .filter(
      (p) => JSON.stringify(p.Properties.Roles).includes('StateMachineRole') && !JSON.stringify(p.Properties.Roles).includes('Backfill'),
    )
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
  const jobStatements = Object.values<any>(report.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes('JobRole'))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);

  test('cdk-nag and the CloudFormation validation find nothing unacknowledged', () => {
    expect(synth.findings()).toEqual([]);
  });

  test("the project's workgroup, for people's queries, enforces its settings, encrypts results with the project key and cuts off at the configured bytes", () => {
    parent.resourceCountIs('AWS::Athena::WorkGroup', 1);
    parent.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'batcat-demo-dev',
      State: 'ENABLED',
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: 2e9,
        PublishCloudWatchMetricsEnabled: true,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        ResultConfiguration: {
          OutputLocation: { 'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('^DataBucket') }, '/athena-results/adhoc/']] },
          EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] } },
          ExpectedBucketOwner: { Ref: 'AWS::AccountId' },
        },
      },
    });
    // Query results expire; the data does not.
    parent.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Id: 'ExpireQueryResults', Prefix: 'athena-results/', ExpirationInDays: 30, Status: 'Enabled' }),
        ]),
      },
    });
  });

  test("one Glue database, and in the purpose's nested stack a table per declared output with dt partition projection, and one over its attempts (none for undeclared outputs)", () => {
    parent.resourceCountIs('AWS::Glue::Database', 1);
    parent.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'batcat_demo_dev' } });
    parent.resourceCountIs('AWS::Glue::Table', 0);
    const usage = nestedOf('usage-analysis');
    report.resourceCountIs('AWS::Glue::Table', 0);
    // Each declared table, and one over its run attempts (the data checks read a run's output there, before its commit).
    usage.resourceCountIs('AWS::Glue::Table', 4);
    usage.hasResourceProperties('AWS::Glue::Table', {
      DatabaseName: 'batcat_demo_dev',
      TableInput: Match.objectLike({
        Name: 'usage_analysis_summary_attempts',
        PartitionKeys: [{ Name: 'attempt', Type: 'string', Comment: Match.anyValue() }],
        Parameters: {
          classification: 'csv',
          EXTERNAL: 'TRUE',
          'skip.header.line.count': '1',
          'projection.enabled': 'true',
          'projection.attempt.type': 'injected',
          'storage.location.template': {
            'Fn::Join': [
              '',
              ['s3://', { Ref: Match.stringLikeRegexp('DataBucket') }, '/results/usage-analysis/summary/_attempts/${attempt}/'],
            ],
          },
        },
      }),
    });
    usage.hasResourceProperties('AWS::Glue::Table', {
      DatabaseName: 'batcat_demo_dev',
      TableInput: {
        Name: 'usage_analysis_summary',
        Description: 'Usage per vehicle and day',
        TableType: 'EXTERNAL_TABLE',
        PartitionKeys: [{ Name: 'dt', Type: 'string', Comment: Match.anyValue() }],
        Parameters: {
          classification: 'csv',
          EXTERNAL: 'TRUE',
          'skip.header.line.count': '1',
          'projection.enabled': 'true',
          'projection.dt.type': 'date',
          'projection.dt.format': 'yyyy-MM-dd',
          'projection.dt.range': '2000-01-01,NOW',
          'projection.dt.interval': '1',
          'projection.dt.interval.unit': 'DAYS',
          'storage.location.template': {
            'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('DataBucket') }, '/results/usage-analysis/summary/dt=${dt}/']],
          },
        },
        StorageDescriptor: {
          Location: { 'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('DataBucket') }, '/results/usage-analysis/summary/']] },
          Columns: [
            { Name: 'vin', Type: 'string' },
            { Name: 'kwh', Type: 'double' },
          ],
          SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.serde2.OpenCSVSerde' },
        },
      },
    });
    usage.hasResourceProperties('AWS::Glue::Table', {
      TableInput: {
        Name: 'usage_details',
        Parameters: Match.objectLike({ classification: 'parquet', 'projection.enabled': 'true', 'skip.header.line.count': Match.absent() }),
        StorageDescriptor: Match.objectLike({
          SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
        }),
      },
    });
    // Tables are created after their database: the nested stack waits for it.
    const db = Object.keys(parent.findResources('AWS::Glue::Database'))[0];
    const stacks = Object.entries<any>(parent.findResources('AWS::CloudFormation::Stack')).filter(([id]) => id.startsWith('usageanalysis'));
    expect(stacks).toHaveLength(1);
    expect(stacks[0][1].DependsOn).toContain(db);
  });

  test('the state machine runs the query in the workgroup with the window bound as parameters, then gives the result file to the job', () => {
    const def = definitionOf(report);
    expect(def.States.RecordRunStart.Next).toBe('RunQuery');
    expect(def.States.ResolveRun.Parameters['queryParameters.$']).toBe(
      "States.Array(States.Format('\\'{}\\'', $.window.start), States.Format('\\'{}\\'', $.window.end))",
    );
    const q = def.States.RunQuery;
    expect(q.Resource).toBe('arn:aws:states:::athena:startQueryExecution.sync');
    expect(q.Parameters).toEqual({
      QueryString: SQL,
      QueryExecutionContext: { Catalog: 'AwsDataCatalog', Database: 'batcat_demo_dev' },
      WorkGroup: 'batcat-demo-dev-report',
      'ExecutionParameters.$': '$.batcat.queryParameters',
    });
    expect(q.Next).toBe('RecordRunInputs');
    expect(q.Catch[0].Next).toBe('Caught-RunQuery');
    const input = def.States.RunProcessingJob.Parameters.ProcessingInputs.find((i: any) => i.InputName === 'query');
    // The job reads what RecordRunInputs recorded of the result file.
    expect(input.S3Input['S3Uri.$']).toBe('$.manifest.uris.u0');
    expect(def.States.RecordRunInputs.Parameters.inputs[0]).toMatchObject({
      name: 'query',
      'prefix.$': "States.Format('athena-results/purposes/report/{}', $.query.resultFile)",
    });
    expect(input.S3Input.LocalPath).toBe('/opt/ml/processing/input/query');
  });

  test("the state machine role may run queries in its workgroup and read only the query's tables and folders", () => {
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions).not.toEqual(expect.arrayContaining([expect.stringMatching(/^glue:(Create|Delete|Update|Batch(Create|Delete))/)]));
    expect(actions).not.toContain('lakeformation:GetDataAccess');
    expect(actions).not.toContain('s3:CreateBucket');
    const athena = statements.find((s) => [s.Action].flat().includes('athena:StartQueryExecution'));
    expect(athena.Action).toEqual(['athena:GetQueryExecution', 'athena:StartQueryExecution', 'athena:StopQueryExecution']);
    expect(JSON.stringify(athena.Resource)).toMatch(/:workgroup\/batcat-demo-dev-report"/);
    const glue = statements.find((s) => [s.Action].flat().includes('glue:GetTable'));
    expect(
      glue.Resource.map((r: any) =>
        JSON.stringify(r)
          .replace(/.*:glue:[^/]*?(catalog|database|table)/, '$1')
          .replace(/"\]\]\}$/, ''),
      ),
    ).toEqual(['catalog', 'database/batcat_demo_dev', 'table/batcat_demo_dev/usage_analysis_summary']);
    const reads = statements.filter((s) => [s.Action].flat().includes('s3:GetObject')).map((s) => JSON.stringify(s.Resource));
    expect(reads).toHaveLength(2);
    expect(reads[0]).toContain('/results/usage-analysis/summary/*');
    expect(reads[1]).toContain('/athena-results/purposes/report/*');
    // '*' stays for X-Ray and log delivery only, as before.
    const everything = statements.filter((s) => s.Resource === '*').flatMap((s) => [s.Action].flat());
    expect(everything.filter((a: string) => !/^(xray|logs):/.test(a))).toEqual([]);
    const kms = statements.filter(
      (s) => [s.Action].flat().some((a: string) => a.startsWith('kms:')) && s.Condition?.StringEquals?.['kms:ViaService'],
    );
    // Its query results in the project bucket; the table's data, read-only, in the bucket of the purpose that owns it.
    expect(
      kms.map((s) => ({ actions: s.Action, bucket: JSON.stringify(s.Condition.StringLike).match(/DataBucket([a-z]*)/)?.[1] || 'project' })),
    ).toEqual([
      { actions: 'kms:Decrypt', bucket: 'usageanalysis' },
      { actions: ['kms:Decrypt', 'kms:GenerateDataKey'], bucket: 'project' },
    ]);
  });

  test("the job role reads its own purpose's query results only, in a workgroup of its own, and the job learns the query id", () => {
    const reads = jobStatements.filter((s) => [s.Action].flat().includes('s3:GetObject')).map((s) => JSON.stringify(s.Resource));
    expect(reads).toEqual([expect.stringContaining('/athena-results/purposes/report/*')]);
    report.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'batcat-demo-dev-report',
      WorkGroupConfiguration: Match.objectLike({
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: 2e9,
        ResultConfiguration: Match.objectLike({
          OutputLocation: {
            'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('DataBucket') }, '/athena-results/purposes/report/']],
          },
        }),
      }),
    });
    const env = definitionOf(report).States.RunProcessingJob.Parameters.Environment;
    expect(env['BATCAT_QUERY_EXECUTION_ID.$']).toBe('$.query.queryExecutionId');
  });

  test('a purpose without a query has no query state', () => {
    const def = definitionOf(nestedOf('usage-analysis'));
    expect(def.States.RunQuery).toBeUndefined();
    expect(def.States.RecordRunStart.Next).toBe('RecordRunInputs');
    expect(def.States.ResolveRun.Parameters['queryParameters.$']).toBeUndefined();
  });
});

describe('a query-fed run, executed locally', () => {
  const { nestedOf } = exampleProject();
  const stubs = stubRefs((ref) => (ref.includes('DataBucket') ? 'demo-data-bucket' : undefined));
  const definition = definitionOf(nestedOf('report'), stubs);
  const input = {
    version: 1,
    runId: 'report-20221103-20221109-a1',
    purpose: 'report',
    window: { start: '2022-11-03', end: '2022-11-09', endExclusive: '2022-11-10' },
    timezone: 'UTC',
    attempt: 1,
    force: false,
    trigger: { kind: 'manual' },
    inputs: {},
    outputs: { report: 's3://demo-data-bucket/results/report/report/dt=2022-11-03/' },
  };

  async function run(query: (params: any) => any, given: any = input) {
    const calls: Record<string, any[]> = { RunQuery: [], RunProcessingJob: [], NotifyFailure: [], RecordRunStart: [], CommitResults: [] };
    const machine = new StateMachine(definition, { validationOptions: { checkArn: false } });
    const execution = machine.run(given, {
      context: executionContext('batcat-demo-dev-report', input.runId),
      overrides: {
        taskResourceLocalHandlers: {
          RecordRunStart: async (p: any) => {
            calls.RecordRunStart.push(p);
            return {};
          },
          RecordRunSuccess: async () => ({}),
          PublishRunSucceeded: async () => ({}),
          AwaitRedrive: awaitRedriveHandler,
          PublishRunFailed: async () => ({}),
          RecordRunFailure: async () => ({}),
          CommitResults: async (p: any) => {
            calls.CommitResults.push(p);
            return { outputs: [] };
          },
          RecordRunInputs: recordInputsStub,
          RecordRunOutputs: async () => ({ manifest: 's3://manifests/manifest.json', inputObjects: 0, outputObjects: 0 }),
          RunQuery: async (p: any) => {
            calls.RunQuery.push(p);
            return query(p);
          },
          RunProcessingJob: async (p: any) => {
            calls.RunProcessingJob.push(p);
            return { ProcessingJobArn: 'arn:job', ProcessingJobStatus: 'Completed' };
          },
          NotifyFailure: async (p: any) => {
            calls.NotifyFailure.push(p);
            return { MessageId: 'm' };
          },
          'CountOutput-report': async () => ({ KeyCount: 1 }),
        },
        retryIntervalOverrides: { RunQuery: 0, RunProcessingJob: 0 },
      },
    });
    try {
      return { output: await execution.result, calls };
    } catch (error) {
      return { error: error as Error, calls };
    }
  }

  test("a reproduction runs no query: the job reads the staged result and learns the recorded query's id; no ledger, no commit", async () => {
    const staged = 's3://demo-data-bucket/_batcat/reproduce/report/r-repro/query/a1b2.csv';
    const r = await run(() => ({}), {
      ...input,
      runId: 'report-20221103-20221109-a1-20261204211500-repro',
      reproduction: { of: input.runId, uris: { u0: staged }, queryExecutionId: 'a1b2' },
    });
    expect(r.error).toBeUndefined();
    expect([r.calls.RunQuery, r.calls.RecordRunStart, r.calls.CommitResults]).toEqual([[], [], []]);
    const job = r.calls.RunProcessingJob[0];
    expect(job.ProcessingInputs.find((i: any) => i.InputName === 'query').S3Input.S3Uri).toBe(staged);
    expect(job.Environment.BATCAT_QUERY_EXECUTION_ID).toBe('a1b2');
    expect((r.output as any).reproduction.of).toBe(input.runId);
  });

  test("the query gets the window as quoted literals, and the job reads exactly the query's result file", async () => {
    const r = await run(() => ({
      QueryExecution: {
        QueryExecutionId: 'a1b2c3d4-0000-1111-2222-333344445555',
        Status: { State: 'SUCCEEDED' },
        ResultConfiguration: {
          OutputLocation: 's3://demo-data-bucket/athena-results/purposes/report/a1b2c3d4-0000-1111-2222-333344445555.csv',
        },
        Statistics: { DataScannedInBytes: 4096 },
      },
    }));
    expect(r.error).toBeUndefined();
    expect(r.calls.RunQuery[0].ExecutionParameters).toEqual(["'2022-11-03'", "'2022-11-09'"]);
    const job = r.calls.RunProcessingJob[0];
    expect(job.ProcessingInputs).toEqual([
      expect.objectContaining({
        InputName: 'query',
        S3Input: expect.objectContaining({
          S3Uri: 's3://demo-data-bucket/athena-results/purposes/report/a1b2c3d4-0000-1111-2222-333344445555.csv',
        }),
      }),
    ]);
    expect(job.Environment.BATCAT_QUERY_EXECUTION_ID).toBe('a1b2c3d4-0000-1111-2222-333344445555');
    expect((r.output as any).query).toEqual({
      queryExecutionId: 'a1b2c3d4-0000-1111-2222-333344445555',
      resultFile: 'a1b2c3d4-0000-1111-2222-333344445555.csv',
      dataScannedBytes: 4096,
    });
  });

  test("a failed query stops the run before the job, and the notification carries Athena's reason", async () => {
    const description = {
      QueryExecution: {
        QueryExecutionId: 'q-9',
        Status: { State: 'FAILED', StateChangeReason: 'Query exhausted resources at this scale factor; bytes scanned limit was exceeded' },
      },
    };
    const r = await run(() => {
      const e = new Error(JSON.stringify(description));
      e.name = 'States.TaskFailed';
      throw e;
    });
    expect(r.error).toBeDefined();
    expect(r.calls.RunProcessingJob).toHaveLength(0);
    expect(r.calls.NotifyFailure[0].Message).toMatchObject({
      error: 'States.TaskFailed',
      reason: 'Query exhausted resources at this scale factor; bytes scanned limit was exceeded',
    });
  });
});
