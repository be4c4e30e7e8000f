import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledgeFinding } from './private/acknowledge';
import { allowCloudWatchLogs, denyGrantsExceptForAwsServices } from './private/key-policies';

/** Properties of ProcessingJobLogs. */
export interface ProcessingJobLogsProps {
  /**
   * How long the jobs' output is kept.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly retention?: logs.RetentionDays;
  /**
   * The key the log group is encrypted with; its policy must let this region's CloudWatch Logs
   * use it for this log group.
   *
   * @default - a new key (rotated, retained), whose policy allows exactly that
   */
  readonly encryptionKey?: kms.IKey;
}

/** The log group SageMaker writes every processing job's output to, in every account and region. */
export const PROCESSING_JOB_LOG_GROUP = '/aws/sagemaker/ProcessingJobs';

/**
 * Gives `/aws/sagemaker/ProcessingJobs` a retention and a customer managed key. SageMaker
 * creates that group on first use, shared by every project and stage of the account, without
 * either, and a job cannot write elsewhere. Deploy it once per account and region (in a
 * platform stack, say): it creates the group if it is missing and otherwise adopts it, and
 * leaves it and its logs in place when it is removed.
 */
export class ProcessingJobLogs extends Construct {
  /** The key the log group is encrypted with. */
  public readonly encryptionKey: kms.IKey;
  /** `/aws/sagemaker/ProcessingJobs` of this stack's account and region. */
  public readonly logGroupArn: string;

  constructor(scope: Construct, id: string, props: ProcessingJobLogsProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    this.logGroupArn = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: PROCESSING_JOB_LOG_GROUP,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.encryptionKey = props.encryptionKey ?? this.createKey();
    const retentionInDays = props.retention ?? logs.RetentionDays.ONE_YEAR;
    const policy = cr.AwsCustomResourcePolicy.fromStatements([
      new iam.PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:PutRetentionPolicy', 'logs:AssociateKmsKey'],
        resources: [this.logGroupArn],
      }),
    ]);
    const call = (action: string, parameters: Record<string, unknown>, ignore?: string): cr.AwsSdkCall => ({
      service: 'CloudWatchLogs',
      action,
      parameters: { logGroupName: PROCESSING_JOB_LOG_GROUP, ...parameters },
      physicalResourceId: cr.PhysicalResourceId.of(`${PROCESSING_JOB_LOG_GROUP}-${action}`),
      ignoreErrorCodesMatching: ignore,
    });
    // Three calls, in order: the group (or the one SageMaker made), its retention, its key.
    const create = new cr.AwsCustomResource(this, 'CreateLogGroup', {
      onCreate: call('createLogGroup', {}, 'ResourceAlreadyExistsException'),
      policy,
      installLatestAwsSdk: false,
    });
    const retention = new cr.AwsCustomResource(this, 'Retention', {
      onCreate: call('putRetentionPolicy', { retentionInDays }),
      onUpdate: call('putRetentionPolicy', { retentionInDays }),
      policy,
      installLatestAwsSdk: false,
    });
    retention.node.addDependency(create);
    const association = new cr.AwsCustomResource(this, 'KeyAssociation', {
      onCreate: call('associateKmsKey', { kmsKeyId: this.encryptionKey.keyArn }),
      onUpdate: call('associateKmsKey', { kmsKeyId: this.encryptionKey.keyArn }),
      policy,
      installLatestAwsSdk: false,
    });
    association.node.addDependency(create);
    this.acknowledgeProvider(stack);
  }

  private createKey(): kms.Key {
    const key = new kms.Key(this, 'Key', {
      description: `Encrypts ${PROCESSING_JOB_LOG_GROUP}`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    denyGrantsExceptForAwsServices(key);
    allowCloudWatchLogs(key, { sid: 'CloudWatchLogsForProcessingJobs', logGroupArn: this.logGroupArn });
    return key;
  }

  /** The custom resources' shared function is CDK's own (a singleton of the stack); its findings are acknowledged there, with the reason. */
  private acknowledgeProvider(stack: Stack): void {
    const provider = stack.node.tryFindChild(`AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`);
    if (!provider) throw new Error("CDK's AwsCustomResource provider was not found; update ProcessingJobLogs");
    acknowledgeFinding(
      provider,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      "CDK's AwsCustomResource function writes its own logs with the basic execution policy; it runs only when this construct is deployed.",
    );
    acknowledgeFinding(provider, 'AwsSolutions-L1', "CDK's AwsCustomResource function uses the runtime CDK chooses for it.");
  }
}
