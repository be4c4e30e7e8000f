import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadProjects } from '../config/load-project';
import { ProjectStack } from './project-stack';
import { TemplateLimits } from './template-limits';

/** Properties of createBatCatApp. */
export interface BatCatAppProps extends AppProps {
  /** The folder holding `projects/` and `containers/`. */
  readonly rootDir: string;
}

/** The context key (`cdk import -c batcat:import-retained=true`) that synthesizes only what a destroyed stage kept. */
export const IMPORT_RETAINED_CONTEXT = 'batcat:import-retained';

/**
 * The BatCat app: one ProjectStack per `projects/*.yaml`, checked at every synth by cdk-nag's
 * AwsSolutions pack, the built-in CloudFormation validation and CloudFormation's template
 * quotas. `checks` names them, for the synth summary; `warnings` are the project files' (see ProjectConfig).
 */
export function createBatCatApp(props: BatCatAppProps): { app: App; stacks: ProjectStack[]; checks: string[]; warnings: string[] } {
  const { rootDir, ...appProps } = props;
  const projects = loadProjects(rootDir);
  const app = new App(appProps);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new TemplateLimits());
  const retainedOnly = String(app.node.tryGetContext(IMPORT_RETAINED_CONTEXT)) === 'true';
  const stacks = projects.map((config) => new ProjectStack(app, config.stackName, { config, retainedOnly }));
  const checks = [
    'cdk-nag AwsSolutions',
    'template size',
    ...(props.builtinCloudFormationValidation !== false ? ["CloudFormation's own validation"] : []),
  ];
  return { app, stacks, checks, warnings: projects.flatMap((p) => [...p.warnings]) };
}
