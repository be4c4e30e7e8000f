import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadProject, ProjectConfigError } from '../../lib/config/load-project';
import { tempDir } from '../helpers';

/**
 * The problems loading `projects/demo.yaml` with `yaml` reports (and any other `files`), one a
 * line, each as `line L:C: field: message`; empty when it loads.
 */
export function projectProblems(yaml: string, files: Record<string, string> = { 'scripts/usage.py': 'print(1)\n' }): string[] {
  const dir = tempDir('batcat-problems-');
  for (const [rel, text] of Object.entries({ 'projects/demo.yaml': yaml, ...files })) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  try {
    loadProject(path.join(dir, 'projects', 'demo.yaml'), dir);
    return [];
  } catch (e) {
    if (!(e instanceof ProjectConfigError)) throw e;
    return e.message
      .split('\n')
      .slice(1)
      .map((l) => l.trim().replace(/^.*demo\.yaml:/, 'line '));
  }
}
