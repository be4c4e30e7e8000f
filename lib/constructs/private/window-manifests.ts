import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { WINDOW_ERRORS } from '../../contract/window-manifest';
import { acknowledgeWildcardResources } from './acknowledge';
import { functionRole, handlerFunction } from './handler-function';
import { purposeLogGroup, type LogSettings } from './log-group';
import { listFolder, viaS3 } from './s3-access';

/** One partitioned input the step lists. */
export interface WindowManifestInput {
  readonly name: string;
  readonly bucket: s3.IBucket;
  /** The input's folder, ending with '/'. */
  readonly keyPrefix: string;
  readonly complete: boolean;
  /** Listed when `bucket` has none of the window's partitions (a branch stage's parent bucket). */
  readonly fallbackBucket?: s3.IBucket;
}

/** Properties of WindowManifests. */
export interface WindowManifestsProps {
  /** The purpose's bucket, where the manifests are written. */
  readonly bucket: s3.IBucket;
  /** The folder of the purpose's manifests, ending with '/': one sub-folder per execution. */
  readonly manifestsPrefix: string;
  readonly inputs: readonly WindowManifestInput[];
  /** The state machine's name, for the description. */
  readonly stateMachineName: string;
  /** How long the function's logs are kept, and their key. */
  readonly logs: LogSettings;
}

/**
 * The function that lists the `dt=` partitions of a run's window and writes the manifests the
 * job reads them through (lib/runtime/window-manifest.ts): it may list the inputs' folders and
 * write below the purpose's manifest folder, nothing else.
 */
export class WindowManifests extends Construct {
  public readonly function: lambda.IFunction;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: WindowManifestsProps,
  ) {
    super(scope, id);
    const logGroup = purposeLogGroup(this, 'Logs', props.logs);
    const role = functionRole(
      this,
      `Lists the window's partitions for ${props.stateMachineName}: its partitioned inputs' folders, and writes its manifests`,
      logGroup,
    );
    // Listing needs no object access, and no key: a ListObjectsV2 answer is not encrypted.
    for (const i of props.inputs) {
      for (const bucket of i.fallbackBucket ? [i.bucket, i.fallbackBucket] : [i.bucket])
        role.addToPrincipalPolicy(listFolder(bucket, i.keyPrefix));
    }
    const manifests = props.bucket.arnForObjects(`${props.manifestsPrefix}*`);
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [manifests] }));
    if (props.bucket.encryptionKey) role.addToPrincipalPolicy(viaS3(['kms:GenerateDataKey'], props.bucket.encryptionKey, props.bucket));
    acknowledgeWildcardResources(role, [manifests], "The purpose's own manifest folder, one object per run and input.");
    this.function = handlerFunction(this, 'Function', 'manifest', {
      description: `BatCat: lists the window's partitions for runs of ${props.stateMachineName}`,
      memorySize: 1024,
      timeout: Duration.minutes(5),
      role,
      logGroup,
    });
  }

  /**
   * The state that writes the run's manifests, in the folder `manifestFolder` (a JsonPath to the
   * run's sub-folder of `manifestsPrefix`); its report goes to `resultPath`.
   */
  public task(scope: Construct, paths: { window: string; manifestFolder: string; result: string }): tasks.LambdaInvoke {
    const p = this.props;
    const list = new tasks.LambdaInvoke(scope, 'ListWindowPartitions', {
      comment:
        "Lists the dt= partitions of the window for each partitioned input and writes the manifest the job reads it through; fails the run when a 'complete' input misses a day or no day has data.",
      lambdaFunction: this.function,
      payload: sfn.TaskInput.fromObject({
        bucket: p.bucket.bucketName,
        manifestPrefix: sfn.JsonPath.format(`${p.manifestsPrefix}{}`, sfn.JsonPath.stringAt(paths.manifestFolder)),
        window: sfn.JsonPath.objectAt(paths.window),
        inputs: p.inputs.map((i) => ({
          name: i.name,
          bucket: i.bucket.bucketName,
          prefix: i.keyPrefix,
          complete: i.complete,
          ...(i.fallbackBucket ? { fallbackBucket: i.fallbackBucket.bucketName } : {}),
        })),
      }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: true,
      resultPath: paths.result,
    });
    // What the data says is final; a throttled or cut-off listing is worth another try (the step only writes manifests).
    list.addRetry({ errors: Object.values(WINDOW_ERRORS), maxAttempts: 0 });
    list.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(5), maxAttempts: 3, backoffRate: 2 });
    return list;
  }
}
