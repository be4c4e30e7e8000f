import { Aws, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { featureGroupProblems } from '../contract/rules';
import { featureType, MAX_FEATURE_GROUP_NAME_LENGTH } from '../contract/feature-store';
import { acknowledgeWildcardResources } from './private/acknowledge';
import { check, scopedError } from './private/errors';
import { viaS3 } from './private/s3-access';

/** A column of the records, with its Glue type (`string`, `bigint`, `double`, `timestamp`, ...). */
export interface FeatureColumn {
  /** The column's name, which the feature takes. */
  readonly name: string;
  /** Its Glue type, which decides the feature's type. */
  readonly type: string;
}

/** Properties of a FeatureGroup. */
export interface FeatureGroupProps {
  /** Letters, digits and inner hyphens, at most 64. */
  readonly featureGroupName: string;
  /** The features: each column becomes one, Integral, Fractional or String by its type. */
  readonly columns: readonly FeatureColumn[];
  /** The column that identifies a record (a string or a whole number). */
  readonly recordIdentifier: string;
  /** The column with the record's time (a timestamp, an ISO 8601 string, or seconds since 1970). */
  readonly eventTime: string;
  /** The bucket of the offline store. */
  readonly bucket: s3.IBucket;
  /** The offline store's folder in `bucket`, ending with '/'. */
  readonly keyPrefix: string;
  /** The Glue database SageMaker registers the offline store's table in. */
  readonly database: string;
  /** The offline store's table, which SageMaker creates. */
  readonly tableName: string;
  /**
   * Also keep the newest record of each identifier in the online store, for GetRecord at serving time.
   *
   * @default false - the offline store only
   */
  readonly online?: boolean;
  /**
   * The key of the offline store's objects and of the online store.
   *
   * @default - the bucket's key, when it has one
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * The group's description.
   *
   * @default - none
   */
  readonly description?: string;
}

/**
 * A SageMaker Feature Store feature group whose offline store is a folder of a data bucket, with
 * a Glue table SageMaker creates, and optionally an online store. Its role lets SageMaker write
 * that folder (and read its metadata), update that table, and use the key through S3, nothing
 * else. Records arrive by PutRecord: `grantPutRecord`. Construct IDs: `Role`, `Resource`.
 */
export class FeatureGroup extends Construct {
  public readonly featureGroupName: string;
  public readonly featureGroupArn: string;
  /** The role SageMaker writes the offline store as. */
  public readonly role: iam.Role;
  public readonly online: boolean;
  /** The record identifier, the event time and every column, as given. */
  public readonly recordIdentifier: string;
  public readonly eventTime: string;
  public readonly columns: readonly FeatureColumn[];
  private readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: FeatureGroupProps) {
    super(scope, id);
    if (!/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}$/.test(props.featureGroupName) || props.featureGroupName.length > MAX_FEATURE_GROUP_NAME_LENGTH)
      throw scopedError(this, `featureGroupName '${props.featureGroupName}' is invalid: letters, digits and inner hyphens, at most 64`);
    if (!props.keyPrefix.endsWith('/')) throw scopedError(this, `keyPrefix '${props.keyPrefix}' must end with '/'`);
    for (const p of featureGroupProblems(
      props.featureGroupName,
      { recordId: props.recordIdentifier, eventTime: props.eventTime },
      props.columns,
    ))
      check(this, `${p.field.replace(/^featureGroup\.recordId$/, 'recordIdentifier').replace(/^featureGroup\./, '')}: ${p.message}`);
    this.featureGroupName = props.featureGroupName;
    this.recordIdentifier = props.recordIdentifier;
    this.eventTime = props.eventTime;
    this.columns = props.columns;
    this.online = props.online === true;
    this.encryptionKey = props.encryptionKey ?? props.bucket.encryptionKey;

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: `SageMaker Feature Store writes the offline store of ${props.featureGroupName}`,
    });
    const objects = props.bucket.arnForObjects(`${props.keyPrefix}*`);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:PutObjectAcl', 's3:GetObject'], resources: [objects] }),
    );
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetBucketAcl'], resources: [props.bucket.bucketArn] }));
    const stack = Stack.of(this);
    const glue = (resource: string) => stack.formatArn({ service: 'glue', resource, resourceName: undefined });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['glue:GetTable', 'glue:UpdateTable'],
        resources: [glue('catalog'), glue(`database/${props.database}`), glue(`table/${props.database}/${props.tableName}`)],
      }),
    );
    if (this.encryptionKey)
      this.role.addToPrincipalPolicy(viaS3(['kms:GenerateDataKey', 'kms:Decrypt', 'kms:Encrypt'], this.encryptionKey, props.bucket));
    acknowledgeWildcardResources(this.role, [objects], "The feature group's offline store folder: SageMaker names its files.");

    const resource = new sagemaker.CfnFeatureGroup(this, 'Resource', {
      featureGroupName: props.featureGroupName,
      description: props.description,
      recordIdentifierFeatureName: props.recordIdentifier,
      eventTimeFeatureName: props.eventTime,
      featureDefinitions: props.columns.map((c) => ({ featureName: c.name, featureType: featureType(c.type) })),
      roleArn: this.role.roleArn,
      offlineStoreConfig: {
        S3StorageConfig: { S3Uri: props.bucket.s3UrlForObject(props.keyPrefix), KmsKeyId: this.encryptionKey?.keyArn },
        DataCatalogConfig: { Catalog: 'AwsDataCatalog', Database: props.database, TableName: props.tableName },
        TableFormat: 'Glue',
      },
      ...(this.online
        ? {
            onlineStoreConfig: {
              EnableOnlineStore: true,
              ...(this.encryptionKey ? { SecurityConfig: { KmsKeyId: this.encryptionKey.keyArn } } : {}),
            },
          }
        : {}),
    });
    // SageMaker checks the role's access when it creates the group.
    resource.node.addDependency(this.role);
    this.featureGroupArn = stack.formatArn({
      service: 'sagemaker',
      resource: 'feature-group',
      resourceName: props.featureGroupName.toLowerCase(),
    });
  }

  /** Lets `grantee` put records (and, with the online store, use its key through SageMaker). */
  public grantPutRecord(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipal({ grantee, actions: ['sagemaker:PutRecord'], resourceArns: [this.featureGroupArn] });
    if (this.online && this.encryptionKey) {
      grantee.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [this.encryptionKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `sagemaker.${Aws.REGION}.amazonaws.com` } },
        }),
      );
    }
    return grant;
  }
}
