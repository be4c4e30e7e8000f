import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';

/**
 * Lets CloudWatch Logs of this region encrypt this account's log groups with `key`, and nothing
 * else; with `only`, that one log group.
 */
export function allowCloudWatchLogs(key: kms.Key, only?: { readonly sid: string; readonly logGroupArn: string }): void {
  const context = 'kms:EncryptionContext:aws:logs:arn';
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: only?.sid ?? 'CloudWatchLogsOfThisAccount',
      principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: only
        ? { ArnEquals: { [context]: only.logGroupArn } }
        : { ArnLike: { [context]: `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*` } },
    }),
  );
}

/**
 * Lets only AWS services create grants on `key` (Control Tower CT.KMS.PR.3): a grant is how a
 * principal could hand its key access to someone the key policy never named.
 */
export function denyGrantsExceptForAwsServices(key: kms.Key): void {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'DenyGrantsExceptForAwsServices',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    }),
  );
}
