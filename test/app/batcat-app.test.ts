import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { spawnSync } from 'node:child_process';
import { createBatCatApp, IMPORT_RETAINED_CONTEXT, STAGE_CONTEXT } from '../../lib/app/batcat-app';
import { synthSummary } from '../../lib/app/synth-summary';
import { CLI_BUNDLE_DIR } from '../global-setup';
import { everyTemplate, REPO_ROOT, retainedFixedNames, TEST_CONTEXT, tempDir } from '../helpers';

/**
 * The example project, synthesized once for every test here: with cdk-nag (as at every synth),
 * the built-in CloudFormation validation, and cfn-guard with the Control Tower proactive
 * controls (a dev-time check; it adds seconds, so it is not part of a user's synth).
 */
function synthExample() {
  const outdir = tempDir('batcat-app-');
  const { app, stacks, checks } = createBatCatApp({ rootDir: REPO_ROOT, outdir, context: TEST_CONTEXT, analyticsReporting: false });
  Validations.of(app).addPlugins(everyTemplate(new CfnGuardValidator()));
  const assembly = app.synth();
  return { outdir, assembly, stacks, checks };
}

let example: ReturnType<typeof synthExample> | undefined;
const exampleOnce = () => (example ??= synthExample());

describe('the example project app', () => {
  const { outdir, assembly, stacks, checks } = exampleOnce();
  const stack = assembly.getStackByName('batcat-2022-rnd-battery-dev');
  const nestedFile = fs.readdirSync(outdir).filter((f) => f.endsWith('.nested.template.json'));

  const nestedOf = (purpose: string) => {
    const file = nestedFile.find((f) => f.includes(purpose.replace(/-/g, '')));
    return JSON.parse(fs.readFileSync(path.join(outdir, file!), 'utf8'));
  };

  test('is one project stack named from project and stage, with each purpose, the dashboard and the streams in a nested stack', () => {
    expect(assembly.stacks.map((s) => s.stackName)).toEqual(['batcat-2022-rnd-battery-dev']);
    expect(Object.keys(stacks[0].purposes)).toEqual(['usage-analysis', 'fleet-report', 'fleet-daily']);
    expect(nestedFile).toHaveLength(5);
    expect(Object.values<any>(stack.template.Resources).filter((r) => r.Type === 'AWS::CloudFormation::Stack')).toHaveLength(5);
    const streams = JSON.parse(
      fs.readFileSync(
        path.join(
          outdir,
          nestedFile.find((f) => f.includes('Ingest'))!,
        ),
        'utf8',
      ),
    );
    expect(
      Object.values<any>(streams.Resources)
        .filter((r) => r.Type === 'AWS::KinesisFirehose::DeliveryStream')
        .map((r) => r.Properties.DeliveryStreamName),
    ).toEqual(['batcat-2022-rnd-battery-dev-telemetry']);
    expect(stack.template.Outputs).toHaveProperty('IngesttelemetryProducerPolicy');
    const dashboards = nestedFile.filter((f) => f.includes('Dashboard'));
    expect(dashboards).toHaveLength(1);
    const dashboard = JSON.parse(fs.readFileSync(path.join(outdir, dashboards[0]), 'utf8'));
    expect(Object.values<any>(dashboard.Resources).map((r) => [r.Type, r.Properties.DashboardName])).toEqual([
      ['AWS::CloudWatch::Dashboard', 'batcat-2022-rnd-battery-dev-runs'],
    ]);
    expect(stack.template.Outputs).toHaveProperty('DataBucketName');
    expect(stack.template.Outputs).toHaveProperty('AlarmTopicArn');
  });

  test('every trigger of the example is in the synthesized project', () => {
    const usage = Object.values<any>(nestedOf('usage-analysis').Resources);
    expect(
      usage
        .filter((r) => r.Type === 'AWS::Scheduler::Schedule')
        .map((r) => [r.Properties.ScheduleExpression, r.Properties.ScheduleExpressionTimezone]),
    ).toEqual([
      ['cron(0 4 * * ? *)', 'Europe/Berlin'],
      // freshness: 6h adds the hourly check.
      ['rate(1 hour)', 'Etc/UTC'],
    ]);
    const rules = (resources: any[]) => resources.filter((r) => r.Type === 'AWS::Events::Rule').map((r) => r.Properties.EventPattern);
    // Each purpose also has the rules that publish its timed-out and stopped runs and record its ended runs in the ledger.
    expect(rules(usage).map((p) => p.detail.object?.key ?? p.detail.status)).toEqual([
      ['TIMED_OUT', 'ABORTED'],
      [{ wildcard: 'raw/usage/*.csv' }],
      // With S3 arrival, successes too: a late object's follow-up starts when the run ends.
      ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
    ]);
    const report = Object.values<any>(nestedOf('fleet-report').Resources);
    expect(rules(report).map((p) => [p.source, p['detail-type'], p.detail.status ?? p.detail.stateMachineArn])).toEqual([
      [['aws.states'], ['Step Functions Execution Status Change'], ['TIMED_OUT', 'ABORTED']],
      [['aws.states'], ['Step Functions Execution Status Change'], ['FAILED', 'TIMED_OUT', 'ABORTED']],
      // after: usage-analysis, by its completion event.
      [['batcat'], ['Run Succeeded'], [expect.anything()]],
    ]);
    expect(report.filter((r) => r.Type === 'AWS::Scheduler::Schedule')).toEqual([]);
  });

  test("every log group of every purpose is encrypted with the project key, which lets this account's CloudWatch Logs use it", () => {
    const groups = ['usage-analysis', 'fleet-report', 'fleet-daily'].flatMap((p) =>
      Object.values<any>(nestedOf(p).Resources).filter((r) => r.Type === 'AWS::Logs::LogGroup'),
    );
    // Per purpose: the state machine's, the backfill's, and the trigger, commit, run manifest and redrive gate functions'; usage-analysis's output checks and feature ingestion too.
    expect(groups).toHaveLength(20);
    for (const g of groups) expect(g.Properties.KmsKeyId).toEqual({ Ref: expect.stringMatching(/DataKey.*Arn$/) });
    const key = Object.values<any>(stack.template.Resources).find((r) => r.Type === 'AWS::KMS::Key');
    expect(key.Properties.KeyPolicy.Statement).toContainEqual(
      expect.objectContaining({
        Sid: 'CloudWatchLogsOfThisAccount',
        Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
        Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': expect.anything() } },
      }),
    );
  });

  test('destroy and deploy again: no template holds a retained resource under a fixed name', () => {
    const templates = Object.fromEntries(
      fs
        .readdirSync(outdir)
        .filter((f) => f.endsWith('.template.json'))
        .map((f) => [f, JSON.parse(fs.readFileSync(path.join(outdir, f), 'utf8'))]),
    );
    expect(Object.keys(templates)).toHaveLength(6);
    expect(retainedFixedNames(templates)).toEqual([]);
    // What is retained: the data, its key, the ledger and the logs, each under a name of its own stack instance or a generated one.
    const retained = Object.values<any>(templates).flatMap((t) =>
      Object.values<any>(t.Resources)
        .filter((r) => r.DeletionPolicy === 'Retain')
        .map((r) => r.Type),
    );
    // A stream's delivery log stream holds its events: retained with its group.
    expect(new Set(retained)).toEqual(
      new Set(['AWS::KMS::Key', 'AWS::S3::Bucket', 'AWS::DynamoDB::Table', 'AWS::Logs::LogGroup', 'AWS::Logs::LogStream']),
    );
  });

  test('cdk-nag, the CloudFormation validation and the Control Tower controls report nothing, not even warnings', () => {
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
        ' AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:processing-job/usage-analysis-2919b6-*]',
        // The profile and sample queries (Athena): read the summary's attempt folders, write the purpose's workgroup results
        ' AwsSolutions-IAM5[Resource::<referencetobatcat2022rndbatterydevDataBucketAE397CC3Arn>/athena-results/purposes/usage-analysis/*]',
        ' AwsSolutions-IAM5[Resource::<referencetobatcat2022rndbatterydevDataBucketusageanalysis5ABE681EArn>/results/usage-analysis/summary/_attempts/*]',
        // The output checks: the workgroup's results, the purpose's run folders, the summary's profile and sample history
        'Purpose/OutputChecks/Role AwsSolutions-IAM5[Resource::<referencetobatcat2022rndbatterydevDataBucketAE397CC3Arn>/athena-results/purposes/usage-analysis/*]',
        'Purpose/OutputChecks/Role AwsSolutions-IAM5[Resource::<referencetobatcat2022rndbatterydevDataBucketusageanalysis5ABE681EArn>/_batcat/profiles/usage-analysis/summary/*]',
        'Purpose/OutputChecks/Role AwsSolutions-IAM5[Resource::<referencetobatcat2022rndbatterydevDataBucketusageanalysis5ABE681EArn>/_batcat/runs/usage-analysis/*]',
        'Purpose/OutputChecks/Role AwsSolutions-IAM5[Resource::<referencetobatcat2022rndbatterydevDataBucketusageanalysis5ABE681EArn>/_batcat/samples/usage-analysis/summary/*]',
        'Purpose/OutputChecks/Function cdk-validator-cfnguard::lambda_inside_vpc_check',
        'Purpose/Backfill/StateMachine/Role AwsSolutions-IAM5[Resource::*]', // X-Ray and log delivery
        'Purpose/Backfill/StateMachine/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"PurposeStateMachineBFA98837"}]}]}*]',
        // The commit of results: the objects below the purpose's own output folder
        'Purpose/Commit/Role AwsSolutions-IAM5[Resource::<referencetobatcat2022rndbatterydevDataBucketusageanalysis5ABE681EArn>/results/usage-analysis/summary/*]',
        // The feature group: SageMaker writes its offline store folder; the ingestion reads the committed summary
        'Features/summary/Role AwsSolutions-IAM5[Resource::<referencetobatcat2022rndbatterydevDataBucketusageanalysis5ABE681EArn>/features/usage-analysis/summary/*]',
        'Purpose/FeatureIngestion/Role AwsSolutions-IAM5[Resource::<referencetobatcat2022rndbatterydevDataBucketusageanalysis5ABE681EArn>/results/usage-analysis/summary/*]',
        'Purpose/FeatureIngestion/Function cdk-validator-cfnguard::lambda_inside_vpc_check',
        'Purpose/StateMachine/Role AwsSolutions-IAM5[Resource::<PurposeFeatureIngestionFunction0032FCEC.Arn>:*]', // the feature ingestion's versions
        'Purpose/RunProcessingJob/JobRole AwsSolutions-IAM5[Resource::*]', // ecr:GetAuthorizationToken, cloudwatch:PutMetricData (namespace-bound)
        'Purpose/RunProcessingJob/JobRole AwsSolutions-IAM5[Resource::<referencetobatcat2022rndbatterydevDataBucketusageanalysis5ABE681EArn>/_batcat/reproduce/usage-analysis/*]',
        'Purpose/RunProcessingJob/JobRole AwsSolutions-IAM5[Resource::<referencetobatcat2022rndbatterydevDataBucketusageanalysis5ABE681EArn>/raw/usage/*]',
        'Purpose/RunProcessingJob/JobRole AwsSolutions-IAM5[Resource::<referencetobatcat2022rndbatterydevDataBucketusageanalysis5ABE681EArn>/results/usage-analysis/summary/*]',
        'Purpose/RunProcessingJob/JobRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/ProcessingJobs:log-stream:usage-analysis-2919b6-*]',
        'Purpose/StateMachine/Role AwsSolutions-IAM5[Resource::*]', // X-Ray and log delivery
        'Purpose/StateMachine/Role AwsSolutions-IAM5[Resource::<PurposeCommitFunction668DD148.Arn>:*]', // the commit function's versions
        'Purpose/StateMachine/Role AwsSolutions-IAM5[Resource::<PurposeRunManifestsFunctionFA4561A2.Arn>:*]', // the run manifest function's
        'Purpose/StateMachine/Role AwsSolutions-IAM5[Resource::<PurposeOutputChecksFunctionB6915F38.Arn>:*]', // the output checks'
        'Purpose/StateMachine/Role AwsSolutions-IAM5[Resource::<PurposeRedriveGateFunction8894D1D2.Arn>:*]', // the redrive gate's
        'Purpose/RedriveGate/Function cdk-validator-cfnguard::lambda_inside_vpc_check',
        // The run manifest: its own folder of the purpose's bucket
        'Purpose/RunManifests/Role AwsSolutions-IAM5[Resource::<referencetobatcat2022rndbatterydevDataBucketusageanalysis5ABE681EArn>/_batcat/runs/usage-analysis/*]',
        // and the footers of the Parquet files its runs write (row counts)
        'Purpose/RunManifests/Role AwsSolutions-IAM5[Resource::<referencetobatcat2022rndbatterydevDataBucketusageanalysis5ABE681EArn>/results/usage-analysis/summary/*]',
        'Purpose/RunManifests/Function cdk-validator-cfnguard::lambda_inside_vpc_check',
        'Purpose/Trigger/DeadLetters AwsSolutions-SQS3',
        // cfn-guard over the nested template: the dead-letter queue needs none, the functions call AWS APIs only
        'Purpose/Trigger/DeadLetters cdk-validator-cfnguard::sqs_dlq_check',
        'Purpose/Trigger/Function cdk-validator-cfnguard::lambda_inside_vpc_check',
        'Purpose/Commit/Function cdk-validator-cfnguard::lambda_inside_vpc_check',
        'Purpose/Trigger/Role AwsSolutions-IAM5[Resource::*]', // X-Ray
        // DescribeExecution of its own runs, to find one that ended without recording it in the ledger
        'Purpose/Trigger/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"PurposeStateMachineBFA98837"}]}]}:*]',
        'Purpose/Trigger/ScheduleRole AwsSolutions-IAM5[Resource::<PurposeTriggerFunction22F43CE3.Arn>:*]',
      ].sort(),
    );
    // The parent's buckets (7: the project's, its access logs', and one per purpose) and, for each of the two purposes, its dead-letter queue and three functions.
    expect(
      acks
        .filter((a) => !a.id.startsWith('AwsSolutions'))
        .map((a) => a.id.replace(/_check$/, ''))
        .sort(),
    ).toEqual([
      ...Array(14).fill('cdk-validator-cfnguard::lambda_inside_vpc'),
      ...Array(8).fill(expect.stringMatching(/^cdk-validator-cfnguard::s3_/)),
      ...Array(3).fill('cdk-validator-cfnguard::sqs_dlq'),
    ]);
    for (const a of acks) expect(String(a.reason).length).toBeGreaterThan(40);
  });

  test('the context batcat:stage synthesizes another stage of every project: a stack of its own', () => {
    const { stacks } = createBatCatApp({ rootDir: REPO_ROOT, outdir: tempDir(), context: { ...TEST_CONTEXT, [STAGE_CONTEXT]: 'feat1' } });
    expect(stacks.map((s) => s.stackName)).toEqual(['batcat-2022-rnd-battery-feat1']);
  });

  test('cdk-nag runs in the app: an unprotected bucket fails the synth', () => {
    const {
      app,
      stacks: [project],
    } = createBatCatApp({ rootDir: REPO_ROOT, outdir: tempDir(), context: TEST_CONTEXT });
    new s3.Bucket(project, 'Unprotected');
    expect(() => app.synth()).toThrow(/AwsSolutions-S1[\s\S]*Unprotected/);
  });

  test("an unacknowledged wildcard resource in a purpose's nested stack fails the synth, even next to acknowledged ones", () => {
    const {
      app,
      stacks: [project],
    } = createBatCatApp({ rootDir: REPO_ROOT, outdir: tempDir(), context: TEST_CONTEXT });
    const purpose = project.purposes['usage-analysis'];
    // The state machine's role already holds acknowledged wildcards (its commit function's versions, X-Ray); this one is not among them.
    purpose.stateMachine.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [project.data.bucket.arnForObjects('curated/*')] }),
    );
    expect(() => app.synth()).toThrow(
      /usage-analysis\/Purpose\/StateMachine\/Role[\s\S]*AwsSolutions-IAM5\[Resource::<\w+>\/curated\/\*\]/,
    );
  });

  test('the Control Tower controls the project does not meet are acknowledged, and only these', () => {
    const acknowledged = stacks[0].node
      .findAll()
      .flatMap((c) =>
        c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY).map((m) => [c.node.path, m.data]),
      )
      .flatMap(([p, data]: any) =>
        Object.keys(data)
          .filter((id) => id.startsWith('cdk-validator-cfnguard::'))
          .map((id) => `${p.replace(/^batcat-2022-rnd-battery-dev\//, '')} ${id.replace(/^cdk-validator-cfnguard::/, '')}`),
      );
    expect(acknowledged.sort()).toEqual(
      [
        'Data/AccessLogs s3_bucket_default_encryption_kms_check',
        'Data/AccessLogs s3_bucket_logging_enabled_check',
        'Data/AccessLogs s3_bucket_object_lock_enabled_check',
        'Data/AccessLogs s3_event_notifications_enabled_check',
        'Data/Bucket s3_bucket_object_lock_enabled_check',
        'Data/Bucket-fleet-daily s3_bucket_object_lock_enabled_check',
        'Data/Bucket-fleet-report s3_bucket_object_lock_enabled_check',
        'Data/Bucket-usage-analysis s3_bucket_object_lock_enabled_check',
        ...['fleet-daily', 'fleet-report', 'usage-analysis'].flatMap((p) => [
          `${p}/Purpose/Commit/Function lambda_inside_vpc_check`,
          `${p}/Purpose/RunManifests/Function lambda_inside_vpc_check`,
          `${p}/Purpose/RedriveGate/Function lambda_inside_vpc_check`,
          `${p}/Purpose/Trigger/DeadLetters sqs_dlq_check`,
          `${p}/Purpose/Trigger/Function lambda_inside_vpc_check`,
        ]),
        'usage-analysis/Purpose/OutputChecks/Function lambda_inside_vpc_check',
        'usage-analysis/Purpose/FeatureIngestion/Function lambda_inside_vpc_check',
      ].sort(),
    );
  });

  test('matches the snapshot (asset hashes masked by test/asset-hash-serializer.ts)', () => {
    expect(stack.template).toMatchSnapshot('project stack');
    expect(nestedOf('usage-analysis')).toMatchSnapshot('usage-analysis nested stack');
    expect(nestedOf('fleet-report')).toMatchSnapshot('fleet-report nested stack');
    expect(nestedOf('fleet-daily')).toMatchSnapshot('fleet-daily nested stack');
  });

  test('every role of every template, nested ones included, is under the stage path, and its trust names its source, but for Lambda execution roles', () => {
    // Lambda assumes a function's execution role without a source to condition on.
    const unconditioned = new Set(['lambda.amazonaws.com']);
    const roles = fs
      .readdirSync(outdir)
      .filter((f) => f.endsWith('.template.json'))
      .flatMap((f) => Object.entries<any>(JSON.parse(fs.readFileSync(path.join(outdir, f), 'utf8')).Resources))
      .filter(([, r]) => r.Type === 'AWS::IAM::Role');
    const trusts = roles.flatMap(([id, r]) => r.Properties.AssumeRolePolicyDocument.Statement.map((st: any) => ({ id, st })));
    expect(trusts.length).toBeGreaterThan(10);
    // Every role of the stage under its path, for an account policy to deny passing them by path.
    expect(new Set(roles.map(([, r]) => r.Properties.Path))).toEqual(new Set(['/batcat/2022-rnd-battery/dev/']));
    for (const { id, st } of trusts) {
      const service = st.Principal.Service;
      expect([id, typeof service]).toEqual([id, 'string']);
      if (unconditioned.has(service)) continue;
      const keys = Object.values<any>(st.Condition ?? {}).flatMap((c) => Object.keys(c));
      expect([id, service, keys]).toEqual([id, service, expect.arrayContaining(['aws:SourceAccount'])]);
    }
    const byService = (s: string) => trusts.filter((t) => t.st.Principal.Service === s).map((t) => t.st.Condition);
    // The feature group's offline store role: this account only. Whether Feature Store sends
    // aws:SourceArn when it assumes the role is not documented, and a condition on a key it
    // does not send would stop every write; README.md names this as unverified.
    const featureStoreRoles = trusts.filter((t) => /^Features.*Role/.test(t.id));
    expect(featureStoreRoles.map((t) => t.st.Condition)).toEqual([{ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }]);
    // The jobs of this purpose only, and the state machine of this name only.
    for (const c of trusts
      .filter((t) => t.st.Principal.Service === 'sagemaker.amazonaws.com' && !featureStoreRoles.includes(t))
      .map((t) => t.st.Condition))
      expect(JSON.stringify(c.ArnLike['aws:SourceArn'])).toMatch(/processing-job\/[a-z-]+-[0-9a-f]{6}-\*"/);
    for (const c of byService('states.amazonaws.com'))
      expect(JSON.stringify(c.ArnEquals['aws:SourceArn'])).toMatch(/stateMachine:batcat-2022-rnd-battery-dev-[a-z-]+"/);
  });

  test('the synth summary names each stack with its purposes, templates and resources, the largest template against the limit, and the checks', () => {
    const lines = synthSummary(assembly, stacks, checks);
    expect(lines[0]).toMatch(
      /^batcat-2022-rnd-battery-dev: 3 purposes, 6 templates, \d+ resources; largest template \d+ KB of 1000 KB \(\S+\.nested\.template\.json\)$/,
    );
    const acknowledged = assembly
      .getStackByName('batcat-2022-rnd-battery-dev')
      .findMetadataByType('aws:cdk:acknowledged-rules')
      .reduce((n, m) => n + Object.keys(m.data as object).length, 0);
    expect(acknowledged).toBeGreaterThan(10);
    expect(lines[1]).toBe(
      `checks passed: cdk-nag AwsSolutions, template size, CloudFormation's own validation; ${acknowledged} findings acknowledged, each with its reason (cdk.out/*.metadata.json)`,
    );
  });
});

