import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadProjects } from '../config/load-project';
import { ProjectStack } from './project-stack';

/** Properties of createBatCatApp. */
export interface BatCatAppProps extends AppProps {
  /** The folder holding `projects/` and `containers/`. */
  readonly rootDir: string;
}

/**
 * The BatCat app: one ProjectStack per `projects/*.yaml`, checked by cdk-nag's AwsSolutions
 * pack and the built-in CloudFormation validation at every synth.
 */
export function createBatCatApp(props: BatCatAppProps): { app: App; stacks: ProjectStack[] } {
  const { rootDir, ...appProps } = props;
  const projects = loadProjects(rootDir);
  const app = new App(appProps);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stacks = projects.map((config) => new ProjectStack(app, config.stackName, { config }));
  return { app, stacks };
}
