import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { acknowledgeFinding } from './private/acknowledge';

/** Properties of AccessLogsBucket. */
export interface AccessLogsBucketProps {
  /**
   * How long server access logs are kept.
   *
   * @default Duration.days(365)
   */
  readonly retention?: Duration;
}

/**
 * Where data buckets deliver their server access logs: SSE-S3 (S3 server access logging
 * delivers to no other encryption), TLS only, private, versioned, retained when the stack is
 * deleted, and expiring after the retention period.
 */
export class AccessLogsBucket extends s3.Bucket {
  constructor(scope: Construct, id: string, props: AccessLogsBucketProps = {}) {
    super(scope, id, {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          expiration: props.retention ?? Duration.days(365),
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });
    acknowledgeFinding(
      this,
      'cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check',
      'S3 server access logging delivers only to buckets encrypted with SSE-S3.',
    );
    acknowledgeFinding(
      this,
      'cdk-validator-cfnguard::s3_bucket_logging_enabled_check',
      'This is the access-log bucket: it cannot log into itself, and a third bucket would only move the finding.',
    );
    acknowledgeFinding(
      this,
      'cdk-validator-cfnguard::s3_event_notifications_enabled_check',
      'Nothing consumes events about access-log objects.',
    );
    acknowledgeFinding(
      this,
      'cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check',
      'Access logs expire after the retention period; versioning keeps overwritten objects until then.',
    );
  }
}
