/*
 * One CreateProcessingJob request, carried out on this machine as SageMaker would: each
 * instance gets its own /opt/ml with the inputs at their local paths (sharded inputs split
 * between the instances), /opt/ml/config/resourceconfig.json and processingjobconfig.json, the
 * job's environment, entrypoint and arguments; whatever it leaves in the outputs' local paths is
 * uploaded (copied to data/).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProjectConfig, PurposeConfig } from '../config/load-project';
import { frameworkImageUri } from '../contract/frameworks';
import { CODE_INPUT_NAME } from '../contract/processing';
import { parseS3Uri } from '../contract/s3-uri';
import { containerCommand, LocalRunError, type ContainerSpec } from './container-spec';
import { containerRunArgs, namespaceArgs, type Engine } from './engine';
import { taskError } from './interpreter';
import { LOCAL_BUCKET } from './synthesized-purpose';

/** The CreateProcessingJob parameters as far as a local run reads them. */
export interface ProcessingJobParams {
  readonly ProcessingJobName: string;
  readonly ProcessingInputs?: ReadonlyArray<{
    readonly InputName: string;
    readonly S3Input: {
      readonly S3Uri: string;
      readonly LocalPath: string;
      readonly S3InputMode?: string;
      readonly S3DataDistributionType?: string;
      readonly S3DataType?: string;
    };
  }>;
  readonly ProcessingOutputConfig?: {
    readonly Outputs: ReadonlyArray<{
      readonly OutputName: string;
      readonly S3Output: { readonly S3Uri: string; readonly LocalPath: string };
    }>;
  };
  readonly ProcessingResources?: { readonly ClusterConfig?: { readonly InstanceCount?: number; readonly InstanceType?: string } };
  readonly Environment?: Record<string, string>;
  readonly AppSpecification?: {
    readonly ImageUri?: string;
    readonly ContainerEntrypoint?: string[];
    readonly ContainerArguments?: string[];
  };
  readonly StoppingCondition?: { readonly MaxRuntimeInSeconds?: number };
  readonly NetworkConfig?: { readonly EnableNetworkIsolation?: boolean };
}

/** What the local job needs besides the request. */
export interface LocalJob {
  readonly rootDir: string;
  readonly project: ProjectConfig;
  readonly purpose: PurposeConfig;
  /** Stands in for the project bucket. */
  readonly dataDir: string;
  readonly engine: Engine;
  /** The interpreter `python3` means in a namespace run. */
  readonly python: string;
  /** The purpose's Dockerfile, when it has a container folder. */
  readonly spec?: ContainerSpec;
  /** Query result files by the key the job reads them from. */
  readonly queryResults: ReadonlyMap<string, string>;
  readonly runDir: string;
  readonly print: (line: string) => void;
}

/** What the job left. */
export interface LocalJobResult {
  /** Files copied to the outputs' folders under data/. */
  readonly outputs: string[];
  /** Folders below /opt/ml/processing the script wrote files to that are not inputs (for an empty output's reason). */
  readonly written: string[];
  /** What the script wrote to /opt/ml/output/metrics (every instance's, in host order). */
  readonly metrics: string;
}

const STDERR_TAIL_LINES = 20;
const REASON_TAIL_LINES = 5;

/** Where a folder or object of a bucket lives locally: `data/<key>`, results in `data/result/<purpose>/dt=.../<output>/`, other buckets in `data/s3/<bucket>/`. */
export function localPathOf(project: ProjectConfig, dataDir: string, uri: string): string {
  const { bucket, key } = parseS3Uri(uri);
  if (bucket !== LOCAL_BUCKET) return path.join(dataDir, 's3', bucket, key);
  for (const p of project.purposes) {
    for (const o of p.outputs) {
      if (key.startsWith(o.prefix)) {
        const rest = key.slice(o.prefix.length); // dt=YYYY-MM-DD/...
        const dt = /^(dt=[^/]+)\/(.*)$/.exec(rest);
        return dt ? path.join(dataDir, 'result', p.name, dt[1], o.name, dt[2]) : path.join(dataDir, 'result', p.name, o.name, rest);
      }
    }
  }
  return path.join(dataDir, key);
}

