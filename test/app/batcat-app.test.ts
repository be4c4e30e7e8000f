import * as fs from 'node:fs';
import * as path from 'node:path';
import { Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { createBatCatApp } from '../../lib/app/batcat-app';
import { REPO_ROOT, TEST_CONTEXT, tempDir } from '../helpers';

/** Asset hashes change with every edit of a container or nested template; the snapshot shows where they are, not what they are. */
function maskAssetHashes(template: unknown): unknown {
  return JSON.parse(JSON.stringify(template).replace(/[0-9a-f]{64}/g, '<asset-hash>'));
}

function synthExample() {
  const outdir = tempDir('batcat-app-');
  const { app, stacks } = createBatCatApp({ rootDir: REPO_ROOT, outdir, context: TEST_CONTEXT, analyticsReporting: false });
  const assembly = app.synth();
  return { outdir, assembly, stacks };
}

describe('the example project app', () => {
  const { outdir, assembly, stacks } = synthExample();
  const stack = assembly.getStackByName('batcat-2022-rnd-battery-dev');
  const nestedFile = fs.readdirSync(outdir).filter((f) => f.endsWith('.nested.template.json'));

  const nestedOf = (purpose: string) => {
    const file = nestedFile.find((f) => f.includes(purpose.replace(/-/g, '')));
    return JSON.parse(fs.readFileSync(path.join(outdir, file!), 'utf8'));
  };

  test('is one project stack named from project and stage, with each purpose in a nested stack, and a dashboard', () => {
    expect(assembly.stacks.map((s) => s.stackName)).toEqual(['batcat-2022-rnd-battery-dev']);
    expect(Object.keys(stacks[0].purposes)).toEqual(['usage-analysis', 'fleet-report']);
    expect(nestedFile).toHaveLength(2);
    expect(Object.values<any>(stack.template.Resources).filter((r) => r.Type === 'AWS::CloudFormation::Stack')).toHaveLength(2);
    expect(Object.values<any>(stack.template.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard')).toHaveLength(1);
    expect(stack.template.Outputs).toHaveProperty('DataBucketName');
    expect(stack.template.Outputs).toHaveProperty('AlarmTopicArn');
  });

  test('every trigger of the example is in the synthesized project', () => {
    const usage = Object.values<any>(nestedOf('usage-analysis').Resources);
    expect(
      usage
        .filter((r) => r.Type === 'AWS::Scheduler::Schedule')
        .map((r) => [r.Properties.ScheduleExpression, r.Properties.ScheduleExpressionTimezone]),
    ).toEqual([['cron(0 2 * * ? *)', 'Europe/Berlin']]);
    expect(usage.filter((r) => r.Type === 'AWS::Events::Rule').map((r) => r.Properties.EventPattern.detail.object.key)).toEqual([
      [{ wildcard: 'raw/usage/*.csv' }],
    ]);
    const report = Object.values<any>(nestedOf('fleet-report').Resources);
    expect(report.filter((r) => r.Type === 'AWS::Events::Rule').map((r) => r.Properties.EventPattern['detail-type'])).toEqual([
      ['Step Functions Execution Status Change'],
    ]);
    expect(report.filter((r) => r.Type === 'AWS::Scheduler::Schedule')).toEqual([]);
  });

  test('cdk-nag and the CloudFormation validation report nothing, not even warnings', () => {
    const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
    const findings = report.pluginReports.flatMap((p: any) =>
      p.violations.map((v: any) => `${p.pluginName}: ${v.ruleName}: ${v.description}`),
    );
    expect(findings).toEqual([]);
  });

  test('every acknowledgement is finding-level and carries a reason', () => {
    const acks = stacks
      .flatMap((st) => st.node.findAll())
      .flatMap((c) =>
        c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY).map((m) => ({ path: c.node.path, m })),
      )
      .flatMap(({ path: p, m }) =>
        Object.entries<any>(m.data).map(([id, v]) => ({
          path: p,
          id: id.replace(/^Annotation::/, ''),
          reason: typeof v === 'string' ? v : v.reason,
        })),
      );
    const usageAnalysis = acks
      .filter((a) => a.path.startsWith('batcat-2022-rnd-battery-dev/usage-analysis'))
      .map((a) => `${a.path.replace(/^.*?usage-analysis\/?/, '')} ${a.id}`);
    expect(usageAnalysis.sort()).toEqual(
      [
        ' AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:processing-job/usage-analysis-2919b6*]',
        'Purpose/Backfill/StateMachine/Role AwsSolutions-IAM5[Resource::*]', // X-Ray and log delivery
        'Purpose/Backfill/StateMachine/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"PurposeStateMachineBFA98837"}]}]}*]',
        'Purpose/RunProcessingJob/JobRole AwsSolutions-IAM5[Resource::*]', // ecr:GetAuthorizationToken, cloudwatch:PutMetricData (namespace-bound)
        'Purpose/RunProcessingJob/JobRole AwsSolutions-IAM5[Resource::<referencetobatcat2022rndbatterydevDataBucketAE397CC3Arn>/raw/usage/*]',
        'Purpose/RunProcessingJob/JobRole AwsSolutions-IAM5[Resource::<referencetobatcat2022rndbatterydevDataBucketAE397CC3Arn>/results/usage-analysis/summary/*]',
        'Purpose/RunProcessingJob/JobRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/ProcessingJobs:log-stream:usage-analysis-2919b6*]',
        'Purpose/StateMachine/Role AwsSolutions-IAM5[Resource::*]', // X-Ray and log delivery
        'Purpose/Trigger/DeadLetters AwsSolutions-SQS3',
        'Purpose/Trigger/Role AwsSolutions-IAM5[Resource::*]', // X-Ray
        'Purpose/Trigger/ScheduleRole AwsSolutions-IAM5[Resource::<PurposeTriggerFunction22F43CE3.Arn>:*]',
      ].sort(),
    );
    expect(acks.filter((a) => !a.id.startsWith('AwsSolutions')).map((a) => a.id)).toEqual(
      Array(5).fill(expect.stringMatching(/^cdk-validator-cfnguard::s3_/)),
    );
    for (const a of acks) expect(String(a.reason).length).toBeGreaterThan(40);
  });

  test('cdk-nag runs in the app: an unprotected bucket fails the synth', () => {
    const {
      app,
      stacks: [project],
    } = createBatCatApp({ rootDir: REPO_ROOT, outdir: tempDir(), context: TEST_CONTEXT });
    new s3.Bucket(project, 'Unprotected');
    expect(() => app.synth()).toThrow(/AwsSolutions-S1[\s\S]*Unprotected/);
  });

  test('matches the snapshot (asset hashes masked)', () => {
    expect(maskAssetHashes(stack.template)).toMatchSnapshot('project stack');
    expect(maskAssetHashes(nestedOf('usage-analysis'))).toMatchSnapshot('usage-analysis nested stack');
    expect(maskAssetHashes(nestedOf('fleet-report'))).toMatchSnapshot('fleet-report nested stack');
  });
});
