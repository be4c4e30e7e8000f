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

  test('is one project stack named from project and stage, with the purpose in a nested stack', () => {
    expect(assembly.stacks.map((s) => s.stackName)).toEqual(['batcat-2022-rnd-battery-dev']);
    expect(stacks[0].purposes['usage-analysis'].stateMachine).toBeDefined();
    expect(nestedFile).toHaveLength(1);
    expect(Object.values<any>(stack.template.Resources).filter((r) => r.Type === 'AWS::CloudFormation::Stack')).toHaveLength(1);
    expect(stack.template.Outputs).toHaveProperty('DataBucketName');
    expect(stack.template.Outputs).toHaveProperty('AlarmTopicArn');
  });

  test('cdk-nag and the CloudFormation validation report nothing, not even warnings', () => {
    const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
    const findings = report.pluginReports.flatMap((p: any) => p.violations.map((v: any) => `${p.pluginName}: ${v.ruleName}: ${v.description}`));
    expect(findings).toEqual([]);
  });

  test('every acknowledgement is finding-level and carries a reason', () => {
    const acks = stacks.flatMap((st) => st.node.findAll())
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries<any>(m.data).map(([id, v]) => ({ id: id.replace(/^Annotation::/, ''), reason: typeof v === 'string' ? v : v.reason })));
    expect(acks.map((a) => a.id).filter((id) => id.startsWith('AwsSolutions')).sort()).toEqual([
      'AwsSolutions-IAM5[Resource::*]', // the job role: ecr:GetAuthorizationToken, cloudwatch:PutMetricData (namespace-bound)
      'AwsSolutions-IAM5[Resource::*]', // the state machine role: X-Ray and log delivery
      'AwsSolutions-IAM5[Resource::<referencetobatcat2022rndbatterydevDataBucketAE397CC3Arn>/raw/usage/*]',
      'AwsSolutions-IAM5[Resource::<referencetobatcat2022rndbatterydevDataBucketAE397CC3Arn>/results/usage-analysis/summary/*]',
      expect.stringMatching(/^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:\/aws\/sagemaker\/ProcessingJobs:log-stream:usage-analysis-[0-9a-f]{6}\*\]$/),
      expect.stringMatching(/^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:processing-job\/usage-analysis-[0-9a-f]{6}\*\]$/),
    ].sort());
    expect(acks.filter((a) => !a.id.startsWith('AwsSolutions')).map((a) => a.id)).toEqual(Array(5).fill(expect.stringMatching(/^cdk-validator-cfnguard::s3_/)));
    for (const a of acks) expect(String(a.reason).length).toBeGreaterThan(40);
  });

  test('cdk-nag runs in the app: an unprotected bucket fails the synth', () => {
    const { app, stacks: [project] } = createBatCatApp({ rootDir: REPO_ROOT, outdir: tempDir(), context: TEST_CONTEXT });
    new s3.Bucket(project, 'Unprotected');
    expect(() => app.synth()).toThrow(/AwsSolutions-S1[\s\S]*Unprotected/);
  });

  test('matches the snapshot (asset hashes masked)', () => {
    expect(maskAssetHashes(stack.template)).toMatchSnapshot('project stack');
    expect(maskAssetHashes(JSON.parse(fs.readFileSync(path.join(outdir, nestedFile[0]), 'utf8')))).toMatchSnapshot('usage-analysis nested stack');
  });
});
