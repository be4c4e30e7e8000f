import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadProject, type ProjectConfig, type PurposeConfig } from '../config/load-project';
import { purposeStateMachineName, triggerFunctionName } from '../contract/names';

/** A command-line mistake: printed as is, with exit code 2 and nothing done. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A purpose of a project file, with the names of its deployed resources. */
export interface PurposeContext {
  readonly project: ProjectConfig;
  readonly purpose: PurposeConfig;
  readonly stateMachineName: string;
  readonly triggerFunctionName: string;
}

/** Reads and validates `<rootDir>/projects/<project>.yaml`; `stage` stands in for the file's. */
export function projectContext(rootDir: string, projectName: string, stage?: string): ProjectConfig {
  const file = path.join(rootDir, 'projects', `${projectName}.yaml`);
  if (!fs.existsSync(file)) {
    const dir = path.join(rootDir, 'projects');
    const known = fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter((f) => /\.ya?ml$/.test(f))
          .map((f) => f.replace(/\.ya?ml$/, ''))
      : [];
    throw new UsageError(
      `no project '${projectName}': ${file} does not exist${known.length > 0 ? `; projects here: ${known.join(', ')}` : '; run batcat in the folder that holds projects/'}`,
    );
  }
  return loadProject(file, rootDir, stage);
}

/** Reads `<rootDir>/projects/<project>.yaml` and finds `purpose` in it. */
export function purposeContext(rootDir: string, projectName: string, purposeName: string, stage?: string): PurposeContext {
  const project = projectContext(rootDir, projectName, stage);
  const purpose = project.purposes.find((p) => p.name === purposeName);
  if (!purpose) {
    throw new UsageError(
      `project '${project.project}' has no purpose '${purposeName}'; its purposes: ${project.purposes.map((p) => p.name).join(', ')}`,
    );
  }
  const stateMachineName = purposeStateMachineName(project.stackName, purpose.name);
  return { project, purpose, stateMachineName, triggerFunctionName: triggerFunctionName(stateMachineName) };
}
