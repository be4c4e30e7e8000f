import * as fs from 'node:fs';
import * as path from 'node:path';

/** Thrown for a purpose that cannot run here at all (no runnable entrypoint, Pipe mode, no engine...). */
export class LocalRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalRunError';
  }
}

/** What a purpose's Dockerfile tells a local run: how the image starts, its environment and working directory. */
export interface ContainerSpec {
  readonly dockerfile: string;
  /** ENTRYPOINT, in exec form (a shell form becomes `/bin/sh -c ...`, as Docker runs it). */
  readonly entrypoint: readonly string[];
  /** CMD: the arguments when the job gives none. */
  readonly cmd: readonly string[];
  /** ENV, in order. */
  readonly env: Readonly<Record<string, string>>;
  /** The last WORKDIR, if any. */
  readonly workdir?: string;
  /** requirements.txt next to the Dockerfile, if there is one. */
  readonly requirements?: string;
}

/** The instructions of a Dockerfile, with continuation lines joined and comments dropped. */
function instructions(text: string): Array<{ op: string; arg: string }> {
  const joined = text.replace(/\\\r?\n/g, ' ');
  return joined
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\S+)\s*(.*)$/.exec(l)!;
      return { op: m[1].toUpperCase(), arg: m[2].trim() };
    });
}

/** An ENTRYPOINT or CMD argument: exec form (JSON) or shell form. */
function command(arg: string): string[] {
  if (arg.startsWith('[')) {
    try {
      const v: unknown = JSON.parse(arg);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
    } catch {
      // Docker runs a malformed exec form as a shell command too.
    }
  }
  return ['/bin/sh', '-c', arg];
}

/** `ENV A=1 B="two words"` or the legacy `ENV A 1`. */
function envPairs(arg: string): Array<[string, string]> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(arg)) {
    const m = /^(\S+)\s+(.*)$/.exec(arg);
    return m ? [[m[1], m[2]]] : [];
  }
  const out: Array<[string, string]> = [];
  for (const m of arg.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
    const raw = m[2];
    out.push([m[1], raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw.startsWith("'") ? raw.slice(1, -1) : raw]);
  }
  return out;
}

/** Reads `<containerDir>/Dockerfile` (only its last stage counts, as in a multi-stage build). */
export function readContainerSpec(containerDir: string): ContainerSpec {
  const dockerfile = path.join(containerDir, 'Dockerfile');
  if (!fs.existsSync(dockerfile)) throw new LocalRunError(`${dockerfile} does not exist`);
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  let env: Record<string, string> = {};
  let workdir: string | undefined;
  for (const { op, arg } of instructions(fs.readFileSync(dockerfile, 'utf8'))) {
    if (op === 'FROM') {
      entrypoint = [];
      cmd = [];
      env = {};
      workdir = undefined;
    } else if (op === 'ENTRYPOINT') {
      entrypoint = command(arg);
      cmd = []; // Docker drops an inherited CMD when ENTRYPOINT is set.
    } else if (op === 'CMD') {
      cmd = command(arg);
    } else if (op === 'ENV') {
      for (const [k, v] of envPairs(arg)) env[k] = v.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, n: string) => env[n] ?? '');
    } else if (op === 'WORKDIR') {
      workdir = path.posix.resolve(workdir ?? '/', arg);
    }
  }
  const requirements = path.join(containerDir, 'requirements.txt');
  return { dockerfile, entrypoint, cmd, env, workdir, requirements: fs.existsSync(requirements) ? requirements : undefined };
}

/**
 * The command the container starts, as SageMaker composes it: `ContainerEntrypoint` replaces
 * ENTRYPOINT (and drops CMD), `ContainerArguments` replace CMD.
 */
export function containerCommand(
  spec: Pick<ContainerSpec, 'entrypoint' | 'cmd'> | undefined,
  entrypoint: readonly string[] | undefined,
  args: readonly string[] | undefined,
): string[] {
  const ep = entrypoint ?? spec?.entrypoint ?? [];
  const rest = args ?? (entrypoint !== undefined ? [] : (spec?.cmd ?? []));
  return [...ep, ...rest];
}
