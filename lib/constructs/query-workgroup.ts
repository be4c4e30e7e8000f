import { Aws, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { QUERY_RESULTS_PREFIX } from '../contract/names';
import { bytesScannedCutoffProblem, workGroupNameProblem } from '../contract/rules';
import { s3Uri } from '../contract/s3-uri';
import { check } from './private/errors';
import { generatedName } from './private/generated-name';

/** What a query task needs to know about the workgroup it runs in. */
export interface IQueryWorkGroup {
  /** The workgroup's name. */
  readonly workGroupName: string;
  /** The bucket the workgroup writes results to, encrypted with its key. */
  readonly resultsBucket: s3.IBucket;
  /** Results are `<resultsPrefix><query execution id>.csv` in `resultsBucket`. */
  readonly resultsPrefix: string;
}

/** Properties of QueryWorkGroup. */
export interface QueryWorkGroupProps {
  /**
   * The workgroup's name: 1-128 letters, digits, '.', '_' or '-'.
   *
   * @default - a name generated from the stack name and this construct's path
   */
  readonly workGroupName?: string;
  /** Results go to `<resultsPrefix>` in this bucket, encrypted with its KMS key (SSE-KMS) when it has one. */
  readonly resultsBucket: s3.IBucket;
  /**
   * The folder of `resultsBucket` that query results are written to.
   *
   * @default 'athena-results/'
   */
  readonly resultsPrefix?: string;
  /**
   * A query that would scan more is cancelled. Athena's minimum is 10 MB.
   *
   * @default 10 GB
   */
  readonly bytesScannedCutoff?: number;
}

/**
 * The project's Athena workgroup. Its settings are enforced, so no query can choose another
 * result location, skip encryption, or scan past the cutoff. Engine version 3; CloudWatch
 * metrics on.
 */
export class QueryWorkGroup extends Construct implements IQueryWorkGroup {
  public readonly workGroupName: string;
  public readonly workGroupArn: string;
  public readonly resultsBucket: s3.IBucket;
  public readonly resultsPrefix: string;
  public readonly bytesScannedCutoff: number;

  constructor(scope: Construct, id: string, props: QueryWorkGroupProps) {
    super(scope, id);
    const cutoff = props.bytesScannedCutoff ?? 10e9;
    check(this, bytesScannedCutoffProblem(cutoff, cutoff));
    this.workGroupName = props.workGroupName ?? generatedName(this, 128);
    check(this, workGroupNameProblem(this.workGroupName));
    this.resultsBucket = props.resultsBucket;
    this.resultsPrefix = props.resultsPrefix ?? QUERY_RESULTS_PREFIX;
    this.bytesScannedCutoff = cutoff;
    const key = props.resultsBucket.encryptionKey;
    new athena.CfnWorkGroup(this, 'Resource', {
      name: this.workGroupName,
      description: `BatCat queries of ${Stack.of(this).stackName}: results encrypted in the project bucket, at most ${cutoff / 1e9} GB scanned per query`,
      state: 'ENABLED',
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        bytesScannedCutoffPerQuery: cutoff,
        publishCloudWatchMetricsEnabled: true,
        requesterPaysEnabled: false,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: s3Uri(props.resultsBucket.bucketName, this.resultsPrefix),
          expectedBucketOwner: Aws.ACCOUNT_ID,
          encryptionConfiguration: key ? { encryptionOption: 'SSE_KMS', kmsKey: key.keyArn } : { encryptionOption: 'SSE_S3' },
        },
      },
    });
    this.workGroupArn = Stack.of(this).formatArn({ service: 'athena', resource: 'workgroup', resourceName: this.workGroupName });
  }
}