/** Files below `dir`, relative to it, sorted (the order S3 lists keys in). */
export function filesBelow(dir: string, skip: (rel: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (skip(r)) continue;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) out.push(r);
    }
  };
  walk('');
  return out.sort();
}

/** `/opt/ml/processing/input/x` -> `<root>/processing/input/x`. */
function underRoot(root: string, containerPath: string): string {
  const rel = path.posix.relative('/opt/ml', containerPath);
  if (rel.startsWith('..')) throw new LocalRunError(`container path ${containerPath} is outside /opt/ml`);
  return path.join(root, ...rel.split('/'));
}

function copy(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}

/** The shape Step Functions reports for a failed .sync job: the state machine takes FailureReason from it. */
export function failure(jobName: string, reason: string): Error {
  return taskError(
    'States.TaskFailed',
    JSON.stringify({ ProcessingJobName: jobName, ProcessingJobStatus: 'Failed', FailureReason: reason }),
  );
}

/** The files of one input, relative to what the input names, with where each comes from. */
function inputFiles(job: LocalJob, params: ProcessingJobParams, input: NonNullable<ProcessingJobParams['ProcessingInputs']>[number]) {
  const uri = input.S3Input.S3Uri;
  const { purpose } = job;
  if (input.InputName === CODE_INPUT_NAME && purpose.script) {
    const folder = purpose.sourceDir ?? path.dirname(purpose.script);
    const rels = purpose.sourceDir
      ? filesBelow(folder, (r) => /(^|\/)(__pycache__|\.git|\.venv)$/.test(r))
      : [path.basename(purpose.script)];
    return { files: rels.map((rel) => ({ rel, from: path.join(folder, rel) })), shown: path.relative(job.rootDir, folder) || '.' };
  }
  if (input.S3Input.S3DataType === 'ManifestFile') return manifestFiles(job, params, uri);
  const queryFile = job.queryResults.get(uri.replace(`s3://${LOCAL_BUCKET}/`, ''));
  // An Athena result is one object; a Redshift UNLOAD writes 000.csv into a folder.
  if (queryFile) {
    return {
      files: [{ rel: uri.endsWith('/') ? '000.csv' : path.basename(uri), from: queryFile }],
      shown: path.relative(job.rootDir, queryFile),
    };
  }
  const source = localPathOf(job.project, job.dataDir, uri);
  const shown = path.relative(job.rootDir, source);
  if (!uri.endsWith('/')) {
    if (!fs.existsSync(source) || !fs.statSync(source).isFile()) {
      throw failure(
        params.ProcessingJobName,
        `ClientError: No object found at ${uri} (locally ${shown}); put the file there, e.g. with batcat pull`,
      );
    }
    return { files: [{ rel: path.basename(source), from: source }], shown };
  }
  if (!fs.existsSync(source)) {
    throw failure(
      params.ProcessingJobName,
      `ClientError: No objects found under ${uri} (locally ${shown}/); put the input's files there, e.g. with batcat pull`,
    );
  }
  return { files: filesBelow(source).map((rel) => ({ rel, from: path.join(source, rel) })), shown: `${shown}/` };
}

