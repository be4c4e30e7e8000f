import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A package a purpose's image brings, at a version: pinned in requirements.txt, or the framework's own. */
export interface Requirement {
  readonly name: string;
  /** `==1.26.4` pins exactly; a framework's `1.2` means any 1.2.x. */
  readonly version?: string;
  readonly exact: boolean;
  /** Where the requirement comes from, for messages: `containers/x/requirements.txt` or `framework sklearn:1.2-1`. */
  readonly from: string;
}

/** The packages of a requirements file (`name==version` pins exactly; other lines name the package only). */
export function readRequirements(file: string, shown = file): Requirement[] {
  const out: Requirement[] = [];
  for (const raw of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
    const line = raw.replace(/\s+#.*$/, '').trim();
    if (line === '' || line.startsWith('#') || line.startsWith('-')) continue;
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*(==|~=|>=|<=|!=|>|<)?\s*([^;,\s]+)?/.exec(line);
    if (!m) continue;
    out.push({ name: m[1], version: m[2] === '==' ? m[3] : undefined, exact: m[2] === '==', from: shown });
  }
  return out;
}

/** The installed version of each package in `python`, or null where it is missing; undefined if python cannot run. */
export function installedVersions(python: string, names: readonly string[]): Record<string, string | null> | undefined {
  const probe = [
    'import json, sys',
    'from importlib import metadata',
    'out = {}',
    'for n in sys.argv[1:]:',
    '    try: out[n] = metadata.version(n)',
    '    except metadata.PackageNotFoundError: out[n] = None',
    'print(json.dumps(out))',
  ].join('\n');
  const r = spawnSync(python, ['-c', probe, ...names], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as Record<string, string | null>;
  } catch {
    return undefined;
  }
}

/** `numpy==1.26.4 (containers/x/requirements.txt): python3 has 1.24.0`, one per requirement the interpreter does not meet. */
export function unmetRequirements(requirements: readonly Requirement[], installed: Record<string, string | null>): string[] {
  const out: string[] = [];
  for (const r of requirements) {
    const have = installed[r.name];
    const wanted = r.version === undefined ? r.name : r.exact ? `${r.name}==${r.version}` : `${r.name} ${r.version}.x`;
    if (have === null || have === undefined) out.push(`${wanted} (${r.from}) is not installed`);
    else if (r.version !== undefined && (r.exact ? have !== r.version : have !== r.version && !have.startsWith(`${r.version}.`)))
      out.push(`${wanted} (${r.from}): ${have} is installed`);
  }
  return out;
}

/** What a purpose's image brings: its container folder's requirements.txt, the source folder's, and the framework's package. */
export function imageRequirements(
  purpose: {
    readonly sourceDir?: string;
    readonly framework?: { readonly name: string; readonly package: string; readonly packageVersion: string };
  },
  containerRequirements: string | undefined,
  rootDir: string,
): Requirement[] {
  const out: Requirement[] = [];
  const shown = (f: string) => path.relative(rootDir, f);
  if (containerRequirements) out.push(...readRequirements(containerRequirements, shown(containerRequirements)));
  const source = purpose.sourceDir && path.join(purpose.sourceDir, 'requirements.txt');
  if (source && fs.existsSync(source)) out.push(...readRequirements(source, shown(source)));
  const f = purpose.framework;
  if (f) out.push({ name: f.package, version: f.packageVersion, exact: false, from: `framework ${f.name}` });
  return out;
}

/** `python3 -m pip install -r containers/x/requirements.txt 'scikit-learn==1.2.*'`. */
export function installCommand(python: string, requirements: readonly Requirement[]): string {
  const files = [...new Set(requirements.filter((r) => r.from.endsWith('.txt')).map((r) => `-r ${r.from}`))];
  const frameworks = requirements.filter((r) => r.from.startsWith('framework ')).map((r) => `'${r.name}==${r.version}.*'`);
  return `${python} -m pip install ${[...files, ...frameworks].join(' ')}`;
}
