/*
 * A purpose run on this machine: the purpose's synthesized state machine definition, executed
 * by the local Step Functions interpreter. Its Task states are answered here: the processing
 * job runs the purpose's script with the local python3 in an /opt/ml-shaped folder, and a
 * query step reads the CSV the project file names instead of Athena. No AWS, no Docker.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProjectConfig, PurposeConfig } from '../config/load-project';
import { PROCESSING_ROOT_ENV } from '../contract/environment';
import { parseS3Uri } from '../contract/s3-uri';
import { RunRequestError, shortHash, type RunInput } from '../contract/run-input';
import { resolveRunRequest } from '../runtime/trigger';
import { executionContext, StateMachine, taskError } from './interpreter';
import { LocalRunError, localEntrypoint } from './entrypoint';
import type { LocalRunStatus } from './run-records';
import { LOCAL_BUCKET, synthesizePurpose } from './synthesized-purpose';

/** The CreateProcessingJob parameters as far as a local run reads them. */
/** The interpreter's task handlers: JSON in, JSON out. */
type LocalHandlers = NonNullable<
  NonNullable<NonNullable<Parameters<InstanceType<typeof StateMachine>['run']>[1]>['overrides']>['taskResourceLocalHandlers']
>;

interface ProcessingJobParams {
  readonly ProcessingJobName: string;
  readonly ProcessingInputs?: ReadonlyArray<{
    readonly InputName: string;
    readonly S3Input: { readonly S3Uri: string; readonly LocalPath: string };
  }>;
  readonly ProcessingOutputConfig?: {
    readonly Outputs: ReadonlyArray<{
      readonly OutputName: string;
      readonly S3Output: { readonly S3Uri: string; readonly LocalPath: string };
    }>;
  };
  readonly Environment?: Record<string, string>;
  readonly AppSpecification?: { readonly ContainerArguments?: string[] };
  readonly StoppingCondition?: { readonly MaxRuntimeInSeconds?: number };
}

export interface LocalRunOptions {
  /** The folder that holds projects/, containers/ and runs/. */
  readonly rootDir: string;
  readonly project: ProjectConfig;
  readonly purpose: PurposeConfig;
  /** The window, as `batcat run` takes it; without any, the window that ended yesterday. */
  readonly date?: string;
  readonly from?: string;
  readonly to?: string;
  /** Stands in for the project bucket. @default <rootDir>/data */
  readonly dataDir?: string;
  /** @default 'python3' */
  readonly python?: string;
  /** Progress lines. */
  readonly print: (line: string) => void;
  readonly now?: Date;
}

export interface LocalRunResult {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly runId: string;
  /** `runs/<purpose>/<run id>/` */
  readonly runDir: string;
  /** Files the job wrote, where they were collected. */
  readonly outputs: string[];
  readonly error?: string;
  readonly cause?: string;
}

const STDERR_TAIL_LINES = 20;

/** Where a folder of the project bucket lives locally: `data/<key>`, with results in `data/result/<purpose>/dt=.../<output>/`. */
function localFolderOf(project: ProjectConfig, dataDir: string, uri: string): string {
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

/** Whether any file is below `dir` (what a ListObjectsV2 with MaxKeys 1 tells). */
function hasFile(dir: string): boolean {
  return fs.readdirSync(dir, { withFileTypes: true }).some((e) => e.isFile() || (e.isDirectory() && hasFile(path.join(dir, e.name))));
}

function copyTree(from: string, to: string): string[] {
  const copied: string[] = [];
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, e.name);
    const dst = path.join(to, e.name);
    if (e.isDirectory()) copied.push(...copyTree(src, dst));
    else if (e.isFile()) {
      fs.copyFileSync(src, dst);
      copied.push(dst);
    }
  }
  return copied;
}

/** `/opt/ml/processing/input/x` -> `<root>/processing/input/x`: the redirect the container template honours. */
function underRoot(root: string, containerPath: string): string {
  const rel = path.posix.relative('/opt/ml', containerPath);
  if (rel.startsWith('..')) throw new LocalRunError(`container path ${containerPath} is outside /opt/ml`);
  return path.join(root, ...rel.split('/'));
}

