import { spawnSync } from 'node:child_process';
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
 * The context key for the commit recorded in run manifests (`-c batcat:git-commit=<sha>`); an
 * empty value records none. Without it: BATCAT_GIT_COMMIT, else the project folder's git HEAD.
 */
export const GIT_COMMIT_CONTEXT = 'batcat:git-commit';

/** The commit of the project's code: the context, the environment, or `git rev-parse HEAD`, if any. */
function gitCommitOf(app: App, rootDir: string): string | undefined {
  const given = app.node.tryGetContext(GIT_COMMIT_CONTEXT) ?? process.env.BATCAT_GIT_COMMIT;
  if (given !== undefined) return String(given) === '' ? undefined : String(given);
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: rootDir, encoding: 'utf8', timeout: 5000 });
  return head.status === 0 && /^[0-9a-f]{40}$/.test(head.stdout.trim()) ? head.stdout.trim() : undefined;
}

/** The context key (`cdk synth -c batcat:stage=feat1`) for the stage to synthesize instead of the project files'; BATCAT_STAGE does the same. */
export const STAGE_CONTEXT = 'batcat:stage';

/**
 * The BatCat app: one ProjectStack per `projects/*.yaml`, checked at every synth by cdk-nag's
 * AwsSolutions pack, the built-in CloudFormation validation and CloudFormation's template
 * quotas. `checks` names them, for the synth summary; `warnings` are the project files' (see ProjectConfig).
 */
export function createBatCatApp(props: BatCatAppProps): { app: App; stacks: ProjectStack[]; checks: string[]; warnings: string[] } {
  const { rootDir, ...appProps } = props;
  const app = new App(appProps);
  const stage = app.node.tryGetContext(STAGE_CONTEXT) ?? (process.env.BATCAT_STAGE || undefined);
  const projects = loadProjects(rootDir, stage === undefined ? undefined : String(stage));
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new TemplateLimits());
  const retainedOnly = String(app.node.tryGetContext(IMPORT_RETAINED_CONTEXT)) === 'true';
  const gitCommit = gitCommitOf(app, rootDir);
  const stacks = projects.map((config) => new ProjectStack(app, config.stackName, { config, retainedOnly, gitCommit }));
  const checks = [
    'cdk-nag AwsSolutions',
    'template size',
    ...(props.builtinCloudFormationValidation !== false ? ["CloudFormation's own validation"] : []),
  ];
  return { app, stacks, checks, warnings: projects.flatMap((p) => [...p.warnings]) };
}
