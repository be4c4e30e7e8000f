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

/**
 * The BatCat app: one ProjectStack per `projects/*.yaml`, checked at every synth by cdk-nag's
 * AwsSolutions pack, the built-in CloudFormation validation and CloudFormation's template
 * quotas. `checks` names them, for the synth summary.
 */
export function createBatCatApp(props: BatCatAppProps): { app: App; stacks: ProjectStack[]; checks: string[] } {
  const { rootDir, ...appProps } = props;
  const projects = loadProjects(rootDir);
  const app = new App(appProps);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new TemplateLimits());
  const stacks = projects.map((config) => new ProjectStack(app, config.stackName, { config }));
  const checks = [
    'cdk-nag AwsSolutions',
    'template size',
    ...(props.builtinCloudFormationValidation !== false ? ["CloudFormation's own validation"] : []),
  ];
  return { app, stacks, checks };
}
