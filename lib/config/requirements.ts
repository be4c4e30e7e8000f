import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseRequirements, type Requirement } from '../contract/requirements';

/** The packages of a requirements file; `shown` names it in messages. */
export function readRequirements(file: string, shown = file): Requirement[] {
  return parseRequirements(fs.readFileSync(file, 'utf8'), shown);
}

/** What a purpose's image brings: its container folder's requirements.txt, the source folder's, and the framework's package. */
export function imageRequirements(
  purpose: {
    readonly containerDir?: string;
    readonly sourceDir?: string;
    readonly framework?: { readonly name: string; readonly package: string; readonly packageVersion: string };
  },
  rootDir: string,
): Requirement[] {
  const out: Requirement[] = [];
  const shown = (f: string) => path.relative(rootDir, f);
  for (const dir of [purpose.containerDir, purpose.sourceDir]) {
    const file = dir && path.join(dir, 'requirements.txt');
    if (file && fs.existsSync(file)) out.push(...readRequirements(file, shown(file)));
  }
  const f = purpose.framework;
  if (f) out.push({ name: f.package, version: f.packageVersion, exact: false, from: `framework ${f.name}` });
  return out;
}
