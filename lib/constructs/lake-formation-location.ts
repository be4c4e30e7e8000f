import * as iam from 'aws-cdk-lib/aws-iam';
import * as lakeformation from 'aws-cdk-lib/aws-lakeformation';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeWildcardResources } from './private/acknowledge';
import { viaS3 } from './private/s3-access';

/** Properties of LakeFormationLocation. */
export interface LakeFormationLocationProps {
  /** The buckets to register as data lake locations. */
  readonly buckets: readonly s3.IBucket[];
}

/**
 * Registers buckets with Lake Formation, so that it governs the tables over them and hands
 * Athena credentials for what a principal was granted. Lake Formation reads them as a role of
 * their own (not its service-linked role, which the buckets' KMS key policy does not name):
 * read and list on exactly these buckets, their key only through S3.
 *
 * Construct IDs are a contract: `Role` and `Location<n>`.
 */
export class LakeFormationLocation extends Construct {
  /** The role Lake Formation reads the buckets as. */
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: LakeFormationLocationProps) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lakeformation.amazonaws.com'),
      description: 'Lake Formation reads the registered BatCat buckets as this role, for the principals it granted',
    });
    const objects = props.buckets.map((b) => b.arnForObjects('*'));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: objects }));
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: props.buckets.map((b) => b.bucketArn) }),
    );
    for (const b of props.buckets) if (b.encryptionKey) this.role.addToPrincipalPolicy(viaS3(['kms:Decrypt'], b.encryptionKey, b));
    acknowledgeWildcardResources(this.role, objects, 'Lake Formation reads any object of a registered bucket that a grant covers.');
    props.buckets.forEach(
      (b, n) =>
        new lakeformation.CfnResource(this, `Location${n}`, {
          resourceArn: b.bucketArn,
          useServiceLinkedRole: false,
          roleArn: this.role.roleArn,
        }),
    );
  }
}
