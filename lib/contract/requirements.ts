/*
 * The packages a purpose's image brings (its requirements files and its framework), as a run
 * manifest records them and as run-local and `batcat doctor --run` compare them with a local
 * interpreter.
 */

/** A package a purpose's image brings, at a version: pinned in requirements.txt, or the framework's own. */
export interface Requirement {
  readonly name: string;
  /** `==1.26.4` pins exactly; a framework's `1.2` means any 1.2.x. */
  readonly version?: string;
  readonly exact: boolean;
  /** Where the requirement comes from, for messages: `containers/x/requirements.txt` or `framework sklearn:1.2-1`. */
  readonly from: string;
  /** The `--hash=sha256:...` values the line gives, as pip checks them when it installs. */
  readonly hashes?: readonly string[];
}

/** The packages of a requirements file's text (`name==version` pins exactly; other lines name the package only). */
export function parseRequirements(text: string, from: string): Requirement[] {
  const out: Requirement[] = [];
  // A line ending with a backslash goes on on the next one (pip writes hashes that way).
  for (const raw of text.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
    const line = raw.replace(/(^|\s+)#.*$/, '').trim();
    if (line === '' || line.startsWith('-')) continue;
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*(==|~=|>=|<=|!=|>|<)?\s*([^;,\s]+)?/.exec(line);
    if (!m) continue;
    const hashes = [...line.matchAll(/--hash[=\s]+(\S+)/g)].map((h) => h[1]);
    out.push({
      name: m[1],
      version: m[2] === '==' ? m[3] : undefined,
      exact: m[2] === '==',
      from,
      ...(hashes.length > 0 ? { hashes } : {}),
    });
  }
  return out;
}

/** `numpy==1.26.4`, `scikit-learn 1.2.x` or `scipy`: what a requirement asks for. */
export function wantedText(r: Requirement): string {
  return r.version === undefined ? r.name : r.exact ? `${r.name}==${r.version}` : `${r.name} ${r.version}.x`;
}

/** Why the interpreter does not meet `r` (`numpy==1.26.4 (containers/x/requirements.txt): 1.24.0 is installed`), or undefined if it does. */
export function unmetRequirement(r: Requirement, installed: Record<string, string | null>): string | undefined {
  const have = installed[r.name];
  if (have === null || have === undefined) return `${wantedText(r)} (${r.from}) is not installed`;
  if (r.version !== undefined && (r.exact ? have !== r.version : have !== r.version && !have.startsWith(`${r.version}.`)))
    return `${wantedText(r)} (${r.from}): ${have} is installed`;
  return undefined;
}

/** One line per requirement the interpreter does not meet (see unmetRequirement). */
export function unmetRequirements(requirements: readonly Requirement[], installed: Record<string, string | null>): string[] {
  return requirements.flatMap((r) => unmetRequirement(r, installed) ?? []);
}

/** `python3 -m pip install -r containers/x/requirements.txt 'scikit-learn==1.2.*'`. */
export function installCommand(python: string, requirements: readonly Requirement[]): string {
  const files = [...new Set(requirements.filter((r) => r.from.endsWith('.txt')).map((r) => `-r ${r.from}`))];
  const frameworks = requirements.filter((r) => r.from.startsWith('framework ')).map((r) => `'${r.name}==${r.version}.*'`);
  return `${python} -m pip install ${[...files, ...frameworks].join(' ')}`;
}
