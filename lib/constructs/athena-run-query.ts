import { Aws, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { keyPrefixProblem } from '../contract/rules';
import { acknowledgeWildcardResources } from './private/acknowledge';
import { check, requireJsonPath, scopedError } from './private/errors';
import { readFolder, viaS3 } from './private/s3-access';
import type { IQueryWorkGroup } from './query-workgroup';

/** An S3 folder a query's tables read. */
export interface QueryDataLocation {
  /** The bucket the table's files are in. */
  readonly bucket: s3.IBucket;
  /** Ends with '/'. */
  readonly keyPrefix: string;
}

/** Properties of AthenaRunQuery. */
export interface AthenaRunQueryProps extends sfn.TaskStateBaseProps {
  /** The SQL, with `?` placeholders. */
  readonly queryString: string;
  /**
   * A JsonPath to the list of parameter literals, e.g. `$.batcat.queryParameters`.
   *
   * @default - the query has no placeholders
   */
  readonly executionParametersPath?: string;
  /** The workgroup the query runs in: it enforces the result location, encryption and scan cutoff. */
  readonly workGroup: IQueryWorkGroup;
  /** The Glue database the query's unqualified table names refer to. */
  readonly database: string;
  /** The tables the query reads; Glue access is granted on these only. */
  readonly tables: string[];
  /** Where the tables' files are; read access is granted on these folders only. */
  readonly dataLocations: QueryDataLocation[];
}

/**
 * Runs an Athena query and waits for it (`startQueryExecution.sync`), granting the state
 * machine only what a SELECT over the named tables needs. aws-cdk-lib's
 * AthenaStartQueryExecution grants every S3 bucket, Glue create/delete on the whole database
 * and Lake Formation data access; this one grants:
 * - start, stop and describe queries in one workgroup;
 * - GetDatabase/GetTable/GetPartitions on the database and the listed tables;
 * - reading the listed data folders and writing the workgroup's result folder, with the
 *   buckets' KMS keys only through S3.
 */
export class AthenaRunQuery extends sfn.TaskStateBase {
  protected readonly taskMetrics?: sfn.TaskMetricsConfig;
  protected readonly taskPolicies?: iam.PolicyStatement[];

  constructor(
    scope: Construct,
    id: string,
    private readonly props: AthenaRunQueryProps,
  ) {
    super(scope, id, props);
    if (props.queryString.trim() === '') throw scopedError(this, 'queryString is empty');
    if (props.tables.length === 0) throw scopedError(this, 'list at least one table the query reads');
    for (const l of props.dataLocations) check(this, keyPrefixProblem(l.keyPrefix));
    this.taskPolicies = this.policies();
  }

  /** Retries Athena's throttling and transient errors. */
  public addDocumentedRetries(): this {
    const transient = ['Athena.TooManyRequestsException', 'Athena.InternalServerException'];
    this.addRetry({ errors: transient, interval: Duration.seconds(2), maxAttempts: 5, backoffRate: 2 });
    return this;
  }

  /** @internal */
  protected _renderTask(topLevelQueryLanguage?: sfn.QueryLanguage): Record<string, unknown> {
    requireJsonPath(this, this.props.queryLanguage, topLevelQueryLanguage);
    return {
      Resource: `arn:${Aws.PARTITION}:states:::athena:startQueryExecution.sync`,
      ...this._renderParametersOrArguments(
        {
          QueryString: this.props.queryString,
          QueryExecutionContext: { Catalog: 'AwsDataCatalog', Database: this.props.database },
          WorkGroup: this.props.workGroup.workGroupName,
          ExecutionParameters: this.props.executionParametersPath ? sfn.JsonPath.listAt(this.props.executionParametersPath) : undefined,
        },
        sfn.QueryLanguage.JSON_PATH,
      ),
    };
  }

  private policies(): iam.PolicyStatement[] {
    const stack = Stack.of(this);
    const p = this.props;
    const wg = p.workGroup;
    const statements = [
      new iam.PolicyStatement({
        actions: ['athena:StartQueryExecution', 'athena:StopQueryExecution', 'athena:GetQueryExecution'],
        resources: [stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: wg.workGroupName })],
      }),
      new iam.PolicyStatement({
        actions: ['athena:GetDataCatalog'],
        resources: [stack.formatArn({ service: 'athena', resource: 'datacatalog', resourceName: 'AwsDataCatalog' })],
      }),
      new iam.PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions', 'glue:BatchGetPartition'],
        resources: [
          stack.formatArn({ service: 'glue', resource: 'catalog' }),
          stack.formatArn({ service: 'glue', resource: 'database', resourceName: p.database }),
          ...p.tables.map((t) => stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${p.database}/${t}` })),
        ],
      }),
    ];
    const wildcards: string[] = [];
    for (const l of p.dataLocations) {
      wildcards.push(l.bucket.arnForObjects(`${l.keyPrefix}*`));
      statements.push(...readFolder(l.bucket, l.keyPrefix));
      statements.push(new iam.PolicyStatement({ actions: ['s3:GetBucketLocation'], resources: [l.bucket.bucketArn] }));
    }
    const results = wg.resultsBucket.arnForObjects(`${wg.resultsPrefix}*`);
    wildcards.push(results);
    statements.push(
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resources: [results],
      }),
    );
    statements.push(
      new iam.PolicyStatement({
        actions: ['s3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
        resources: [wg.resultsBucket.bucketArn],
      }),
    );
    // Each bucket once: results are written with its key, the others only read.
    const readBuckets = new Set(
      p.dataLocations.map((l) => l.bucket).filter((b) => b !== wg.resultsBucket && b.encryptionKey !== undefined),
    );
    for (const b of readBuckets) statements.push(viaS3(['kms:Decrypt'], b.encryptionKey!, b));
    if (wg.resultsBucket.encryptionKey)
      statements.push(viaS3(['kms:Decrypt', 'kms:GenerateDataKey'], wg.resultsBucket.encryptionKey, wg.resultsBucket));
    acknowledgeWildcardResources(
      stack,
      wildcards,
      `Prefix-scoped: the query reads objects below its tables' folders only and writes results below the workgroup's result folder only (${wg.resultsPrefix}); query result names are chosen by Athena.`,
    );
    return statements;
  }
}
