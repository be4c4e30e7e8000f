import { spawnSync } from 'node:child_process';
import { LocalRunError } from './container-spec';

/** What runs a purpose's container locally. */
export type EngineKind = 'docker' | 'podman' | 'namespace';

/** A container engine that answers, or a Linux mount namespace where `/opt/ml` is the run's folder. */
export interface Engine {
  readonly kind: EngineKind;
  /** How it is described once at the start of a run. */
  readonly description: string;
}

const answers = (command: string, args: string[]) => {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

/**
 * The engine a local run uses: `wanted`, or the first that works of a Docker-compatible engine
 * (docker, then podman) and, on Linux, a private mount namespace (`unshare -Urm`).
 */
export function detectEngine(wanted?: EngineKind): Engine {
  for (const kind of ['docker', 'podman'] as const) {
    if (wanted !== undefined && wanted !== kind) continue;
    const version = answers(kind, ['version', '--format', '{{.Server.Version}}']);
    if (version) return { kind, description: `${kind} ${version}: the purpose's image, with /opt/ml mounted from the run's folder` };
    if (wanted === kind) throw new LocalRunError(`--engine ${kind}: '${kind}' does not answer (is its daemon or machine running?)`);
  }
  if (wanted === undefined || wanted === 'namespace') {
    if (process.platform === 'linux' && answers('unshare', ['-Urm', 'true']) !== undefined) {
      return {
        kind: 'namespace',
        description: "a private mount namespace (unshare): the host's Python, with /opt/ml bind-mounted from the run's folder",
      };
    }
    if (wanted === 'namespace') {
      throw new LocalRunError(
        `--engine namespace needs Linux with unprivileged user namespaces ('unshare -Urm true' must work; it is in util-linux)`,
      );
    }
  }
  throw new LocalRunError(
    `no way to run the container here: neither 'docker' nor 'podman' answers, and ${
      process.platform === 'linux'
        ? "'unshare -Urm true' fails (user namespaces are off)"
        : `a mount namespace needs Linux (this is ${process.platform})`
    }. Install Docker Desktop, Podman or Colima (or, on Linux, allow user namespaces: sysctl kernel.unprivileged_userns_clone=1), then run again`,
  );
}

/** What a container run needs: SageMaker's view of one instance. */
export interface InstanceRun {
  /** The instance's `/opt/ml`, on this machine. */
  readonly root: string;
  /** `algo-1`, `algo-2`... */
  readonly host: string;
  readonly image: string;
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly networkIsolation: boolean;
  /** The container's name. */
  readonly name: string;
}

/**
 * `docker run` (or podman) as SageMaker starts the container: `/opt/ml` from the instance's
 * folder, the job's environment, no network under isolation, the entrypoint and arguments of
 * the job (the first word as `--entrypoint`, the rest as the command, which replaces CMD).
 */
export function containerRunArgs(run: InstanceRun): string[] {
  const args = ['run', '--rm', '--name', run.name, '--hostname', run.host, '--platform', 'linux/amd64'];
  if (run.networkIsolation) args.push('--network', 'none');
  args.push('-v', `${run.root}:/opt/ml`);
  for (const [k, v] of Object.entries(run.env)) args.push('-e', `${k}=${v}`);
  if (run.command.length > 0) args.push('--entrypoint', run.command[0]);
  args.push(run.image, ...run.command.slice(1));
  return args;
}

/**
 * Runs inside `unshare -Urm`: keeps the host's /opt reachable, puts a fresh /opt over it with
 * the host's entries bound back, binds the instance's folder at /opt/ml and the working copy
 * at the image's WORKDIR (when it is under /opt), then starts the command there.
 */
export const NAMESPACE_SETUP = `set -e
root="$1"; work="$2"; workdir="$3"; hold="$4"; shift 4
mount --make-rprivate /
if [ -d /opt ]; then
  mount --rbind /opt "$hold"
  mount -t tmpfs batcat-opt /opt
  for entry in "$hold"/* "$hold"/.[!.]*; do
    [ -e "$entry" ] || continue
    name="\${entry##*/}"
    if [ -d "$entry" ]; then mkdir -p "/opt/$name"; else : > "/opt/$name"; fi
    mount --rbind "$entry" "/opt/$name"
  done
else
  echo "batcat: this machine has no /opt to mount /opt/ml under" >&2; exit 125
fi
mkdir -p /opt/ml
mount --bind "$root" /opt/ml
case "$workdir" in
  /opt/ml|/opt/ml/*) mkdir -p "$workdir"; cd "$workdir" ;;
  /opt/*) mkdir -p "$workdir"; mount --bind "$work" "$workdir"; cd "$workdir" ;;
  *) cd "$work" ;;
esac
exec "$@"`;

/** `unshare -Urm sh -c <setup> ...`: the command line of a namespace run. */
export function namespaceArgs(o: {
  readonly root: string;
  readonly work: string;
  readonly workdir?: string;
  readonly hold: string;
  readonly command: readonly string[];
}): string[] {
  return ['-Urm', 'sh', '-c', NAMESPACE_SETUP, 'batcat-namespace', o.root, o.work, o.workdir ?? '', o.hold, ...o.command];
}
