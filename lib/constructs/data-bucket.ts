import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { acknowledgeFinding } from './private/acknowledge';

/** What `dataPrincipals` limits: reading, writing, listing and deleting objects, and their uploads. */
export const DATA_ACTIONS = [
  's3:GetObject*',
  's3:PutObject*',
  's3:DeleteObject*',
  's3:RestoreObject',
  's3:ListBucket*',
  's3:ListMultipartUploadParts',
  's3:AbortMultipartUpload',
];

/** Properties of DataBucket. */
export interface DataBucketProps {
  /** Every object is encrypted with this key; an upload that asks for another key or encryption is refused. */
  readonly encryptionKey: kms.IKey;
  /** Receives the bucket's server access logs (an AccessLogsBucket). */
  readonly serverAccessLogsBucket: s3.IBucket;
  /**
   * The folder of `serverAccessLogsBucket` the logs go to.
   *
   * @default 'data-bucket/'
   */
  readonly serverAccessLogsPrefix?: string;
  /**
   * The only principals that may read, write, list or delete objects: `aws:PrincipalArn`
   * patterns. The bucket policy denies everyone else, whatever their IAM policies allow; AWS
   * services acting as themselves are not affected.
   *
   * @default - no restriction: any principal of the account that IAM allows
   */
  readonly dataPrincipals?: string[];
  /**
   * Principals that may at most read and list: `aws:PrincipalArn` patterns denied every write,
   * delete and bucket change, whatever else allows them (such as `dataPrincipals`). A stage
   * names its branch stages' roles here.
   *
   * @default - none
   */
  readonly readOnlyPrincipals?: string[];
}

/** What `readOnlyPrincipals` may never do: write, delete or restore objects, or change the bucket. */
export const WRITE_ACTIONS = [
  's3:PutObject*',
  's3:DeleteObject*',
  's3:RestoreObject',
  's3:AbortMultipartUpload',
  's3:ReplicateObject',
  's3:ReplicateDelete',
  's3:PutBucket*',
  's3:DeleteBucket*',
];

/**
 * A bucket for a project's or a purpose's data: SSE-KMS with one key (and S3 Bucket Keys),
 * TLS only, all public access blocked, no ACLs, versioned, server access logs, retained when
 * the stack is deleted, incomplete uploads cleaned up after a week, and object-created events
 * sent to EventBridge for S3-arrival triggers.
 */
export class DataBucket extends s3.Bucket {
  constructor(scope: Construct, id: string, props: DataBucketProps) {
    logsThroughBucketPolicy(scope);
    super(scope, id, {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      serverAccessLogsBucket: props.serverAccessLogsBucket,
      serverAccessLogsPrefix: props.serverAccessLogsPrefix ?? 'data-bucket/',
      removalPolicy: RemovalPolicy.RETAIN,
      autoDeleteObjects: false,
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(7) }],
    });
    acknowledgeFinding(
      this,
      'cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check',
      'A rerun replaces the files of its partition; versioning keeps the previous versions, where Object Lock would forbid the rerun.',
    );
    // Every object under the one key: an upload that asks for other encryption, or another key, is refused.
    // (An upload that asks for none gets the bucket's default, the key.)
    this.denyUploadsNaming('DenyOtherEncryption', 's3:x-amz-server-side-encryption', 'aws:kms');
    this.denyUploadsNaming('DenyOtherKeys', 's3:x-amz-server-side-encryption-aws-kms-key-id', props.encryptionKey.keyArn);
    if (props.dataPrincipals !== undefined) this.restrictDataTo(props.dataPrincipals);
    if (props.readOnlyPrincipals?.length) {
      this.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'ReadOnlyPrincipalsNeverWrite',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: WRITE_ACTIONS,
          resources: [this.bucketArn, this.arnForObjects('*')],
          conditions: { StringLike: { 'aws:PrincipalArn': props.readOnlyPrincipals } },
        }),
      );
    }
    // Set on the L1: the L2's eventBridgeEnabled adds a notifications custom resource with its own Lambda function.
    (this.node.defaultChild as s3.CfnBucket).addPropertyOverride(
      'NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled',
      true,
    );
  }

  /**
   * Denies data access to everyone but `principals`: in an account shared by stages, the IAM
   * policies of another stage's people and jobs (the AWS-managed SageMaker policy allows every
   * bucket) do not reach this data.
   */
  private restrictDataTo(principals: string[]): void {
    if (principals.length === 0)
      throw new Error(`${this.node.path}: dataPrincipals is empty, which would deny everyone, its own roles too`);
    this.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DataOnlyForDataPrincipals',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: DATA_ACTIONS,
        resources: [this.bucketArn, this.arnForObjects('*')],
        conditions: dataPrincipalsOnly(principals),
      }),
    );
  }

  /** Refuses an upload whose `header` is present and not `allowed`. */
  private denyUploadsNaming(sid: string, header: string, allowed: string): void {
    this.addToResourcePolicy(
      new iam.PolicyStatement({
        sid,
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [this.arnForObjects('*')],
        conditions: { StringNotEquals: { [header]: allowed }, Null: { [header]: 'false' } },
      }),
    );
  }
}

const LOGS_THROUGH_POLICY = '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy';

/**
 * Access logs must be delivered through the log bucket's policy, not the LogDeliveryWrite ACL,
 * whatever the app's feature flags: the log bucket has no ACLs (bucket-owner enforced).
 */
export function logsThroughBucketPolicy(scope: Construct): void {
  if (scope.node.tryGetContext(LOGS_THROUGH_POLICY) === true) return;
  if (scope.node.children.length > 0) {
    throw new Error(
      `${scope.node.path}: a DataBucket needs the context ${LOGS_THROUGH_POLICY}: true (access logs through a bucket policy, ` +
        'as the log bucket has no ACLs); set it in cdk.json, or create the bucket in a scope of its own',
    );
  }
  scope.node.setContext(LOGS_THROUGH_POLICY, true);
}

/** The conditions that match every principal but `principals`, AWS services acting as themselves excepted. */
export function dataPrincipalsOnly(principals: string[]): Record<string, Record<string, unknown>> {
  return {
    StringNotLike: { 'aws:PrincipalArn': principals },
    BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
  };
}
