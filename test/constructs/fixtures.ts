import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Purpose } from '../../lib/constructs/purpose';
import type { PurposeProps } from '../../lib/constructs/purpose-props';
import { REPO_ROOT, testApp } from '../helpers';

export const CONTAINER_DIR = path.join(REPO_ROOT, 'containers', 'usage-analysis');

/** The usage-analysis purpose of the example, in `baseStack()`, with `overrides` applied. */
export function usageAnalysis(overrides: Partial<PurposeProps> = {}) {
  const base = baseStack();
  const purpose = new Purpose(base.stack, 'UsageAnalysis', {
    purposeName: 'usage-analysis',
    namePrefix: 'batcat-demo-dev',
    bucket: base.bucket,
    notificationTopic: base.topic,
    containerDirectory: CONTAINER_DIR,
    inputs: [{ name: 'usage', keyPrefix: 'raw/usage/' }],
    outputs: [{ name: 'summary' }],
    ...overrides,
  });
  return { ...base, purpose };
}

/** A stack with a KMS-encrypted data bucket and an encrypted topic, as a project stack has. */
export function baseStack() {
  const stack = new Stack(testApp(), 'TestStack', { stackName: 'test-stack' });
  const key = new kms.Key(stack, 'DataKey');
  const bucket = new s3.Bucket(stack, 'Data', { encryption: s3.BucketEncryption.KMS, encryptionKey: key });
  const topicKey = new kms.Key(stack, 'TopicKey');
  const topic = new sns.Topic(stack, 'Topic', { masterKey: topicKey });
  return { stack, key, bucket, topic, topicKey };
}
