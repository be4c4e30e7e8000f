import * as fs from 'node:fs';
import * as path from 'node:path';
import { Stack, Validations } from 'aws-cdk-lib';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ProjectStack } from '../../lib/app/project-stack';
import { loadProject } from '../../lib/config/load-project';
import { everyTemplate, synthOnce, tempDir, testApp } from '../helpers';

/**
 * `projects/demo.yaml` (and any other `files`, by relative path) in a new folder, loaded and
 * synthesized once as `cdk synth` does: cdk-nag and (unless `validate` is false) the built-in validation;
 * with `guard`, cfn-guard with the Control Tower controls over every template as well; `stage` stands in for the file's.
 */
export function synthesizedProject(
  yaml: string,
  files: Record<string, string> = {},
  options: { validate?: boolean; guard?: boolean; stage?: string } = {},
) {
  const dir = tempDir('batcat-project-');
  for (const [rel, text] of Object.entries({ 'projects/demo.yaml': yaml, ...files })) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  const config = loadProject(path.join(dir, 'projects', 'demo.yaml'), dir, options.stage);
  const app = testApp({ validate: options.validate ?? true });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), ...(options.guard ? [everyTemplate(new CfnGuardValidator())] : []));
  const stack = new ProjectStack(app, 'Demo', { config });
  const synth = synthOnce(app);
  return {
    synth,
    stack,
    config,
    parent: synth.templateOf(stack),
    nestedOf: (purpose: string) => synth.templateOf(Stack.of(stack.purposes[purpose])),
  };
}
