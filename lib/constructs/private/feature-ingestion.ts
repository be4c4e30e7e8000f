import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { featureType } from '../../contract/feature-store';
import type { FeatureGroup } from '../feature-group';
import { acknowledgeWildcardResources } from './acknowledge';
import { functionRole, handlerFunction } from './handler-function';
import { purposeLogGroup, type LogSettings } from './log-group';
import { listFolder, viaS3 } from './s3-access';

/** An output whose committed result goes into a feature group. */
export interface IngestedOutput {
  readonly name: string;
  /** The output's folder, ending with '/'. */
  readonly keyPrefix: string;
  readonly featureGroup: FeatureGroup;
}

/** Properties of FeatureIngestion. */
export interface FeatureIngestionProps {
  readonly bucket: s3.IBucket;
  readonly outputs: readonly IngestedOutput[];
  readonly stateMachineName: string;
  readonly logs: LogSettings;
}

/**
 * The function that puts a run's committed outputs into their feature groups
 * (lib/runtime/feature-ingest.ts): it may read those outputs' folders and put records into those
 * groups, nothing else.
 */
export class FeatureIngestion extends Construct {
  public readonly function: lambda.IFunction;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: FeatureIngestionProps,
  ) {
    super(scope, id);
    const logGroup = purposeLogGroup(this, 'Logs', props.logs);
    const role = functionRole(this, `Puts the results of ${props.stateMachineName} into their feature groups`, logGroup);
    const objects = props.outputs.map((o) => props.bucket.arnForObjects(`${o.keyPrefix}*`));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: objects }));
    for (const o of props.outputs) role.addToPrincipalPolicy(listFolder(props.bucket, o.keyPrefix));
    if (props.bucket.encryptionKey) role.addToPrincipalPolicy(viaS3(['kms:Decrypt'], props.bucket.encryptionKey, props.bucket));
    for (const o of props.outputs) o.featureGroup.grantPutRecord(role);
    acknowledgeWildcardResources(role, objects, "The objects below the purpose's output folders that feed feature groups.");
    this.function = handlerFunction(this, 'Function', 'feature-ingest', {
      description: `BatCat: puts the results of ${props.stateMachineName} into their feature groups`,
      memorySize: 1024,
      timeout: Duration.minutes(15),
      role,
      logGroup,
    });
  }

  /** The state that puts `output`'s result of the run in `$` (its `dt=` folder in `partitionPath`) into its group. */
  public task(scope: Construct, output: IngestedOutput, partitionPath: string): tasks.LambdaInvoke {
    const task = new tasks.LambdaInvoke(scope, `IngestFeatures-${output.name}`, {
      comment: `Puts each row of output ${output.name}'s committed result into feature group ${output.featureGroup.featureGroupName}.`,
      lambdaFunction: this.function,
      payload: sfn.TaskInput.fromObject({
        bucket: this.props.bucket.bucketName,
        prefix: sfn.JsonPath.format(`${output.keyPrefix}{}`, sfn.JsonPath.stringAt(partitionPath)),
        featureGroupName: output.featureGroup.featureGroupName,
        recordIdentifier: output.featureGroup.recordIdentifier,
        eventTime: output.featureGroup.eventTime,
        features: output.featureGroup.columns.map((c) => ({ name: c.name, type: featureType(c.type) })),
      }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: true,
      resultPath: sfn.JsonPath.DISCARD,
    });
    // Putting a record again replaces it (same identifier and event time): safe to repeat.
    task.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(10), maxAttempts: 2, backoffRate: 2 });
    return task;
  }
}
