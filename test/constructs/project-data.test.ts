import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AlarmTopic } from '../../lib/constructs/alarm-topic';
import { ProjectData } from '../../lib/constructs/project-data';
import { secureDataBucket, testApp } from '../helpers';

describe('ProjectData', () => {
  const stack = new Stack(testApp(), 'Data');
  const data = new ProjectData(stack, 'Data');
  const t = Template.fromStack(stack);
  const dataBucketId = stack.getLogicalId(data.bucket.node.defaultChild as any);
  const logsBucketId = stack.getLogicalId(data.accessLogsBucket.node.defaultChild as any);

  test('the data bucket is KMS-encrypted with a rotated customer key, versioned, private and logged', () => {
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    expect(t.toJSON().Resources[dataBucketId].Properties).toMatchObject({
      ...secureDataBucket({ 'Fn::GetAtt': [expect.stringMatching(/^DataKey/), 'Arn'] }),
      LoggingConfiguration: { DestinationBucketName: { Ref: logsBucketId }, LogFilePrefix: 'data-bucket/' },
    });
  });

  test('only AWS services may create grants on the key, and new objects are announced to EventBridge', () => {
    t.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'DenyGrantsExceptForAwsServices',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'kms:CreateGrant',
            Resource: '*',
            Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
          },
        ]),
      },
    });
    expect(t.toJSON().Resources[dataBucketId].Properties.NotificationConfiguration).toEqual({
      EventBridgeConfiguration: { EventBridgeEnabled: true },
    });
    // Natively, without the notifications custom resource and its Lambda function.
    t.resourceCountIs('AWS::Lambda::Function', 0);
  });

  test('both buckets and the key survive stack deletion', () => {
    const resources = t.toJSON().Resources;
    for (const id of [dataBucketId, logsBucketId]) {
      expect(resources[id].DeletionPolicy).toBe('Retain');
      expect(resources[id].UpdateReplacePolicy).toBe('Retain');
    }
    t.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
    // No custom resource that empties buckets on delete.
    expect(Object.values(resources).filter((r: any) => r.Type === 'Custom::S3AutoDeleteObjects')).toEqual([]);
  });

  test('both bucket policies deny every request without TLS', () => {
    for (const id of [dataBucketId, logsBucketId]) {
      t.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Resource: [{ 'Fn::GetAtt': [id, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id, 'Arn'] }, '/*']] }],
            },
          ]),
        },
      });
    }
  });

  test('the data bucket policy grants nothing but the TLS rule', () => {
    const policy = Object.values(t.findResources('AWS::S3::BucketPolicy')).find((p: any) => p.Properties.Bucket.Ref === dataBucketId)!;
    expect(policy.Properties.PolicyDocument.Statement.filter((s: any) => s.Effect === 'Allow')).toEqual([]);
  });

  test('the data bucket refuses uploads that ask for other encryption or another key', () => {
    const policy: any = Object.values(t.findResources('AWS::S3::BucketPolicy')).find((p: any) => p.Properties.Bucket.Ref === dataBucketId)!;
    const denies = Object.fromEntries(policy.Properties.PolicyDocument.Statement.filter((s: any) => s.Sid).map((s: any) => [s.Sid, s]));
    expect(denies.DenyOtherEncryption).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:PutObject',
      Condition: {
        StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' },
        Null: { 's3:x-amz-server-side-encryption': 'false' },
      },
    });
    expect(denies.DenyOtherKeys).toMatchObject({
      Effect: 'Deny',
      Action: 's3:PutObject',
      Condition: {
        StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': { 'Fn::GetAtt': [expect.stringMatching(/Key/), 'Arn'] } },
        // Only when the upload names a key: without one, the bucket's default (the project key) applies.
        Null: { 's3:x-amz-server-side-encryption-aws-kms-key-id': 'false' },
      },
    });
  });

  test('only the S3 logging service may write access logs, from this account and bucket', () => {
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logsBucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 's3:PutObject',
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Condition: Match.objectLike({ ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [dataBucketId, 'Arn'] } } }),
          }),
        ]),
      },
    });
    expect(
      t.toJSON().Resources[logsBucketId].Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault
        .SSEAlgorithm,
    ).toBe('AES256');
  });
});

test("ProjectData needs no feature flags from cdk.json: other teams' apps get the same buckets", () => {
  const stack = new Stack(new App({ builtinCloudFormationValidation: false }), 'Bare');
  new ProjectData(stack, 'Data');
  const t = Template.fromStack(stack);
  expect(JSON.stringify(t.toJSON())).not.toContain('LogDeliveryWrite');
  t.hasResourceProperties('AWS::S3::BucketPolicy', {
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'logging.s3.amazonaws.com' } })]) },
  });
});

describe('AlarmTopic', () => {
  const stack = new Stack(testApp(), 'Topic');
  new AlarmTopic(stack, 'Alarms', { emails: ['a@example.com', 'b@example.com'] });
  const t = Template.fromStack(stack);

  test('is encrypted with a rotated customer key that CloudWatch alarms may use', () => {
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlarmsKey'), 'Arn'] } });
    t.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'AllowCloudWatchAlarmsToPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Resource: '*',
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ]),
      },
    });
  });

  test("accepts publishing over TLS only, and from this account's alarms", () => {
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowPublishThroughSSLOnly',
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Sid: 'AllowCloudWatchAlarmsOfThisAccount',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
          }),
        ]),
      },
    });
  });

  test('subscribes every configured e-mail address', () => {
    t.resourceCountIs('AWS::SNS::Subscription', 2);
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'b@example.com' });
  });
});
