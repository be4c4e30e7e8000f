import { ArnFormat, Aws, Duration, Size, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  INGEST_BUFFER_DEFAULTS,
  INGEST_ERRORS_PREFIX,
  INGEST_FRESHNESS_MARGIN_SECONDS,
  ingestDataPrefix,
  ingestErrorPrefix,
  ingestPartitionQuery,
  type IngestPartitioning,
} from '../contract/ingest';
import {
  columnNameProblem,
  ingestBufferProblem,
  ingestPartitionFieldProblem,
  ingestSchemaProblem,
  keyPrefixProblem,
} from '../contract/rules';
import { acknowledgeWildcardResources } from './private/acknowledge';
import { check } from './private/errors';
import { generatedName } from './private/generated-name';
import type { ResultDatabase } from './result-database';
import { type ResultColumn, ResultFormat, ResultTable } from './result-table';

/** What a stream writes to S3. */
export enum IngestStreamFormat {
  /** The records as producers sent them, one JSON object a line. */
  JSON = 'json',
  /** Parquet, converted from each JSON record with the table's columns (Firehose record format conversion). */
  PARQUET = 'parquet',
}

/** Properties of IngestStream. */
export interface IngestStreamProps {
  /** The bucket the stream delivers into. */
  readonly bucket: s3.IBucket;
  /**
   * Encrypts the stream's buffered records, the objects it writes (the bucket's key) and its
   * error log, so its policy must let CloudWatch Logs use it (ProjectStack's does).
   */
  readonly encryptionKey: kms.IKey;
  /** The folder it writes: `<keyPrefix>dt=YYYY-MM-DD/`, the partitions every purpose reads. */
  readonly keyPrefix: string;
  /**
   * The format of the files.
   *
   * @default IngestStreamFormat.JSON
   */
  readonly format?: IngestStreamFormat;
  /**
   * The records' columns: the Glue table over the folder (required for Parquet, which is
   * converted with them).
   *
   * @default - no table (JSON only)
   */
  readonly columns?: ResultColumn[];
  /**
   * The database of the table over the folder.
   *
   * @default - no table; required with `columns`
   */
  readonly database?: ResultDatabase;
  /**
   * The table's name.
   *
   * @default - a name generated from the stack name and this construct's path
   */
  readonly tableName?: string;
  /**
   * What the table holds, shown in the Glue console.
   *
   * @default - none
   */
  readonly description?: string;
  /**
   * A record field whose ISO 8601 date or timestamp decides its `dt=` folder (dynamic
   * partitioning with a jq query).
   *
   * @default - the day the record arrived, in UTC
   */
  readonly partitionBy?: string;
  /**
   * How long the stream buffers records before it writes a file.
   *
   * @default Duration.seconds(300)
   */
  readonly bufferInterval?: Duration;
  /**
   * How much the stream buffers before it writes a file (at least 64 MiB for Parquet or
   * partitioning by a field).
   *
   * @default Size.mebibytes(64)
   */
  readonly bufferSize?: Size;
  /**
   * The freshness alarm fires when the oldest record not yet delivered is older than this.
   *
   * @default - the buffer interval plus 15 minutes
   */
  readonly freshness?: Duration;
  /**
   * Where the alarms notify.
   *
   * @default - the alarms have no action
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * The stream's name (1-64 letters, digits, '.', '_' and '-').
   *
   * @default - a name generated from the stack name and this construct's path
   */
  readonly deliveryStreamName?: string;
}

/**
 * A Firehose stream (Direct PUT) that delivers records into a folder of a data bucket, as
 * `dt=YYYY-MM-DD/` partitions, so a purpose's S3-arrival trigger and partitioned inputs read it
 * as they read any raw folder. Encrypted with the bucket's key in the stream and in S3; what it
 * cannot deliver or convert goes to `_batcat/ingest-errors/<stream>/<error type>/`. Its role may
 * write those two folders and nothing else. Producers attach `producerPolicy` (or are granted
 * with `grantPutRecords`). Alarms: failed deliveries, stale records and, for Parquet, records
 * that did not convert.
 */
export class IngestStream extends Construct {
  public readonly deliveryStream: firehose.CfnDeliveryStream;
  public readonly deliveryStreamName: string;
  public readonly deliveryStreamArn: string;
  /** The role Firehose delivers as. */
  public readonly role: iam.Role;
  /** A policy that lets its holder put records into the stream: attach it to the producers' roles. */
  public readonly producerPolicy: iam.ManagedPolicy;
  /** The Glue table over the folder, when there are columns. */
  public readonly table?: ResultTable;
  /** Where delivery errors are logged. */
  public readonly logGroup: logs.LogGroup;
  public readonly alarms: cloudwatch.Alarm[] = [];
  /** The S3 prefix of the records it could not deliver. */
  public readonly errorPrefix: string;

