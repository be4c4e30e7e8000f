import { Stack, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ProcessingJobLogs } from '../../lib/constructs/processing-job-logs';
import { synthOnce, testApp } from '../helpers';

/*
 * `/aws/sagemaker/ProcessingJobs` is made by SageMaker on first use, shared by the account,
 * without retention or key: the opt-in construct creates or adopts it and sets both.
 */

describe('ProcessingJobLogs', () => {
  const app = testApp({ validate: true });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'Platform', { env: { account: '123456789012', region: 'eu-west-1' } });
  new ProcessingJobLogs(stack, 'ProcessingJobLogs', { retention: logs.RetentionDays.SIX_MONTHS });
  const synth = synthOnce(app);
  const template = synth.templateOf(stack);

  test('creates the log group unless SageMaker already did, then sets its retention and key, in that order', () => {
    const resources = Object.entries<any>(template.findResources('Custom::AWS'));
    const actions = ['createLogGroup', 'putRetentionPolicy', 'associateKmsKey'];
    const byAction = Object.fromEntries(
      resources.map(([id, r]) => {
        const text = JSON.stringify(r.Properties.Create);
        // The key's ARN is a token, so that call's JSON is joined at deploy time.
        const create = typeof r.Properties.Create === 'string' ? JSON.parse(r.Properties.Create) : { text };
        return [actions.find((a) => text.includes(`${a}\\"`)), { id, create, dependsOn: r.DependsOn ?? [] }];
      }),
    );
    expect(Object.keys(byAction).sort()).toEqual(['associateKmsKey', 'createLogGroup', 'putRetentionPolicy']);
    expect(byAction.createLogGroup.create).toMatchObject({
      service: 'CloudWatchLogs',
      parameters: { logGroupName: '/aws/sagemaker/ProcessingJobs' },
      ignoreErrorCodesMatching: 'ResourceAlreadyExistsException',
    });
    expect(byAction.putRetentionPolicy.create.parameters).toEqual({ logGroupName: '/aws/sagemaker/ProcessingJobs', retentionInDays: 180 });
    for (const a of ['putRetentionPolicy', 'associateKmsKey']) expect(byAction[a].dependsOn).toContain(byAction.createLogGroup.id);
    expect(byAction.associateKmsKey.create.text).toContain('ProcessingJobLogsKey');
  });

  test('the key lets CloudWatch Logs use it for this log group only, and is kept', () => {
    const [key] = Object.values<any>(template.findResources('AWS::KMS::Key'));
    expect(key.DeletionPolicy).toBe('Retain');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    const logsStatement = key.Properties.KeyPolicy.Statement.find((s: any) => s.Sid === 'CloudWatchLogsForProcessingJobs');
    expect(logsStatement.Condition.ArnEquals['kms:EncryptionContext:aws:logs:arn']).toBe(
      'arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/ProcessingJobs',
    );
  });

  test('the calls may touch this log group only, and cdk-nag finds nothing unacknowledged', () => {
    const statements = Object.values<any>(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(new Set(statements.map((s) => JSON.stringify(s.Resource)))).toEqual(
      new Set([JSON.stringify('arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/ProcessingJobs')]),
    );
    expect(synth.findings()).toEqual([]);
  });
});