function failure(jobName: string, reason: string): Error {
  // The shape Step Functions reports for a failed .sync job: the state machine's failure
  // handling takes FailureReason from it.
  return taskError(
    'States.TaskFailed',
    JSON.stringify({ ProcessingJobName: jobName, ProcessingJobStatus: 'Failed', FailureReason: reason }),
  );
}

/** Runs `purpose` locally and records the run under `runs/<purpose>/<run id>/`. */
export async function runLocal(o: LocalRunOptions): Promise<LocalRunResult> {
  const { project, purpose, print } = o;
  const dataDir = path.resolve(o.dataDir ?? path.join(o.rootDir, 'data'));
  if (!purpose.containerDir)
    throw new LocalRunError(
      `purpose '${purpose.name}' uses the existing image ${purpose.image?.uri}; run-local runs a container folder's script, so give the purpose a container folder`,
    );
  const entry = localEntrypoint(purpose.containerDir);
  if (purpose.query && !purpose.query.local) {
    throw new LocalRunError(
      `purpose '${purpose.name}' starts with an Athena query; add query.local to the project file: a CSV that stands in for the query's result here (e.g. a sample pulled with batcat query --out)`,
    );
  }
  if (purpose.query?.local && !fs.existsSync(purpose.query.local)) {
    throw new LocalRunError(
      `query.local of purpose '${purpose.name}' is ${path.relative(o.rootDir, purpose.query.local)}, which does not exist; create it (batcat query ... --out ${path.relative(o.rootDir, purpose.query.local)})`,
    );
  }

  print(`synthesizing ${project.stackName} to get the state machine of ${purpose.name}...`);
  const synth = synthesizePurpose(project, purpose.name);
  const runsDir = path.join(o.rootDir, 'runs', purpose.name);
  const now = o.now ?? new Date();
  const request = { purpose: purpose.name, date: o.date, from: o.from, to: o.to };
  let n = resolveRunRequest(request, synth.runConfig, now);
  // A window that ran here before gets a new attempt, as `batcat run --force` would on AWS.
  if (fs.existsSync(path.join(runsDir, n.name))) n = resolveRunRequest({ ...request, force: true }, synth.runConfig, now);
  if (n.backfill) throw new RunRequestError('run-local runs one window at a time');
  const input: RunInput = n.input;
  const runDir = path.join(runsDir, n.name);
  fs.mkdirSync(runDir, { recursive: true });
  const started = Date.now();
  const status = (s: Partial<LocalRunStatus> & { status: LocalRunStatus['status'] }) =>
    fs.writeFileSync(
      path.join(runDir, 'status.json'),
      JSON.stringify(
        {
          runId: n.name,
          purpose: purpose.name,
          window: input.window,
          startedAt: new Date(started).toISOString(),
          ...s,
        },
        null,
        2,
      ),
    );
  fs.writeFileSync(path.join(runDir, 'input.json'), JSON.stringify(input, null, 2));
  status({ status: 'RUNNING' });
  print(`run ${n.name}: window ${input.window.start} .. ${input.window.end}, data from ${path.relative(o.rootDir, dataDir) || '.'}/`);

  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'batcat-processing-'));
  const outputs: string[] = [];
  const queryResults = new Map<string, string>();
  const stdoutLog = fs.createWriteStream(path.join(runDir, 'stdout.log'));
  const stderrLog = fs.createWriteStream(path.join(runDir, 'stderr.log'));
  let stderrTail: string[] = [];
  const rendered: Record<string, unknown> = {};
  // The interpreter reports state events asynchronously; a task handler waits until its state's
  // "entered" line is out, so its own lines come between that state's start and end.
  const entered = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  const afterEntered = (state: string) =>
    new Promise<void>((resolve) => {
      if (entered.has(state)) resolve();
      else waiting.set(state, resolve);
    });

  const handlers: Record<string, (params: never) => Promise<unknown>> = {
    RunQuery: async (params: { ExecutionParameters?: string[] }) => {
      await afterEntered('RunQuery');
      rendered.query = params;
      const id = `local-${shortHash(12, n.name, String(Date.now()))}`;
      queryResults.set(`athena-results/${id}.csv`, purpose.query!.local!);
      print(
        `  query stands in: ${path.relative(o.rootDir, purpose.query!.local!)} (parameters ${JSON.stringify(params.ExecutionParameters ?? [])})`,
      );
      return { QueryExecution: { QueryExecutionId: id, Status: { State: 'SUCCEEDED' }, Statistics: { DataScannedInBytes: 0 } } };
    },
    RunProcessingJob: async (params: ProcessingJobParams) => {
      await afterEntered('RunProcessingJob');
      rendered.job = params;
      fs.writeFileSync(path.join(runDir, 'job.json'), JSON.stringify(rendered, null, 2));
      const jobName = params.ProcessingJobName;
      for (const i of params.ProcessingInputs ?? []) {
        const uri = i.S3Input.S3Uri;
        const target = underRoot(root, i.S3Input.LocalPath);
        const key = uri.replace(`s3://${LOCAL_BUCKET}/`, '');
        const queryFile = queryResults.get(key);
        if (queryFile) {
          fs.mkdirSync(target, { recursive: true });
          fs.copyFileSync(queryFile, path.join(target, path.basename(key)));
          continue;
        }
        const source = localFolderOf(project, dataDir, uri);
        if (!fs.existsSync(source)) {
          throw failure(
            jobName,
            `ClientError: No objects found under ${uri} (locally ${path.relative(o.rootDir, source)}/); put the input's files there, e.g. with batcat pull`,
          );
        }
        const files = copyTree(source, target);
        print(`  input ${i.InputName}: ${files.length} file(s) from ${path.relative(o.rootDir, source)}/`);
      }
      for (const out of params.ProcessingOutputConfig?.Outputs ?? [])
        fs.mkdirSync(underRoot(root, out.S3Output.LocalPath), { recursive: true });

      const env: Record<string, string> = { [PROCESSING_ROOT_ENV]: root };
      for (const k of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'SYSTEMROOT'])
        if (process.env[k] !== undefined) env[k] = process.env[k]!;
      Object.assign(env, params.Environment ?? {});
      const args = [entry.script, ...entry.args, ...(params.AppSpecification?.ContainerArguments ?? [])];
      const maxRuntime = Number(params.StoppingCondition?.MaxRuntimeInSeconds ?? 86400) * 1000;
      print(`  $ ${o.python ?? 'python3'} ${[path.relative(o.rootDir, entry.script), ...args.slice(1)].join(' ')}`);
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn(o.python ?? 'python3', args, { cwd: purpose.containerDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
        const timer = setTimeout(() => child.kill('SIGKILL'), maxRuntime);
        const lines = (chunk: Buffer, log: fs.WriteStream, isErr: boolean) => {
          log.write(chunk);
          for (const line of chunk
            .toString('utf8')
            .split('\n')
            .filter((l) => l !== '')) {
            print(`  | ${line}`);
            if (isErr) stderrTail = [...stderrTail, line].slice(-STDERR_TAIL_LINES);
          }
        };
        child.stdout.on('data', (c: Buffer) => lines(c, stdoutLog, false));
        child.stderr.on('data', (c: Buffer) => lines(c, stderrLog, true));
        child.on('error', (e) => {
          clearTimeout(timer);
          reject(new LocalRunError(`cannot run ${o.python ?? 'python3'}: ${e.message}; install Python 3 (batcat doctor checks it)`));
        });
        child.on('close', (c, signal) => {
          clearTimeout(timer);
          resolve(c ?? (signal === 'SIGKILL' ? 137 : 1));
        });
      });
      if (code !== 0) {
        const messageFile = path.join(root, 'output', 'message');
        const message = fs.existsSync(messageFile) ? fs.readFileSync(messageFile, 'utf8').trim() : '';
        throw failure(
          jobName,
          message !== ''
            ? message
            : `AlgorithmError: the script exited with code ${code}${code === 137 ? ' (killed after MaxRuntimeInSeconds)' : ''} and wrote no /opt/ml/output/message`,
        );
      }
      for (const out of params.ProcessingOutputConfig?.Outputs ?? []) {
        const target = localFolderOf(project, dataDir, out.S3Output.S3Uri);
        outputs.push(...copyTree(underRoot(root, out.S3Output.LocalPath), target));
      }
      return { ProcessingJobArn: `arn:aws:sagemaker:local:000000000000:processing-job/${jobName}`, ProcessingJobStatus: 'Completed' };
    },
    NotifyFailure: (params: unknown) => {
      fs.writeFileSync(path.join(runDir, 'notification.json'), JSON.stringify(params, null, 2));
      return Promise.resolve({ MessageId: 'local' });
    },
    // What `aws-sdk:s3:listObjectsV2` answers for an output's partition: the files the run wrote there locally.
    ...Object.fromEntries(
      purpose.outputs.map((o) => [
        `CountOutput-${o.name}`,
        (params: { Bucket: string; Prefix: string }) => {
          const folder = localFolderOf(project, dataDir, `s3://${params.Bucket}/${params.Prefix}`);
          return Promise.resolve({ KeyCount: fs.existsSync(folder) && hasFile(folder) ? 1 : 0 });
        },
      ]),
    ),
  };

  const machine = new StateMachine(synth.definition as unknown as ConstructorParameters<typeof StateMachine>[0], {
    validationOptions: { checkArn: false },
  });
  const execution = machine.run(input as unknown as Parameters<InstanceType<typeof StateMachine>['run']>[0], {
    context: executionContext(synth.stateMachineName, n.name, now.toISOString(), 'local', '000000000000'),
    overrides: {
      taskResourceLocalHandlers: handlers as unknown as LocalHandlers,
      retryIntervalOverrides: { RunProcessingJob: 0, RunQuery: 0 },
    },
  });
  const failedStates = new Set<string>();
  const logging = (async () => {
    for await (const e of execution.eventLogs) {
      if (!('state' in e)) continue;
      const took = () => `${e.timestamp - (entered.get(e.state.name) ?? e.timestamp)} ms`;
      if (e.type === 'StateEntered') {
        print(`▶ ${e.state.name}`);
        entered.set(e.state.name, e.timestamp);
        waiting.get(e.state.name)?.();
        waiting.delete(e.state.name);
      } else if (e.type === 'StateFailed') {
        failedStates.add(e.state.name);
        print(`✗ ${e.state.name} (${took()}): ${e.Error ?? 'failed'}`);
      } else if (e.type === 'StateExited' && !failedStates.has(e.state.name)) {
        print(`✓ ${e.state.name} (${took()})`);
      }
    }
  })();

  let result: LocalRunResult;
  try {
    await execution.result;
    result = { status: 'SUCCEEDED', runId: n.name, runDir, outputs };
  } catch (e) {
    const err = e as Error & { cause?: unknown };
    const notification = path.join(runDir, 'notification.json');
    const notified = fs.existsSync(notification) ? JSON.parse(fs.readFileSync(notification, 'utf8')).Message : undefined;
    result = {
      status: 'FAILED',
      runId: n.name,
      runDir,
      outputs,
      error: notified?.error ?? err.name,
      cause: notified?.reason ?? err.message,
    };
  } finally {
    await logging.catch(() => undefined);
    await new Promise((r) => stdoutLog.end(r));
    await new Promise((r) => stderrLog.end(r));
    fs.rmSync(root, { recursive: true, force: true });
  }
  fs.writeFileSync(
    path.join(runDir, 'outputs.json'),
    JSON.stringify(
      outputs.map((f) => ({ file: path.relative(o.rootDir, f), bytes: fs.statSync(f).size })),
      null,
      2,
    ),
  );
  const ended = Date.now();
  status({
    status: result.status,
    endedAt: new Date(ended).toISOString(),
    durationMs: ended - started,
    error: result.error,
    cause: result.cause,
  });
  if (result.status === 'SUCCEEDED') {
    print(`run ${n.name} succeeded in ${((ended - started) / 1000).toFixed(1)} s; outputs:`);
    for (const f of outputs) print(`  ${path.relative(o.rootDir, f)}`);
  } else {
    print(`run ${n.name} FAILED: ${result.error}: ${result.cause}`);
    if (stderrTail.length > 0) {
      print(`last lines of the script's stderr (all of it: ${path.relative(o.rootDir, path.join(runDir, 'stderr.log'))}):`);
      for (const l of stderrTail) print(`  ${l}`);
    }
  }
  print(`recorded in ${path.relative(o.rootDir, runDir)}/`);
  return result;
}
