import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { NestedStack, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { everyTemplate, testApp } from '../helpers';

/*
 * cfn-guard with the AWS Control Tower proactive controls checks the example project in
 * batcat-app.test.ts, over every template (test/helpers.ts everyTemplate). This proves the guard
 * is live there: it reports a bucket that lacks what the project's buckets acknowledge, in a
 * nested stack too, which the plugin by itself never sees.
 */
function guardFindings(nested: boolean, plugin = everyTemplate(new CfnGuardValidator())): string[] {
  const app = testApp();
  Validations.of(app).addPlugins(plugin);
  const stack = new Stack(app, 'Guarded');
  new s3.Bucket(nested ? new NestedStack(stack, 'Inner') : stack, 'Canary', { enforceSSL: true });
  const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    app.synth();
  } catch {
    // whether the report also fails the synth is the plugin's choice; the report is what counts
  } finally {
    error.mockRestore();
  }
  const reportFile = path.join(app.outdir, 'validation-report.json');
  if (!fs.existsSync(reportFile)) return [];
  return JSON.parse(fs.readFileSync(reportFile, 'utf8')).pluginReports.flatMap((p: any) =>
    p.violations.flatMap((v: any) => v.violatingConstructs.map((c: any) => `${v.ruleName} ${c.constructPath}`)),
  );
}

test('the guard is live: a bucket without the acknowledgements is reported', () => {
  expect(guardFindings(false)).toContain('s3_bucket_object_lock_enabled_check Guarded/Canary/Resource');
});

test('the guard reads nested templates too, which the plugin alone does not', () => {
  expect(guardFindings(true)).toContain('s3_bucket_object_lock_enabled_check Guarded/Inner/Canary/Resource');
  expect(guardFindings(true, new CfnGuardValidator())).not.toContain('s3_bucket_object_lock_enabled_check Guarded/Inner/Canary/Resource');
});