  constructor(scope: Construct, id: string, props: IngestStreamProps) {
    super(scope, id);
    const format = props.format ?? IngestStreamFormat.JSON;
    const names = props.columns?.map((c) => c.name);
    check(this, keyPrefixProblem(props.keyPrefix));
    check(this, ingestSchemaProblem(id, format, names));
    for (const c of props.columns ?? []) check(this, columnNameProblem(c.name));
    if (props.partitionBy !== undefined) check(this, ingestPartitionFieldProblem(props.partitionBy, names));
    const seconds = (props.bufferInterval ?? Duration.seconds(INGEST_BUFFER_DEFAULTS.seconds)).toSeconds();
    const mb = (props.bufferSize ?? Size.mebibytes(INGEST_BUFFER_DEFAULTS.mb)).toMebibytes();
    check(this, ingestBufferProblem('seconds', seconds));
    const why =
      format === IngestStreamFormat.PARQUET
        ? 'converting to parquet'
        : props.partitionBy !== undefined
          ? 'partitioning by a field'
          : undefined;
    check(this, ingestBufferProblem('mb', mb, why));
    if (props.columns !== undefined && props.database === undefined)
      check(this, 'columns make a Glue table over the folder: give the database it is registered in');

    this.deliveryStreamName = props.deliveryStreamName ?? generatedName(this, 64);
    this.deliveryStreamArn = Stack.of(this).formatArn({
      service: 'firehose',
      resource: 'deliverystream',
      resourceName: this.deliveryStreamName,
    });
    const partitioning: IngestPartitioning =
      props.partitionBy === undefined ? { kind: 'arrival' } : { kind: 'field', field: props.partitionBy };
    this.errorPrefix = ingestErrorPrefix(this.deliveryStreamName);
    const errorFolder = `${INGEST_ERRORS_PREFIX}${this.deliveryStreamName}/`;

    if (props.columns !== undefined && props.database !== undefined) {
      this.table = new ResultTable(this, 'Table', {
        database: props.database,
        tableName: props.tableName,
        bucket: props.bucket,
        keyPrefix: props.keyPrefix,
        columns: props.columns,
        format: format === IngestStreamFormat.PARQUET ? ResultFormat.PARQUET : ResultFormat.JSON,
        description: props.description,
      });
    }

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID }, ArnLike: { 'aws:SourceArn': this.deliveryStreamArn } },
      }),
      description: `Delivers the records of ${this.deliveryStreamName} into ${props.keyPrefix}`,
    });
    const folders = [props.keyPrefix, errorFolder];
    const objects = folders.map((f) => props.bucket.arnForObjects(`${f}*`));
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteTheFolders',
        actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
        resources: objects,
      }),
    );
    acknowledgeWildcardResources(
      this.role,
      objects,
      'Firehose names each file it writes (partition, stream, time and a random id): the role may write below its two folders, and nowhere else.',
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'FindTheBucket',
        actions: ['s3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
        resources: [props.bucket.bucketArn],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListTheFolders',
        actions: ['s3:ListBucket'],
        resources: [props.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': folders.map((f) => `${f}*`) } },
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptTheFolders',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [props.encryptionKey.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com` },
          StringLike: { 'kms:EncryptionContext:aws:s3:arn': folders.map((f) => props.bucket.arnForObjects(`${f}*`)) },
        },
      }),
    );
    // Generated names: the log group is retained, and a fixed name would stop a deploy after a destroy.
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.encryptionKey,
    });
    const logStream = this.logGroup.addStream('Delivery');
    const logStreamArn = Stack.of(this).formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `${this.logGroup.logGroupName}:log-stream:${logStream.logStreamName}`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'LogDeliveryErrors', actions: ['logs:PutLogEvents'], resources: [logStreamArn] }));
    if (this.table) {
      // Record format conversion reads the schema from the table, at its latest version.
      const database = props.database!;
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ReadTheSchema',
          actions: ['glue:GetTable', 'glue:GetTableVersion', 'glue:GetTableVersions'],
          resources: [
            Stack.of(this).formatArn({ service: 'glue', resource: 'catalog' }),
            Stack.of(this).formatArn({ service: 'glue', resource: 'database', resourceName: database.databaseName }),
            this.table.tableArn,
          ],
        }),
      );
    }

    const conversion =
      format === IngestStreamFormat.PARQUET
        ? {
            enabled: true,
            inputFormatConfiguration: { deserializer: { openXJsonSerDe: {} } },
            outputFormatConfiguration: { serializer: { parquetSerDe: { compression: 'SNAPPY' } } },
            schemaConfiguration: {
              catalogId: Aws.ACCOUNT_ID,
              databaseName: props.database!.databaseName,
              tableName: this.table!.tableName,
              region: Aws.REGION,
              roleArn: this.role.roleArn,
              versionId: 'LATEST',
            },
          }
        : undefined;
    const byField = partitioning.kind === 'field';
    this.deliveryStream = new firehose.CfnDeliveryStream(this, 'Resource', {
      deliveryStreamName: this.deliveryStreamName,
      deliveryStreamType: 'DirectPut',
      deliveryStreamEncryptionConfigurationInput: { keyType: 'CUSTOMER_MANAGED_CMK', keyArn: props.encryptionKey.keyArn },
      extendedS3DestinationConfiguration: {
        bucketArn: props.bucket.bucketArn,
        roleArn: this.role.roleArn,
        prefix: ingestDataPrefix(props.keyPrefix, partitioning),
        errorOutputPrefix: this.errorPrefix,
        bufferingHints: { intervalInSeconds: seconds, sizeInMBs: mb },
        // Parquet compresses its pages itself; JSON lines are kept plain, so every reader reads them.
        compressionFormat: 'UNCOMPRESSED',
        // Named by format, so a purpose's arrival trigger can wait for them by suffix.
        fileExtension: format === IngestStreamFormat.JSON ? '.json' : '.parquet',
        encryptionConfiguration: { kmsEncryptionConfig: { awskmsKeyArn: props.encryptionKey.keyArn } },
        cloudWatchLoggingOptions: { enabled: true, logGroupName: this.logGroup.logGroupName, logStreamName: logStream.logStreamName },
        dataFormatConversionConfiguration: conversion,
        ...(byField
          ? {
              dynamicPartitioningConfiguration: { enabled: true, retryOptions: { durationInSeconds: 300 } },
              processingConfiguration: {
                enabled: true,
                processors: [
                  {
                    type: 'MetadataExtraction',
                    parameters: [
                      { parameterName: 'MetadataExtractionQuery', parameterValue: ingestPartitionQuery(partitioning.field) },
                      { parameterName: 'JsonParsingEngine', parameterValue: 'JQ-1.6' },
                    ],
                  },
                  // Without it, dynamic partitioning writes the records of a file without a separator.
                  ...(format === IngestStreamFormat.JSON
                    ? [{ type: 'AppendDelimiterToRecord', parameters: [{ parameterName: 'Delimiter', parameterValue: '\\n' }] }]
                    : []),
                ],
              },
            }
          : {}),
      },
    });
    // The role's policy must be in place before Firehose checks it at creation.
    this.deliveryStream.node.addDependency(this.role);

    this.producerPolicy = new iam.ManagedPolicy(this, 'ProducerPolicy', {
      description: `Put records into the BatCat stream ${this.deliveryStreamName}`,
      statements: [
        new iam.PolicyStatement({
          sid: 'PutRecords',
          actions: ['firehose:PutRecord', 'firehose:PutRecordBatch'],
          resources: [this.deliveryStreamArn],
        }),
      ],
    });

    const freshness = (props.freshness ?? Duration.seconds(seconds + INGEST_FRESHNESS_MARGIN_SECONDS)).toSeconds();
    this.addAlarm('DeliveryAlarm', 'delivery-failed', {
      description: `Firehose could not write some records of ${this.deliveryStreamName} to S3: they are in ${errorFolder} (error type, then day), and the log group ${this.logGroup.logGroupName} says why`,
      metric: this.metric('DeliveryToS3.Success', 'Minimum'),
      threshold: 1,
      comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    });
    this.addAlarm('FreshnessAlarm', 'stale', {
      description: `The oldest record of ${this.deliveryStreamName} not yet in S3 is older than ${freshness} seconds: delivery is falling behind or failing (see ${this.logGroup.logGroupName})`,
      metric: this.metric('DeliveryToS3.DataFreshness', 'Maximum'),
      threshold: freshness,
      comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    if (format === IngestStreamFormat.PARQUET) {
      this.addAlarm('ConversionAlarm', 'conversion-failed', {
        description: `Some records of ${this.deliveryStreamName} did not match the table's columns and were not converted to Parquet: they are in ${errorFolder}format-conversion-failed/`,
        metric: this.metric('FailedConversion.Records', 'Sum'),
        threshold: 1,
        comparison: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      });
    }
    if (props.alarmTopic) for (const a of this.alarms) a.addAlarmAction(new actions.SnsAction(props.alarmTopic));
  }

  /** Lets `grantee` put records into the stream. */
  public grantPutRecords(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['firehose:PutRecord', 'firehose:PutRecordBatch'],
      resourceArns: [this.deliveryStreamArn],
    });
  }

  /** A metric of the stream (namespace AWS/Firehose), over 5 minutes. */
  public metric(metricName: string, statistic: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/Firehose',
      metricName,
      dimensionsMap: { DeliveryStreamName: this.deliveryStreamName },
      statistic,
      period: Duration.minutes(5),
    });
  }

  private addAlarm(
    id: string,
    what: string,
    a: { description: string; metric: cloudwatch.Metric; threshold: number; comparison: cloudwatch.ComparisonOperator },
  ): void {
    this.alarms.push(
      new cloudwatch.Alarm(this, id, {
        alarmName: `${this.deliveryStreamName}-${what}`,
        alarmDescription: a.description,
        metric: a.metric,
        threshold: a.threshold,
        comparisonOperator: a.comparison,
        evaluationPeriods: 1,
        // A stream that receives nothing delivers nothing: no data is no failure.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