/** The objects a SageMaker manifest lists (`[{"prefix": "s3://..."}, "relative/key", ...]`), each under its key relative to the prefix. */
function manifestFiles(job: LocalJob, params: ProcessingJobParams, uri: string) {
  const at = localPathOf(job.project, job.dataDir, uri);
  const shown = path.relative(job.rootDir, at);
  if (!fs.existsSync(at)) {
    throw failure(params.ProcessingJobName, `ClientError: No manifest found at ${uri} (locally ${shown})`);
  }
  const [head, ...keys] = JSON.parse(fs.readFileSync(at, 'utf8')) as [{ prefix: string }, ...string[]];
  const files = keys.map((rel) => {
    const from = localPathOf(job.project, job.dataDir, `${head.prefix}${rel}`);
    if (!fs.existsSync(from)) {
      throw failure(
        params.ProcessingJobName,
        `ClientError: the manifest ${uri} lists ${head.prefix}${rel}, which does not exist (locally ${path.relative(job.rootDir, from)})`,
      );
    }
    return { rel, from };
  });
  const days = new Set(keys.map((k) => /^(dt=[^/]+)\//.exec(k)?.[1]).filter(Boolean));
  return {
    files,
    shown: `the manifest ${shown} (${days.size} dt= partition(s) of ${path.relative(job.rootDir, localPathOf(job.project, job.dataDir, head.prefix))}/)`,
  };
}

/** SageMaker's resourceconfig.json and processingjobconfig.json in an instance's /opt/ml/config. */
function writeConfig(root: string, host: string, hosts: string[], params: ProcessingJobParams): void {
  const dir = path.join(root, 'config');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'resourceconfig.json'),
    JSON.stringify({ current_host: host, hosts, current_instance_type: params.ProcessingResources?.ClusterConfig?.InstanceType }),
  );
  fs.writeFileSync(
    path.join(dir, 'processingjobconfig.json'),
    JSON.stringify(
      { ...params, ProcessingJobArn: `arn:aws:sagemaker:local:000000000000:processing-job/${params.ProcessingJobName}` },
      null,
      2,
    ),
  );
}

/** A folder whose `python3` and `python` are `python`, put first on PATH so every `python3` of the job is that one. */
function interpreterShims(dir: string, python: string): string {
  const resolved = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', python], { encoding: 'utf8' }).stdout.trim();
  if (resolved === '') throw new LocalRunError(`cannot find the Python interpreter '${python}'; install Python 3 or pass --python PATH`);
  fs.mkdirSync(dir, { recursive: true });
  for (const name of ['python3', 'python']) fs.symlinkSync(resolved, path.join(dir, name));
  return dir;
}

