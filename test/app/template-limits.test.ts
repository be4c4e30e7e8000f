import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnResource, CfnWaitConditionHandle, NestedStack, Stack, Validations } from 'aws-cdk-lib';
import { CFN_TEMPLATE_LIMITS, TemplateLimits, templatesOf } from '../../lib/app/template-limits';
import { testApp } from '../helpers';

/*
 * CloudFormation rejects a template over 1,000,000 bytes or 500 resources; CDK only warns, so
 * synth must fail, for nested templates as well as the parent.
 */

function synthWith(build: (stack: Stack) => void) {
  const app = testApp();
  Validations.of(app).addPlugins(new TemplateLimits());
  const stack = new Stack(app, 'Big');
  build(stack);
  let error: unknown;
  try {
    app.synth();
  } catch (e) {
    error = e;
  }
  const reportFile = path.join(app.outdir, 'validation-report.json');
  const report = fs.existsSync(reportFile) ? JSON.parse(fs.readFileSync(reportFile, 'utf8')) : { pluginReports: [] };
  const violations = report.pluginReports.flatMap((p: any) => p.violations).filter((v: any) => v.ruleName.startsWith('BatCat-'));
  return { error, violations, outdir: app.outdir };
}

describe('TemplateLimits', () => {
  test('fails synth for a nested template over 1,000,000 bytes, naming the template, its size and what to do', () => {
    const { error, violations } = synthWith((stack) => {
      const nested = new NestedStack(stack, 'Inner');
      new CfnResource(nested, 'Large', { type: 'AWS::CloudFormation::WaitConditionHandle' }).addMetadata('padding', 'x'.repeat(1_000_001));
    });
    expect(error).toBeDefined();
    expect(violations).toHaveLength(1);
    expect(violations[0].ruleName).toBe('BatCat-TemplateSize');
    expect(violations[0].description).toMatch(
      /^template BigInner\w+\.nested\.template\.json is 1000\d{3} bytes; CloudFormation rejects a template over 1000000 bytes$/,
    );
    expect(violations[0].suggestedFix).toMatch(/split the project into two project files/);
  });

  test('a template of more than 500 resources fails synth already (CDK checks the count, nested stacks included)', () => {
    const { error } = synthWith((stack) => {
      const nested = new NestedStack(stack, 'Inner');
      for (let i = 0; i <= CFN_TEMPLATE_LIMITS.maxResources; i++) new CfnWaitConditionHandle(nested, `Handle${i}`);
    });
    expect(String(error)).toMatch(/Number of resources in stack 'Big\/Inner': 501 is greater than allowed maximum of 500/);
  });

  test('passes templates within the limits, and finds nested templates of nested templates', () => {
    const { error, violations, outdir } = synthWith((stack) => {
      new CfnWaitConditionHandle(new NestedStack(new NestedStack(stack, 'Outer'), 'Inner'), 'Handle');
    });
    expect(error).toBeUndefined();
    expect(violations).toEqual([]);
    expect(templatesOf(path.join(outdir, 'Big.template.json')).map((t) => [t.file.replace(/[0-9A-F]{8}\./, '.'), t.resources])).toEqual([
      ['Big.template.json', 1],
      ['BigOuter.nested.template.json', 1],
      ['BigOuterInner.nested.template.json', 1],
    ]);
  });
});
