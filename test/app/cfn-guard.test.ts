import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { testApp } from '../helpers';

/*
 * cfn-guard with the AWS Control Tower proactive controls checks the example project in
 * batcat-app.test.ts. This proves the guard is live there: the same plugin reports a bucket
 * that lacks what the project's buckets acknowledge.
 */
test('the guard is live: a bucket without the acknowledgements is reported', () => {
  const app = testApp();
  Validations.of(app).addPlugins(new CfnGuardValidator());
  const stack = new Stack(app, 'Guarded');
  new s3.Bucket(stack, 'Canary', { enforceSSL: true });
  const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    app.synth();
  } catch {
    // whether the report also fails the synth is the plugin's choice; the report is what counts
  } finally {
    error.mockRestore();
  }
  const report = JSON.parse(fs.readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8'));
  const findings = report.pluginReports.flatMap((p: any) =>
    p.violations.flatMap((v: any) => v.violatingConstructs.map((c: any) => `${v.ruleName} ${c.constructPath}`)),
  );
  expect(findings).toContain('s3_bucket_object_lock_enabled_check Guarded/Canary/Resource');
});
