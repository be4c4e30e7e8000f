import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { RUN_MANIFEST_TOO_LARGE, runManifestsPrefix } from '../../contract/run-manifest';
import { acknowledgeWildcardResources } from './acknowledge';
import { functionRole, handlerFunction } from './handler-function';
import { purposeLogGroup, type LogSettings } from './log-group';
import { viaS3 } from './s3-access';

/** A folder whose object versions the step lists. */
export interface VersionedFolder {
  readonly bucket: s3.IBucket;
  /** Ends with '/', or is one object's key. */
  readonly keyPrefix: string;
}

/** Properties of RunManifests. */
export interface RunManifestsProps {
  readonly purposeName: string;
  /** The purpose's bucket, which holds the manifests. */
  readonly bucket: s3.IBucket;
  /** Every folder the job may read or write: the step lists their versions, nothing else. */
  readonly folders: readonly VersionedFolder[];
  /**
   * The outputs' folders, in `bucket`: the step reads the footer of each Parquet file there, for
   * the rows the manifest records.
   *
   * @default - none: no rows are counted
   */
  readonly outputFolders?: readonly VersionedFolder[];
  /** The state machine's name, for the description. */
  readonly stateMachineName: string;
  readonly logs: LogSettings;
}

/** One input, as the `inputs` step receives it (see lib/runtime/run-manifest.ts). */
export interface ManifestInput {
  readonly name: string;
  /** The bucket, or a JsonPath to the name of the one a step before chose (a window's partitions). */
  readonly bucket: s3.IBucket | string;
  /** Read instead when `bucket` has nothing in the run's folders (a branch stage's parent bucket). */
  readonly fallbackBucket?: s3.IBucket;
  /** A literal folder or key, or a JsonPath to one (a query's result). */
  readonly prefix: string;
  readonly read: 'all' | 'day' | 'window';
}

/**
 * The function that writes a run's manifest (lib/runtime/run-manifest.ts): it may list the
 * object versions below the purpose's folders and read and write its manifest folder, nothing else.
 */
export class RunManifests extends Construct {
  public readonly function: lambda.IFunction;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: RunManifestsProps,
  ) {
    super(scope, id);
    const logGroup = purposeLogGroup(this, 'Logs', props.logs);
    const role = functionRole(
      this,
      `Records the object versions runs of ${props.stateMachineName} read and write, in their manifests`,
      logGroup,
    );
    for (const f of props.folders) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:ListBucketVersions'],
          resources: [f.bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${f.keyPrefix}*`] } },
        }),
      );
    }
    const manifests = props.bucket.arnForObjects(`${runManifestsPrefix(props.purposeName)}*`);
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: [manifests] }));
    if (props.bucket.encryptionKey) {
      role.addToPrincipalPolicy(viaS3(['kms:Decrypt', 'kms:GenerateDataKey'], props.bucket.encryptionKey, props.bucket));
    }
    const outputs = (props.outputFolders ?? []).map((f) => f.bucket.arnForObjects(`${f.keyPrefix}*`));
    if (outputs.length > 0)
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: outputs }));
    acknowledgeWildcardResources(role, [manifests], "The purpose's own run-manifest folder, one folder per run.");
    if (outputs.length > 0)
      acknowledgeWildcardResources(
        role,
        outputs,
        "The purpose's output folders, one dt= partition per window: the footers of their Parquet files.",
      );
    this.function = handlerFunction(this, 'Function', 'run-manifest', {
      description: `BatCat: records the manifests of runs of ${props.stateMachineName}`,
      memorySize: 1024,
      timeout: Duration.minutes(5),
      role,
      logGroup,
    });
  }

  /**
   * Before the job: the versions of what it will read (`run` holds what ran, as JsonPath values).
   * Its result's `buckets.b<n>` names the bucket the n-th input is read from.
   */
  public recordInputs(
    scope: Construct,
    run: Record<string, unknown>,
    inputs: readonly ManifestInput[],
    resultPath: string,
  ): tasks.LambdaInvoke {
    const task = new tasks.LambdaInvoke(scope, 'RecordRunInputs', {
      comment: "Records the current version of every object the job will read, before it starts, in the run's manifest folder.",
      lambdaFunction: this.function,
      payload: sfn.TaskInput.fromObject({
        step: 'inputs',
        bucket: this.props.bucket.bucketName,
        run,
        inputs: inputs.map((i) => ({
          name: i.name,
          bucket: typeof i.bucket === 'string' ? i.bucket : i.bucket.bucketName,
          prefix: i.prefix,
          read: i.read,
          ...(i.fallbackBucket ? { fallbackBucket: i.fallbackBucket.bucketName } : {}),
        })),
      }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: true,
      resultPath,
    });
    task.addRetry({ errors: [RUN_MANIFEST_TOO_LARGE], maxAttempts: 0 });
    task.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(5), maxAttempts: 3, backoffRate: 2 });
    return task;
  }

  /** After the commit: the versions of what it wrote, and `manifest.json`. */
  public recordOutputs(
    scope: Construct,
    runId: string,
    outputs: ReadonlyArray<{ readonly name: string; readonly bucket: s3.IBucket; readonly prefix: string }>,
    resultPath: string,
  ): tasks.LambdaInvoke {
    const task = new tasks.LambdaInvoke(scope, 'RecordRunOutputs', {
      comment: "Adds the versions the commit wrote to the run's manifest: manifest.json.",
      lambdaFunction: this.function,
      payload: sfn.TaskInput.fromObject({
        step: 'outputs',
        bucket: this.props.bucket.bucketName,
        purpose: this.props.purposeName,
        runId,
        outputs: outputs.map((o) => ({ name: o.name, bucket: o.bucket.bucketName, prefix: o.prefix })),
      }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: true,
      resultPath,
    });
    task.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(5), maxAttempts: 3, backoffRate: 2 });
    return task;
  }
}
