import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledgeWildcardResources } from './acknowledge';
import { functionRole, handlerFunction } from './handler-function';
import { purposeLogGroup, type LogSettings } from './log-group';
import { listFolder, viaS3 } from './s3-access';

/** Properties of ResultCommit. */
export interface ResultCommitProps {
  /** The bucket the outputs are in. */
  readonly bucket: s3.IBucket;
  /** Each output's folder (ending with '/'): its attempts' folders and its windows' results are below it. */
  readonly outputPrefixes: readonly string[];
  /** The state machine's name, for the description. */
  readonly stateMachineName: string;
  /** How long the function's logs are kept, and their key. */
  readonly logs: LogSettings;
}

/**
 * The function that makes a successful attempt's outputs the window's result
 * (lib/runtime/commit.ts): it may read, write and delete below the purpose's output folders only.
 */
export class ResultCommit extends Construct {
  public readonly function: lambda.IFunction;

  constructor(scope: Construct, id: string, props: ResultCommitProps) {
    super(scope, id);
    const logGroup = purposeLogGroup(this, 'Logs', props.logs);
    const role = functionRole(this, `Commits the results of ${props.stateMachineName}: its output folders only`, logGroup);
    const objects = props.outputPrefixes.map((p) => props.bucket.arnForObjects(`${p}*`));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        resources: objects,
      }),
    );
    for (const p of props.outputPrefixes) role.addToPrincipalPolicy(listFolder(props.bucket, p));
    if (props.bucket.encryptionKey)
      role.addToPrincipalPolicy(viaS3(['kms:Decrypt', 'kms:GenerateDataKey'], props.bucket.encryptionKey, props.bucket));
    acknowledgeWildcardResources(role, objects, "The objects below the purpose's own output folders, whose names the job chooses.");
    this.function = handlerFunction(this, 'Function', 'commit', {
      description: `BatCat: commits the results of successful runs of ${props.stateMachineName}`,
      memorySize: 512,
      // Copying a large result takes a while; the commit resumes from its manifest if it is cut off.
      timeout: Duration.minutes(15),
      role,
      logGroup,
    });
  }

  /** The state that commits the outputs of the run in `$`: `attemptPath` and `partitionPath` hold its two folder names. */
  public task(
    scope: Construct,
    bucket: s3.IBucket,
    outputs: ReadonlyArray<{ name: string; keyPrefix: string }>,
    paths: { attempt: string; partition: string },
  ): tasks.LambdaInvoke {
    const commit = new tasks.LambdaInvoke(scope, 'CommitResults', {
      comment: "Makes this attempt's outputs the window's result: copied into dt=<window start>/, what was there before removed.",
      lambdaFunction: this.function,
      payload: sfn.TaskInput.fromObject({
        bucket: bucket.bucketName,
        outputs: outputs.map((o) => ({
          name: o.name,
          attemptPrefix: sfn.JsonPath.format(`${o.keyPrefix}{}`, sfn.JsonPath.stringAt(paths.attempt)),
          resultPrefix: sfn.JsonPath.format(`${o.keyPrefix}{}`, sfn.JsonPath.stringAt(paths.partition)),
        })),
      }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: true,
      resultPath: '$.commit',
    });
    // Safe to repeat: each try resumes from the manifest.
    commit.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(5), maxAttempts: 3, backoffRate: 2 });
    return commit;
  }
}
