import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeFinding } from './private/acknowledge';
import { denyGrantsExceptForAwsServices } from './private/key-policies';

/** What `dataPrincipals` limits: reading, writing, listing and deleting objects, and their uploads. */
const DATA_ACTIONS = [
  's3:GetObject*',
  's3:PutObject*',
  's3:DeleteObject*',
  's3:RestoreObject',
  's3:ListBucket*',
  's3:ListMultipartUploadParts',
  's3:AbortMultipartUpload',
];

/** Properties of ProjectData. */
export interface ProjectDataProps {
  /**
   * How long server access logs are kept.
   *
   * @default Duration.days(365)
   */
  readonly accessLogRetention?: Duration;

  /**
   * The only principals that may read, write, list or delete the bucket's objects and use the key
   * for them: `aws:PrincipalArn` patterns, such as the path of a stage's roles
   * (`arn:aws:iam::<account>:role/batcat/<project>/<stage>/*`) and the people who pull and push.
   * The bucket and key policies deny everyone else, whatever their IAM policies allow; AWS
   * services acting as themselves are not affected, and the bucket and key policies themselves
   * stay editable by the account's administrators.
   *
   * @default - no restriction: any principal of the account that IAM allows
   */
  readonly dataPrincipals?: string[];
}

/**
 * The project's data bucket and what protects it: a customer-managed KMS key with rotation,
 * versioning, TLS-only access, all public access blocked, and server access logs in a second
 * bucket. Both buckets are retained when the stack is deleted.
 *
 * Zones are prefixes: `raw/` (as delivered), `curated/` (cleaned), `results/<purpose>/<output>/dt=YYYY-MM-DD/`.
 */
export class ProjectData extends Construct {
  /** The customer-managed key that encrypts the data bucket. */
  public readonly key: kms.Key;
  public readonly bucket: s3.Bucket;
  /** Receives the data bucket's server access logs. */
  public readonly accessLogsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: ProjectDataProps = {}) {
    super(scope, id);
    // Deliver access logs through a bucket policy, not the LogDeliveryWrite ACL, whatever the
    // app's feature flags: the log bucket enforces bucket-owner object ownership (no ACLs).
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the BatCat project data bucket',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    denyGrantsExceptForAwsServices(this.key);
    this.accessLogsBucket = this.createAccessLogsBucket(props);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'data-bucket/',
      removalPolicy: RemovalPolicy.RETAIN,
      autoDeleteObjects: false,
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(7) }],
    });
    acknowledgeFinding(
      this.bucket,
      'cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check',
      'A rerun replaces the files of its partition; versioning keeps the previous versions, where Object Lock would forbid the rerun.',
    );
    // Every object under the project key: an upload that asks for other encryption, or another key, is refused.
    // (An upload that asks for none gets the bucket's default, the project key.)
    this.denyUploadsNaming('DenyOtherEncryption', 's3:x-amz-server-side-encryption', 'aws:kms');
    this.denyUploadsNaming('DenyOtherKeys', 's3:x-amz-server-side-encryption-aws-kms-key-id', this.key.keyArn);
    if (props.dataPrincipals !== undefined) this.restrictDataTo(props.dataPrincipals);
    // Object-created events go to EventBridge, for S3-arrival triggers. Set on the L1: the L2's
    // eventBridgeEnabled adds a notifications custom resource with its own Lambda function.
    (this.bucket.node.defaultChild as s3.CfnBucket).addPropertyOverride(
      'NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled',
      true,
    );
  }

  /**
   * Denies data access to everyone but `principals`: in an account shared by stages, the IAM
   * policies of another stage's people and jobs (the AWS-managed SageMaker policy allows every
   * bucket) do not reach this stage's data.
   */
  private restrictDataTo(principals: string[]): void {
    if (principals.length === 0) throw new Error('ProjectData: dataPrincipals is empty, which would deny everyone, its own roles too');
    const others = {
      StringNotLike: { 'aws:PrincipalArn': principals },
      BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
    };
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DataOnlyForDataPrincipals',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: DATA_ACTIONS,
        resources: [this.bucket.bucketArn, this.bucket.arnForObjects('*')],
        conditions: others,
      }),
    );
    // S3 objects only (their encryption context names a bucket): the key also encrypts logs and
    // the ledger, which people read with their own identities.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'S3DataOnlyForDataPrincipals',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
        resources: ['*'],
        conditions: { ...others, Null: { 'kms:EncryptionContext:aws:s3:arn': 'false' } },
      }),
    );
  }

  /** Refuses an upload whose `header` is present and not `allowed`. */
  private denyUploadsNaming(sid: string, header: string, allowed: string): void {
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid,
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects('*')],
        conditions: { StringNotEquals: { [header]: allowed }, Null: { [header]: 'false' } },
      }),
    );
  }

  /** The bucket the data bucket's access logs go to (SSE-S3: S3 server access logging delivers to no other). */
  private createAccessLogsBucket(props: ProjectDataProps): s3.Bucket {
    const bucket = new s3.Bucket(this, 'AccessLogs', {
      // S3 server access logging can only deliver to SSE-S3 buckets.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          expiration: props.accessLogRetention ?? Duration.days(365),
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });
    acknowledgeFinding(
      bucket,
      'cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check',
      'S3 server access logging delivers only to buckets encrypted with SSE-S3.',
    );
    acknowledgeFinding(
      bucket,
      'cdk-validator-cfnguard::s3_bucket_logging_enabled_check',
      'This is the access-log bucket: it cannot log into itself, and a third bucket would only move the finding.',
    );
    acknowledgeFinding(
      bucket,
      'cdk-validator-cfnguard::s3_event_notifications_enabled_check',
      'Nothing consumes events about access-log objects.',
    );
    acknowledgeFinding(
      bucket,
      'cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check',
      'Access logs expire after the retention period; versioning keeps overwritten objects until then.',
    );
    return bucket;
  }
}
