import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { synthesizedProject } from './synthesized-project';
import { projectProblems } from './project-problems';
import { createDeliveryStreamProblems } from '../api-model';

/*
 * `ingest:` in a project file: a Firehose stream per entry in the nested stack Ingest, delivering
 * into the bucket of the purpose that reads its folder, as dt= partitions that purpose's S3
 * arrival trigger and partitioned input read; its role writes that folder and its error folder
 * only; a Glue table; alarms; producers' policy; every template clean under cdk-nag and cfn-guard.
 */

const purposes = `purposes:
  - name: usage
    framework: sklearn:1.2-1
    script: scripts/usage.py
    inputs:
      - name: telemetry
        prefix: raw/telemetry/
        partitioned: true
    outputs:
      - name: summary
    triggers:
      s3:
        - input: telemetry
          settle: 10m
`;

describe('ingest streams in a project', () => {
  const yaml = `project: demo
ingest:
  - name: telemetry
    stream: firehose
    prefix: raw/telemetry/
    format: parquet
    columns: { vin: string, soc: double, recorded_at: timestamp }
    buffer: { seconds: 120, mb: 64 }
  - name: clicks
    stream: firehose
    prefix: raw/clicks/
    partitionBy: clicked_at
    columns: { user_id: string, clicked_at: string }
${purposes}`;
  const { synth, stack, parent } = synthesizedProject(yaml, { 'scripts/usage.py': 'print(1)\n' }, { guard: true });
  const ingest = synth.templateOf(Stack.of(stack.ingestStreams.telemetry));
  const streams = Object.values<any>(ingest.findResources('AWS::KinesisFirehose::DeliveryStream')).map((r) => r.Properties);
  const [telemetry, clicks] = streams;

  test('a Direct PUT stream per entry, encrypted with the project key, into dt= partitions of the folder', () => {
    expect(streams.map((s) => s.DeliveryStreamName)).toEqual(['batcat-demo-dev-telemetry', 'batcat-demo-dev-clicks']);
    expect(telemetry.DeliveryStreamType).toBe('DirectPut');
    expect(telemetry.DeliveryStreamEncryptionConfigurationInput.KeyType).toBe('CUSTOMER_MANAGED_CMK');
    const s3 = telemetry.ExtendedS3DestinationConfiguration;
    expect(s3.Prefix).toBe('raw/telemetry/dt=!{timestamp:yyyy-MM-dd}/');
    expect(s3.ErrorOutputPrefix).toBe(
      '_batcat/ingest-errors/batcat-demo-dev-telemetry/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/',
    );
    expect(s3.BufferingHints).toEqual({ IntervalInSeconds: 120, SizeInMBs: 64 });
    expect(s3.EncryptionConfiguration.KMSEncryptionConfig.AWSKMSKeyARN).toBeDefined();
    expect(s3.DataFormatConversionConfiguration).toMatchObject({
      Enabled: true,
      InputFormatConfiguration: { Deserializer: { OpenXJsonSerDe: {} } },
      OutputFormatConfiguration: { Serializer: { ParquetSerDe: { Compression: 'SNAPPY' } } },
      SchemaConfiguration: { TableName: 'raw_telemetry', VersionId: 'LATEST' },
    });
    const c = clicks.ExtendedS3DestinationConfiguration;
    expect(c.Prefix).toBe('raw/clicks/dt=!{partitionKeyFromQuery:dt}/');
    expect(c.DynamicPartitioningConfiguration.Enabled).toBe(true);
    expect(c.ProcessingConfiguration.Processors[0].Parameters).toContainEqual({
      ParameterName: 'MetadataExtractionQuery',
      ParameterValue: '{dt: .clicked_at[0:10]}',
    });
    expect([s3.FileExtension, c.FileExtension]).toEqual(['.parquet', '.json']);
  });

  test('the stream writes into the bucket of the purpose that reads its folder', () => {
    // The nested stack gets the bucket as a parameter from the parent: the usage bucket.
    const [, nested] = Object.entries<any>(parent.findResources('AWS::CloudFormation::Stack')).find(([id]) => id.startsWith('Ingest'))!;
    const buckets = JSON.stringify(nested.Properties.Parameters);
    expect(buckets).toMatch(/DataBucketusage/);
    expect(buckets).toMatch(/DataBucket[0-9A-F]{8}/); // clicks: read by no purpose, in the project bucket
  });

  test('every request is a valid CreateDeliveryStream of the Firehose API model', () => {
    for (const s of streams) expect(createDeliveryStreamProblems(s)).toEqual([]);
    const tooLarge = { ...telemetry.ExtendedS3DestinationConfiguration, BufferingHints: { IntervalInSeconds: 1000, SizeInMBs: 64 } };
    expect(createDeliveryStreamProblems({ ...telemetry, ExtendedS3DestinationConfiguration: tooLarge })).toEqual([
      expect.stringMatching(/BufferingHints\.IntervalInSeconds: at most 900/),
    ]);
  });

  test('the role writes the folder and its error folder, and nothing else', () => {
    const policies = Object.values<any>(ingest.findResources('AWS::IAM::Policy')).map((p) => JSON.stringify(p.Properties));
    const telemetryPolicy = policies.find((p) => p.includes('raw/telemetry/*'))!;
    expect(telemetryPolicy).toContain('_batcat/ingest-errors/batcat-demo-dev-telemetry/*');
    expect(telemetryPolicy).not.toMatch(/"\/\*"|"s3:\*"|"Resource":"\*"/);
    expect(telemetryPolicy).toContain('glue:GetTable');
  });

  test('alarms on failed deliveries, stale records and failed conversions, notifying the project topic', () => {
    const alarms = Object.values<any>(ingest.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    expect(alarms.map((a) => a.AlarmName).sort()).toEqual([
      'batcat-demo-dev-clicks-delivery-failed',
      'batcat-demo-dev-clicks-stale',
      'batcat-demo-dev-telemetry-conversion-failed',
      'batcat-demo-dev-telemetry-delivery-failed',
      'batcat-demo-dev-telemetry-stale',
    ]);
    const stale = alarms.find((a) => a.AlarmName === 'batcat-demo-dev-telemetry-stale');
    expect(stale).toMatchObject({ MetricName: 'DeliveryToS3.DataFreshness', Threshold: 120 + 900, Statistic: 'Maximum' });
    for (const a of alarms) expect(a.AlarmActions).toHaveLength(1);
  });

  test('tables over the folders, partitioned by dt, in the project database', () => {
    ingest.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'raw_clicks',
        StorageDescriptor: Match.objectLike({
          SerdeInfo: { SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe', Parameters: Match.anyValue() },
        }),
        PartitionKeys: [Match.objectLike({ Name: 'dt' })],
      }),
    });
  });

  test("a producer policy per stream, named in the parent stack's outputs", () => {
    const outputs = parent.toJSON().Outputs;
    expect(Object.keys(outputs)).toEqual(expect.arrayContaining(['IngesttelemetryStream', 'IngesttelemetryProducerPolicy']));
    ingest.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Action: ['firehose:PutRecord', 'firehose:PutRecordBatch'] })],
      }),
    });
  });

  test('cdk-nag and cfn-guard (the Control Tower controls) find nothing unacknowledged in any template', () => {
    expect(synth.findings()).toEqual([]);
  });
});

