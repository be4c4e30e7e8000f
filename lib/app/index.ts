/*
 * `batcat-cdk/app`: the BatCat app built from project files, for a repository made by
 * `batcat init` and for teams that build project stacks themselves. It loads what the
 * constructs do plus the project-file loader (zod, yaml) and the checks (cdk-nag).
 */

export { createBatCatApp, IMPORT_RETAINED_CONTEXT, type BatCatAppProps } from './batcat-app';
export { ProjectStack, type ProjectStackProps } from './project-stack';
export { PurposeStack, type PurposeStackProps } from './purpose-stack';
export {
  defineProject,
  loadProject,
  ProjectConfigError,
  type ProjectConfig,
  type ProjectDefinition,
  type PurposeConfig,
} from '../config/load-project';