describe('the CDK entry (bin/app.ts)', () => {
  test('an invalid project file: its problems without a stack trace, and exit code 2 as in batcat', () => {
    const dir = tempDir('batcat-entry-');
    fs.mkdirSync(path.join(dir, 'projects'));
    fs.writeFileSync(path.join(dir, 'projects', 'demo.yaml'), 'project: demo\npurpses: []\n');
    const r = spawnSync(process.execPath, [path.join(CLI_BUNDLE_DIR, 'cdk-app.js')], { cwd: dir, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      "batcat: invalid project file projects/demo.yaml: 1 problem:\n  projects/demo.yaml:2:1: purpses: unknown key 'purpses'; did you mean 'purposes'?\n",
    );
  });
});

describe('destroy and deploy again, keeping the data: the retained-only synth for cdk import', () => {
  const full = exampleOnce();
  const outdir = tempDir('batcat-retained-');
  const { app } = createBatCatApp({
    rootDir: REPO_ROOT,
    outdir,
    context: { ...TEST_CONTEXT, [IMPORT_RETAINED_CONTEXT]: 'true' },
    analyticsReporting: false,
  });
  const retained = app.synth().getStackByName('batcat-2022-rnd-battery-dev').template;
  const fullTemplate = full.assembly.getStackByName('batcat-2022-rnd-battery-dev').template;

  test('holds exactly the retained resources of the full stack, under the same logical IDs and with the same properties', () => {
    const kept = Object.entries<any>(fullTemplate.Resources).filter(([, r]) => r.DeletionPolicy === 'Retain');
    expect(kept.map(([, r]) => r.Type).sort()).toEqual(['AWS::DynamoDB::Table', 'AWS::KMS::Key', ...Array(5).fill('AWS::S3::Bucket')]);
    expect(retained.Resources).toEqual(Object.fromEntries(kept));
    expect(retained.Outputs).toBeUndefined();
    expect(fs.readdirSync(outdir).filter((f) => f.endsWith('.nested.template.json'))).toEqual([]);
  });

  test('refers to nothing it does not hold', () => {
    const refs = [...JSON.stringify(retained.Resources).matchAll(/\{"(?:Ref|Fn::GetAtt)":(?:"([^"]+)"|\["([^"]+)")/g)].map(
      (m) => m[1] ?? m[2],
    );
    for (const ref of refs) expect([ref, ref.startsWith('AWS::') || ref in retained.Resources]).toEqual([ref, true]);
  });
});