describe('mistakes in ingest:', () => {
  const entry = (lines: string) => `project: demo
ingest:
  - name: telemetry
    stream: firehose
${lines}
${purposes}`;

  test('each at its line, with the fix', () => {
    expect(projectProblems(entry('    prefix: raw/telemetry/\n    format: parquet'))).toEqual([
      expect.stringMatching(
        /^line 6:\d+: ingest\[0\]\.format: ingest 'telemetry' writes parquet, which Firehose converts .* declare the columns/,
      ),
    ]);
    expect(projectProblems(entry('    prefix: results/usage/summary/'))).toEqual([
      expect.stringMatching(
        /^line 5:\d+: ingest\[0\]\.prefix: ingest 'telemetry' writes to 'results\/usage\/summary\/', which overlaps .* that purpose 'usage' output 'summary' writes; give each stream a folder of its own/,
      ),
    ]);
    expect(projectProblems(entry('    prefix: raw/t/\n    partitionBy: recordet_at\n    columns: { recorded_at: string }'))).toEqual([
      expect.stringMatching(/partitionBy 'recordet_at' is not among the columns \('recorded_at'\); did you mean 'recorded_at'\?/),
    ]);
    expect(projectProblems(entry('    prefix: raw/t/\n    format: parquet\n    columns: { a: string }\n    buffer: { mb: 8 }'))).toEqual([
      expect.stringMatching(/buffer\.mb must be at least 64 when converting to parquet/),
    ]);
  });
});
