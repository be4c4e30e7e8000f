import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { Stack, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AlarmTopic } from '../../lib/constructs/alarm-topic';
import { AccessLogsBucket } from '../../lib/constructs/access-logs-bucket';
import { Purpose } from '../../lib/constructs/purpose';
import { everyTemplate, secureDataBucket, synthOnce, testApp } from '../helpers';
import { CONTAINER_DIR } from './fixtures';

/*
 * A team that uses Purpose in a plain stack and passes no bucket gets one of the purpose's own,
 * as secure as a project's data bucket, and cdk-nag and cfn-guard find nothing unacknowledged.
 */

describe('a Purpose without a bucket', () => {
  const app = testApp({ validate: true });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), everyTemplate(new CfnGuardValidator()));
  const stack = new Stack(app, 'Team', { stackName: 'team', env: { account: '123456789012', region: 'eu-west-1' } });
  const purpose = new Purpose(stack, 'Forecast', {
    purposeName: 'forecast',
    notificationTopic: new AlarmTopic(stack, 'Alarms').topic,
    containerDirectory: CONTAINER_DIR,
    inputs: [{ name: 'features', keyPrefix: 'curated/features/' }],
    outputs: [{ name: 'scores' }],
  });
  const synth = synthOnce(app);
  const template = synth.templateOf(stack);
  const bucketId = stack.getLogicalId(purpose.bucket.node.defaultChild as any);

  test('gets its own bucket: KMS with its own rotated key, TLS only, private, versioned, access logs, events, retained', () => {
    const bucket = template.toJSON().Resources[bucketId];
    expect(bucketId).toMatch(/^ForecastBucket/);
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties).toMatchObject({
      ...secureDataBucket(expect.anything()),
      LoggingConfiguration: { DestinationBucketName: expect.anything(), LogFilePrefix: 'forecast/' },
    });
    // No physical name: CloudFormation generates one, so destroy and deploy again never collides.
    expect(bucket.Properties.BucketName).toBeUndefined();
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', Properties: { EnableKeyRotation: true } });
    const policy = Object.values<any>(template.findResources('AWS::S3::BucketPolicy')).find((p) => p.Properties.Bucket.Ref === bucketId);
    const sids = policy.Properties.PolicyDocument.Statement.map((s: any) => s.Sid ?? s.Condition?.Bool?.['aws:SecureTransport']);
    expect(sids).toEqual(['false', 'DenyOtherEncryption', 'DenyOtherKeys']);
    // Its outputs go there, and its job role may write only below its output folder.
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).toContain('/results/forecast/scores/*');
  });

  test('cdk-nag and cfn-guard find nothing unacknowledged', () => {
    expect(synth.findings()).toEqual([]);
  });

  test('an access-log bucket and key can be brought, and are then used', () => {
    const other = new Stack(testApp(), 'Other');
    const logs = new AccessLogsBucket(other, 'SharedLogs');
    const key = new kms.Key(other, 'SharedKey');
    const p = new Purpose(other, 'Forecast', {
      purposeName: 'forecast',
      notificationTopic: new sns.Topic(other, 'Alarms'),
      containerDirectory: CONTAINER_DIR,
      outputs: [{ name: 'scores' }],
      accessLogsBucket: logs,
      bucketEncryptionKey: key,
    });
    expect(p.bucket.encryptionKey).toBe(key);
    expect(p.node.tryFindChild('AccessLogs')).toBeUndefined();
    expect(p.node.tryFindChild('BucketKey')).toBeUndefined();
  });

  test('a bucket that is passed is used as before: no bucket of its own', () => {
    const other = new Stack(testApp(), 'Passed');
    const logs = new AccessLogsBucket(other, 'Logs');
    const p = new Purpose(other, 'Forecast', {
      purposeName: 'forecast',
      bucket: logs,
      notificationTopic: new sns.Topic(other, 'Alarms'),
      containerDirectory: CONTAINER_DIR,
      outputs: [{ name: 'scores' }],
    });
    expect(p.bucket).toBe(logs);
    expect(p.node.tryFindChild('Bucket')).toBeUndefined();
  });
});
