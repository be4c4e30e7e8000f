import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { createBatCatApp } from '../../lib/app/batcat-app';
import { REPO_ROOT, TEST_CONTEXT, tempDir } from '../helpers';

/*
 * cfn-guard with the AWS Control Tower proactive controls, as an independent check of the
 * example project's templates. It runs here rather than at every synth (it adds seconds).
 * The controls the buckets deliberately do not meet are acknowledged in ProjectData, each
 * with its reason.
 */
test('the Control Tower controls find nothing that is not acknowledged', () => {
  const outdir = tempDir('batcat-guard-');
  const { app, stacks } = createBatCatApp({ rootDir: REPO_ROOT, outdir, context: TEST_CONTEXT, analyticsReporting: false });
  Validations.of(app).addPlugins(new CfnGuardValidator());
  app.synth();
  const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
  expect(report.pluginReports.flatMap((p: any) => p.violations)).toEqual([]);

  // These, and only these, are acknowledged.
  const acknowledged = stacks[0].node
    .findAll()
    .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY).map((m) => [c.node.path, m.data]))
    .flatMap(([p, data]: any) =>
      Object.keys(data)
        .filter((id) => id.startsWith('cdk-validator-cfnguard::'))
        .map((id) => `${p.replace(/^batcat-2022-rnd-battery-dev\//, '')} ${id.replace(/^cdk-validator-cfnguard::/, '')}`),
    );
  expect(acknowledged.sort()).toEqual([
    'Data/AccessLogs s3_bucket_default_encryption_kms_check',
    'Data/AccessLogs s3_bucket_logging_enabled_check',
    'Data/AccessLogs s3_bucket_object_lock_enabled_check',
    'Data/AccessLogs s3_event_notifications_enabled_check',
    'Data/Bucket s3_bucket_object_lock_enabled_check',
  ]);
});

test('the guard is live: a bucket without the acknowledgements is reported', () => {
  const outdir = tempDir('batcat-guard-');
  const { app, stacks } = createBatCatApp({ rootDir: REPO_ROOT, outdir, context: TEST_CONTEXT, analyticsReporting: false });
  Validations.of(app).addPlugins(new CfnGuardValidator());
  new s3.Bucket(stacks[0], 'Canary', { enforceSSL: true, serverAccessLogsBucket: stacks[0].data.accessLogsBucket });
  const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    app.synth();
  } catch {
    // whether the report also fails the synth is the plugin's choice; the report is what counts
  } finally {
    error.mockRestore();
  }
  const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
  const findings = report.pluginReports.flatMap((p: any) =>
    p.violations.flatMap((v: any) => v.violatingConstructs.map((c: any) => `${v.ruleName} ${c.constructPath}`)),
  );
  expect(findings).toContain('s3_bucket_object_lock_enabled_check batcat-2022-rnd-battery-dev/Canary/Resource');
  expect(findings.filter((f: string) => !f.includes('/Canary/'))).toEqual([]);
});
