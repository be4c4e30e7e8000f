import { type Duration, RemovalPolicy, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { AccessLogsBucket } from './access-logs-bucket';
import { DataBucket, dataPrincipalsOnly, logsThroughBucketPolicy } from './data-bucket';
import { denyGrantsExceptForAwsServices } from './private/key-policies';

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

  /**
   * Principals that may at most read the data (`aws:PrincipalArn` patterns), such as the roles of
   * a stage's branch stages (`arn:aws:iam::<account>:role/batcat/<project>/<stage>/*\/*`): the
   * bucket policies deny them every write and the key policy every encryption.
   *
   * @default - none
   */
  readonly readOnlyPrincipals?: string[];
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
  public readonly bucket: DataBucket;
  /** Receives the data bucket's server access logs. */
  public readonly accessLogsBucket: AccessLogsBucket;

  private readonly dataPrincipals?: string[];
  private readonly readOnlyPrincipals?: string[];

  constructor(scope: Construct, id: string, props: ProjectDataProps = {}) {
    super(scope, id);
    this.dataPrincipals = props.dataPrincipals;
    this.readOnlyPrincipals = props.readOnlyPrincipals;
    logsThroughBucketPolicy(this);
    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the BatCat project data bucket',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    denyGrantsExceptForAwsServices(this.key);
    this.accessLogsBucket = new AccessLogsBucket(this, 'AccessLogs', { retention: props.accessLogRetention });
    this.bucket = new DataBucket(this, 'Bucket', {
      encryptionKey: this.key,
      serverAccessLogsBucket: this.accessLogsBucket,
      dataPrincipals: props.dataPrincipals,
      readOnlyPrincipals: props.readOnlyPrincipals,
    });
    // S3 objects only (their encryption context names a bucket): the key also encrypts logs and
    // the ledger, which people read with their own identities.
    if (props.dataPrincipals !== undefined) {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'S3DataOnlyForDataPrincipals',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
          resources: ['*'],
          conditions: { ...dataPrincipalsOnly(props.dataPrincipals), Null: { 'kms:EncryptionContext:aws:s3:arn': 'false' } },
        }),
      );
    }
    if (props.readOnlyPrincipals?.length) {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'ReadOnlyPrincipalsNeverEncrypt',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
          resources: ['*'],
          conditions: { StringLike: { 'aws:PrincipalArn': props.readOnlyPrincipals } },
        }),
      );
    }
  }

  /**
   * A bucket of a purpose's own (`Bucket-<purpose>`), as secure as the project bucket: the same
   * key, access logs under `purposes/<purpose>/` and the same data principals. Tagged with
   * `batcat:purpose`, so it can be found again after its stage was destroyed.
   */
  public addPurposeBucket(purpose: string): DataBucket {
    const bucket = new DataBucket(this, `Bucket-${purpose}`, {
      encryptionKey: this.key,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: `purposes/${purpose}/`,
      dataPrincipals: this.dataPrincipals,
      readOnlyPrincipals: this.readOnlyPrincipals,
    });
    Tags.of(bucket).add('batcat:purpose', purpose);
    return bucket;
  }
}
