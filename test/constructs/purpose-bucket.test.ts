import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { Stack, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
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

describe("an input in another bucket with that bucket's key", () => {
  const purposeIn = (region: string, keyRegion: string) => {
    const stack = new Stack(testApp(), 'Team', { env: { account: '123456789012', region } });
    const key = kms.Key.fromKeyArn(stack, 'LabelsKey', `arn:aws:kms:${keyRegion}:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab`);
    return () =>
      new Purpose(stack, 'Forecast', {
        purposeName: 'forecast',
        notificationTopic: new AlarmTopic(stack, 'Alarms').topic,
        containerDirectory: CONTAINER_DIR,
        inputs: [
          {
            name: 'labels',
            bucket: s3.Bucket.fromBucketAttributes(stack, 'Labels', { bucketName: 'labelled-fleet', encryptionKey: key }),
            keyPrefix: '2026/',
          },
        ],
        outputs: [{ name: 'scores' }],
      });
  };

  test("is refused when the key is in another region than the stack's, since the grant holds through S3 of the stack's region only", () => {
    expect(purposeIn('eu-west-1', 'us-east-1')).toThrow(
      "Team/LabelsKey: KMS key 'arn:aws:kms:us-east-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab' is in us-east-1, the stack deploys to eu-west-1: the job reads through S3 of eu-west-1 (kms:ViaService), and S3 encrypts a bucket's objects with a key of the bucket's region; deploy the stack to us-east-1, or copy the data into a bucket of eu-west-1",
    );
    expect(purposeIn('eu-west-1', 'eu-west-1')).not.toThrow();
  });
});