/** Runs the job; throws the failed job's description when the script fails or an input is missing. */
export async function runProcessingJobLocally(job: LocalJob, params: ProcessingJobParams): Promise<LocalJobResult> {
  const { print, purpose } = job;
  const jobName = params.ProcessingJobName;
  const count = params.ProcessingResources?.ClusterConfig?.InstanceCount ?? 1;
  const hosts = Array.from({ length: count }, (_, k) => `algo-${k + 1}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batcat-job-'));
  try {
    const roots = hosts.map((h) => path.join(tmp, h, 'ml'));
    const inputPaths: string[] = [];
    for (const input of params.ProcessingInputs ?? []) {
      const { files, shown } = inputFiles(job, params, input);
      const sharded = input.S3Input.S3DataDistributionType === 'ShardedByS3Key' && count > 1;
      inputPaths.push(input.S3Input.LocalPath);
      roots.forEach((root, k) => {
        const mine = sharded ? files.filter((_, n) => n % count === k) : files;
        for (const f of mine) copy(f.from, path.join(underRoot(root, input.S3Input.LocalPath), ...f.rel.split('/')));
      });
      print(
        `  input ${input.InputName}: ${files.length} file(s) from ${shown} at ${input.S3Input.LocalPath}` +
          (sharded ? ` (ShardedByS3Key: split between ${count} instances)` : ''),
      );
    }
    roots.forEach((root, k) => {
      for (const out of params.ProcessingOutputConfig?.Outputs ?? [])
        fs.mkdirSync(underRoot(root, out.S3Output.LocalPath), { recursive: true });
      fs.mkdirSync(path.join(root, 'output'), { recursive: true });
      writeConfig(root, hosts[k], hosts, params);
    });

    const command = containerCommand(job.spec, params.AppSpecification?.ContainerEntrypoint, params.AppSpecification?.ContainerArguments);
    if (command.length === 0) {
      throw new LocalRunError(
        `purpose '${purpose.name}' has no command: its image has no ENTRYPOINT or CMD, and the project file sets no entrypoint or script`,
      );
    }
    const run = job.engine.kind === 'namespace' ? namespaceRun(job, tmp, command, params) : containerRun(job, command, params);
    print(
      `  $ ${(job.engine.kind === 'namespace' ? command : [job.engine.kind, ...run.start(roots[0], hosts[0], 0).args]).map(shellWord).join(' ')}`,
    );
    const maxRuntimeMs = Number(params.StoppingCondition?.MaxRuntimeInSeconds ?? 86400) * 1000;
    const stdoutLog = fs.createWriteStream(path.join(job.runDir, 'stdout.log'));
    const stderrLog = fs.createWriteStream(path.join(job.runDir, 'stderr.log'));
    let exits: Array<{ host: string; code: number; tail: string[] }>;
    try {
      exits = await Promise.all(
        roots.map((root, k) =>
          runInstance(run.start(root, hosts[k], k), hosts[k], count > 1, maxRuntimeMs, { stdoutLog, stderrLog, print }),
        ),
      );
    } finally {
      await new Promise((r) => stdoutLog.end(r));
      await new Promise((r) => stderrLog.end(r));
    }
    const failed = exits.find((e) => e.code !== 0);
    if (failed) {
      const root = roots[hosts.indexOf(failed.host)];
      const messageFile = path.join(root, 'output', 'message');
      const message = fs.existsSync(messageFile) ? fs.readFileSync(messageFile, 'utf8').trim() : '';
      const tail = failed.tail.slice(-REASON_TAIL_LINES);
      throw failure(
        jobName,
        message !== ''
          ? message
          : `AlgorithmError: the script exited with code ${failed.code}${failed.code === 137 ? ' (killed after MaxRuntimeInSeconds)' : ''}` +
              `${count > 1 ? ` on ${failed.host}` : ''} and wrote no /opt/ml/output/message` +
              (tail.length > 0 ? `; the last lines of its stderr: ${tail.join(' | ')}` : '; it wrote nothing to stderr'),
      );
    }

    const outputs: string[] = [];
    for (const out of params.ProcessingOutputConfig?.Outputs ?? []) {
      const target = localPathOf(job.project, job.dataDir, out.S3Output.S3Uri);
      for (const root of roots) {
        const from = underRoot(root, out.S3Output.LocalPath);
        for (const rel of filesBelow(from)) {
          copy(path.join(from, rel), path.join(target, ...rel.split('/')));
          outputs.push(path.join(target, ...rel.split('/')));
        }
      }
    }
    const metrics = roots
      .map((root) => path.join(root, 'output', 'metrics'))
      .filter((f) => fs.existsSync(f))
      .map((f) => fs.readFileSync(f, 'utf8'))
      .join('\n');
    return { outputs: [...new Set(outputs)], written: writtenFolders(roots[0], inputPaths), metrics };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Folders below /opt/ml/processing holding files the script wrote (inputs left out). */
function writtenFolders(root: string, inputPaths: readonly string[]): string[] {
  const processing = path.join(root, 'processing');
  const isInput = (p: string) => inputPaths.some((i) => p === i || p.startsWith(`${i}/`));
  const folders = filesBelow(processing)
    .map((rel) => path.posix.dirname(`/opt/ml/processing/${rel}`))
    .filter((p) => !isInput(p));
  return [...new Set(folders)].sort();
}

/** A word of a command line as a shell would take it; a program text is shown by its size. */
function shellWord(word: string): string {
  if (word.includes('\n')) return `'<${word.split('\n').length}-line program>'`;
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

interface Started {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

/** How each instance starts, in a namespace: the host's Python, /opt/ml and WORKDIR bind-mounted. */
function namespaceRun(job: LocalJob, tmp: string, command: string[], params: ProcessingJobParams) {
  const spec = job.spec;
  const bin = interpreterShims(path.join(tmp, 'bin'), job.python);
  const workdir = spec?.workdir;
  const mountsWorkdir = workdir !== undefined && workdir.startsWith('/opt/') && !workdir.startsWith('/opt/ml');
  const env: Record<string, string> = {};
  for (const k of ['HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'TERM']) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  Object.assign(env, spec?.env ?? {}, params.Environment ?? {});
  // The image's PATH names its own folders; the host's come after them so the host's tools are found.
  env.PATH = [bin, spec?.env.PATH, process.env.PATH].filter((p) => p !== undefined && p !== '').join(':');
  return {
    start: (root: string, _host: string, k: number): Started => {
      const work = path.join(tmp, `work-${k + 1}`);
      fs.mkdirSync(work, { recursive: true });
      if (job.purpose.containerDir) fs.cpSync(job.purpose.containerDir, work, { recursive: true });
      const hold = path.join(tmp, `hold-${k + 1}`);
      fs.mkdirSync(hold);
      // A script the Dockerfile COPYs somewhere the namespace cannot show runs from the container folder's copy.
      const visible = (p: string) =>
        p.startsWith('/opt/ml/') ||
        (mountsWorkdir && p.startsWith(`${workdir}/`) ? fs.existsSync(path.join(work, p.slice(workdir.length + 1))) : fs.existsSync(p));
      const argv = command.map((a) => {
        if (!a.startsWith('/') || !a.endsWith('.py') || visible(a)) return a;
        // The longest tail of the path that is in the container folder: /opt/app/src/run.py is src/run.py there.
        const parts = a.split('/').filter((p) => p !== '');
        const rel = parts.map((_, i) => parts.slice(i).join('/')).find((r) => fs.existsSync(path.join(work, r)));
        if (rel === undefined) return a;
        if (k === 0) {
          job.print(
            `  note: ${a} (where the Dockerfile puts the script) runs from the copy of ${path.relative(job.rootDir, path.join(job.purpose.containerDir!, rel))}`,
          );
        }
        return path.join(work, rel);
      });
      return { command: 'unshare', args: namespaceArgs({ root, work, workdir, hold, command: argv }), env };
    },
  };
}

/** How each instance starts in docker or podman: the purpose's image, built or pulled first. */
function containerRun(job: LocalJob, command: string[], params: ProcessingJobParams) {
  const engine = job.engine.kind;
  const { purpose } = job;
  let image: string;
  if (purpose.containerDir) {
    image = `batcat-local/${purpose.name}:latest`;
    job.print(`  $ ${engine} build --platform linux/amd64 -t ${image} ${path.relative(job.rootDir, purpose.containerDir) || '.'}`);
    const built = spawnSync(engine, ['build', '--platform', 'linux/amd64', '-t', image, purpose.containerDir], { stdio: 'inherit' });
    if (built.status !== 0) throw new LocalRunError(`${engine} build of ${purpose.containerDir} failed (exit ${built.status})`);
  } else {
    const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    image = purpose.framework ? frameworkImageUri(purpose.framework, region)! : purpose.image!.uri;
    job.print(
      `  image ${image}: pulled from ECR, which needs a login first: aws ecr get-login-password --region ${region} | ${engine} login --username AWS --password-stdin ${image.split('/')[0]}`,
    );
  }
  const env = { ...(params.Environment ?? {}) };
  return {
    start: (root: string, host: string): Started => {
      const args = containerRunArgs({
        root,
        host,
        image,
        command,
        env,
        networkIsolation: params.NetworkConfig?.EnableNetworkIsolation ?? true,
        name: `${params.ProcessingJobName}-${host}`.slice(0, 120),
      });
      return { command: engine, args, env: process.env };
    },
  };
}

/** Runs one instance, streaming its lines; resolves with its exit code and the last lines of its stderr. */
function runInstance(
  s: Started,
  host: string,
  tagLines: boolean,
  maxRuntimeMs: number,
  io: { stdoutLog: fs.WriteStream; stderrLog: fs.WriteStream; print: (line: string) => void },
): Promise<{ host: string; code: number; tail: string[] }> {
  let tail: string[] = [];
  return new Promise((resolve, reject) => {
    const child = spawn(s.command, [...s.args], { env: s.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), maxRuntimeMs);
    const lines = (chunk: Buffer, log: fs.WriteStream, isErr: boolean) => {
      log.write(chunk);
      for (const line of chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '')) {
        io.print(`  |${tagLines ? ` [${host}]` : ''} ${line}`);
        if (isErr) tail = [...tail, line].slice(-STDERR_TAIL_LINES);
      }
    };
    child.stdout.on('data', (c: Buffer) => lines(c, io.stdoutLog, false));
    child.stderr.on('data', (c: Buffer) => lines(c, io.stderrLog, true));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new LocalRunError(`cannot start ${s.command}: ${e.message}`));
    });
    child.on('close', (c, signal) => {
      clearTimeout(timer);
      resolve({ host, code: c ?? (signal === 'SIGKILL' ? 137 : 1), tail });
    });
  });
}
