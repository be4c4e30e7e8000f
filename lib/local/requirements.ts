import { spawnSync } from 'node:child_process';

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
