import { Aws, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { kmsKeyRegionProblem } from '../../contract/rules';
import { check } from './errors';

/** Reading the objects below `keyPrefix`, and listing that folder only. */
export function readFolder(bucket: s3.IBucket, keyPrefix: string): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects(`${keyPrefix}*`)] }),
    listFolder(bucket, keyPrefix),
  ];
}

/** Listing the folder `keyPrefix` of `bucket` only. */
export function listFolder(bucket: s3.IBucket, keyPrefix: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: ['s3:ListBucket'],
    resources: [bucket.bucketArn],
    conditions: { StringLike: { 's3:prefix': [`${keyPrefix}*`] } },
  });
}

/** Use of an S3 bucket's key, only through S3 in this region. */
export function viaS3(actions: string[], key: kms.IKey, bucket: s3.IBucket): iam.PolicyStatement {
  const region = Stack.of(key).region;
  if (!Token.isUnresolved(key.keyArn) && !Token.isUnresolved(region)) check(key, kmsKeyRegionProblem(key.keyArn, region));
  return new iam.PolicyStatement({
    actions,
    resources: [key.keyArn],
    conditions: {
      StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com` },
      // Only for this bucket's objects (with S3 Bucket Keys, the context is the bucket itself), not another bucket's under the same key.
      StringLike: { 'kms:EncryptionContext:aws:s3:arn': [bucket.bucketArn, bucket.arnForObjects('*')] },
    },
  });
}
