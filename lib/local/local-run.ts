/*
 * A purpose run on this machine: the purpose's synthesized state machine definition, executed
 * by the local Step Functions interpreter. Its Task states are answered here: the processing
 * job runs as SageMaker would run it (processing-job.ts), in docker or podman or in a private
 * mount namespace (engine.ts), and a query step reads the CSV the project file names instead
 * of Athena. No AWS.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProjectConfig, PurposeConfig } from '../config/load-project';
import { secretIdVariable } from '../contract/environment';
import { purposeQueryResultsPrefix } from '../contract/names';
import { MAX_BACKFILL_WINDOWS, shortHash, type RunInput } from '../contract/run-input';
import { commitOutputs, type OutputCommit } from '../runtime/commit';
import { resolveManualRequest, singleRunInput } from '../runtime/trigger';
import {
  recordRunInputs,
  recordRunOutputs,
  type RecordInputsRequest,
  type RecordOutputsRequest,
  type VersionLister,
} from '../runtime/run-manifest';
import { writeWindowManifests, type WindowManifestRequest } from '../runtime/window-manifest';
import { folderStore } from './folder-store';
import { asLambda, executionContext, StateMachine, taskError } from './interpreter';
import { awaitRedrive } from '../runtime/redrive';
import { LocalRunError, readContainerSpec } from './container-spec';
import { detectEngine, type Engine, type EngineKind } from './engine';
import { localPathOf, runProcessingJobLocally, type ProcessingJobParams } from './processing-job';
import { runSparkJobLocally, sparkSubmit } from './spark-job';
import { imageRequirements } from '../config/requirements';
import { installCommand, unmetRequirements } from '../contract/requirements';
import { installedVersions } from './requirements';
import type { LocalRunStatus } from './run-records';
import type { TableProfile } from '../contract/profile';
import { checkOutputs, storedProfiles, type OutputChecksRequest } from '../runtime/output-checks';
import { profileTable, sampleTable } from './local-profile';
import { attemptTable, runLocalQuery } from './local-sql';
import { METRICS_FILE, parseMetrics, writeMlflowRun } from './mlflow-store';
import { synthesizePurpose, type SynthesizedPurpose } from './synthesized-purpose';
import { localSourceUrl, runDbSourceLocally } from './db-source-job';
import { writeOfflineStore } from './offline-store';
import type { FeatureIngestRequest } from '../contract/feature-store';

/** The interpreter's task handlers: JSON in, JSON out. */
type LocalHandlers = NonNullable<
  NonNullable<NonNullable<Parameters<InstanceType<typeof StateMachine>['run']>[1]>['overrides']>['taskResourceLocalHandlers']
>;

export interface LocalRunOptions {
  /** The folder that holds projects/, containers/ and runs/. */
  readonly rootDir: string;
  readonly project: ProjectConfig;
  readonly purpose: PurposeConfig;
  /** The window, as `batcat run` takes it; without any, the window that ended yesterday. */
  readonly date?: string;
  readonly from?: string;
  readonly to?: string;
  /** Values of the purpose's typed parameters (`--param name=value`), checked before anything starts. @default - the defaults */
  readonly params?: Record<string, string>;
  /** Stands in for the project bucket. @default <rootDir>/data */
  readonly dataDir?: string;
  /** The interpreter `python3` means in a namespace run. @default 'python3' */
  readonly python?: string;
  /** @default - docker or podman if one answers, else a Linux mount namespace */
  readonly engine?: EngineKind;
  /** Progress lines. */
  readonly print: (line: string) => void;
  readonly now?: Date;
  /** The run this one reproduces (`batcat reproduce`), recorded in its status. */
  readonly reproduces?: string;
  /** The purpose as synthesized from `project`, when the caller has it already. @default - synthesized here */
  readonly synthesized?: SynthesizedPurpose;
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

/** A database URL as it may be printed: without its password. */
function redactedUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@/]*@/, '$1:***@');
}

/** Whether any file is below `dir` (what a ListObjectsV2 with MaxKeys 1 tells). */
function hasFile(dir: string): boolean {
  return fs.readdirSync(dir, { withFileTypes: true }).some((e) => e.isFile() || (e.isDirectory() && hasFile(path.join(dir, e.name))));
}

/** What a purpose must be to run here, checked before anything runs. */
function checkRunnable(o: LocalRunOptions, engine: Engine | undefined): void {
  const { purpose } = o;
  for (const i of purpose.inputs) {
    if (i.mode === 'Pipe') {
      throw new LocalRunError(
        `input '${i.name}' of purpose '${purpose.name}' uses mode Pipe: on AWS it is streamed through a named pipe, ` +
          `which run-local does not provide, so the script would wait for data that never comes. Use mode File (the files then appear at ${i.localPath}), ` +
          `or run this purpose on AWS with batcat run`,
      );
    }
  }
  if (purpose.source) localSourceUrl(purpose);
  if (!purpose.containerDir && !purpose.script && !purpose.source && engine?.kind === 'namespace') {
    throw new LocalRunError(
      `purpose '${purpose.name}' runs the image ${purpose.image?.uri ?? purpose.framework?.name} with its own entrypoint; without docker or podman, ` +
        `run-local can only run a container folder's script or a script-mode script with the local Python. Start Docker or Podman, or give the purpose a script`,
    );
  }
  if (purpose.query?.engine === 'redshift' && !purpose.query.local) {
    throw new LocalRunError(
      `purpose '${purpose.name}' starts with a Redshift query; add query.local to the project file: a CSV that stands in for the query's result here (e.g. a sample pulled with batcat query --out)`,
    );
  }
  if (purpose.query?.local && !fs.existsSync(purpose.query.local)) {
    throw new LocalRunError(
      `query.local of purpose '${purpose.name}' is ${path.relative(o.rootDir, purpose.query.local)}, which does not exist; create it (batcat query ... --out ${path.relative(o.rootDir, purpose.query.local)})`,
    );
  }
}

/** Says which interpreter a namespace run uses, and which of the image's packages it lacks. */
function describeInterpreter(o: LocalRunOptions): void {
  const python = o.python ?? 'python3';
  const { purpose } = o;
  const requirements = imageRequirements(purpose, o.rootDir);
  const installed = installedVersions(python, ['pip', ...requirements.map((r) => r.name)]);
  if (!installed) throw new LocalRunError(`cannot run ${python}; install Python 3 or pass --python PATH (batcat doctor checks it)`);
  const version = spawnSync(python, ['--version'], { encoding: 'utf8' });
  o.print(`interpreter: ${python} (${`${version.stdout}${version.stderr}`.trim()}), standing in for the image's python3`);
  const unmet = unmetRequirements(requirements, installed);
  if (unmet.length > 0) {
    o.print(`warning: ${python} lacks what the image has, so the script may fail here but not on AWS:`);
    for (const u of unmet) o.print(`  - ${u}`);
    o.print(`  install them with: ${installCommand(python, requirements)}`);
  }
}

/** Runs `purpose` locally and records the run under `runs/<purpose>/<run id>/`. */
export async function runLocal(o: LocalRunOptions): Promise<LocalRunResult> {
  const { project, purpose, print } = o;
  const dataDir = path.resolve(o.dataDir ?? path.join(o.rootDir, 'data'));
  const now = o.now ?? new Date();
  // The dates are checked before anything slow: they need only the purpose's window settings.
  const request = resolveManualRequest(
    { purpose: purpose.name, date: o.date, from: o.from, to: o.to, params: o.params },
    { ...purpose, purpose: purpose.name, maxBackfillWindows: MAX_BACKFILL_WINDOWS },
    now,
  );
  // A Spark purpose's script runs with spark-submit here, whatever runs it on AWS; no container engine is needed.
  const submit = purpose.spark && sparkSubmit(purpose);
  // A database source's program runs in this process: no container engine either.
  const engine = purpose.spark || purpose.source ? undefined : detectEngine(o.engine);
  checkRunnable(o, engine);
  const spec = purpose.containerDir ? readContainerSpec(purpose.containerDir) : undefined;
  print(
    `engine: ${
      engine?.description ??
      (purpose.source
        ? `the ingestion program in this process, reading ${redactedUrl(localSourceUrl(purpose))} in place of the secret ${purpose.source.secret}`
        : `${submit} in Spark's local mode, standing in for ${purpose.spark!.runtime === 'sagemaker' ? "SageMaker's Spark image" : 'EMR Serverless'}`)
    }`,
  );
  if (engine?.kind === 'namespace') describeInterpreter(o);

  if (!o.synthesized) print(`synthesizing ${project.stackName} to get the state machine of ${purpose.name}...`);
  const synth = o.synthesized ?? synthesizePurpose(project, purpose.name);
  const runsDir = path.join(o.rootDir, 'runs', purpose.name);
  // Each run of a window here is a new attempt, as on AWS: the runs folder is the local ledger.
  let input: RunInput = singleRunInput(request, synth.runConfig);
  while (fs.existsSync(path.join(runsDir, input.runId))) input = singleRunInput(request, synth.runConfig, input.attempt + 1);
  const n = { name: input.runId };
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
          ...(o.reproduces ? { reproduces: o.reproduces } : {}),
          startedAt: new Date(started).toISOString(),
          ...s,
        },
        null,
        2,
      ),
    );
  fs.writeFileSync(path.join(runDir, 'input.json'), JSON.stringify(input, null, 2));
  status({ status: 'RUNNING' });
  const runsStore = path.join(o.rootDir, 'runs');
  const mlflowParams: Record<string, string> = {
    project: project.project,
    stage: project.stage,
    purpose: purpose.name,
    window_start: input.window.start,
    window_end: input.window.end,
    timezone: input.timezone,
    attempt: String(input.attempt),
    engine: engine?.kind ?? (purpose.source ? 'db-ingest' : 'spark-submit'),
    data: path.relative(o.rootDir, dataDir) || '.',
  };
  const mlflowTags: Record<string, string> = {
    'mlflow.source.type': 'LOCAL',
    'mlflow.source.name': path.relative(o.rootDir, purpose.script ?? purpose.containerDir ?? o.rootDir) || '.',
    ...(o.reproduces ? { 'batcat.reproduces': o.reproduces } : {}),
  };
  writeMlflowRun(runsStore, {
    experiment: purpose.name,
    runId: n.name,
    status: 'RUNNING',
    startTime: started,
    params: mlflowParams,
    tags: mlflowTags,
  });
  print(`run ${n.name}: window ${input.window.start} .. ${input.window.end}, data from ${path.relative(o.rootDir, dataDir) || '.'}/`);

  const outputs: string[] = [];
  const queryResults = new Map<string, string>();
  /** The profiles DuckDB made, by the query id their state answered with, and where the check kept them. */
  const profiles = new Map<string, TableProfile>();
  const samples = new Map<string, string>();
  const profiled: Array<{ output: string; file: string; rows: number }> = [];
  /** Folders the script wrote that are not inputs, and why the job failed, as the script's side tells it. */
  let written: string[] = [];
  let jobFailure: string | undefined;
  /** What the script wrote to /opt/ml/output/metrics, and how many files the run read. */
  let scriptMetrics = '';
  let inputFiles: number | undefined;
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

  const storeOf = (bucket: string) => folderStore((key) => localPathOf(project, dataDir, `s3://${bucket}/${key}`), dataDir);
  const localVersions: VersionLister = async (bucket, prefix) => {
    // A query's result is the file that stands in for it.
    const at = (key: string) => queryResults.get(key) ?? localPathOf(project, dataDir, `s3://${bucket}/${key}`);
    // One object's key lists that object, as S3 lists a key as a prefix of itself.
    const files =
      fs.existsSync(at(prefix)) && fs.statSync(at(prefix)).isFile() ? [prefix] : (await storeOf(bucket).list(prefix)).map((f) => f.key);
    return Promise.all(
      files.map(async (key) => {
        const body = await fs.promises.readFile(at(key));
        return { key, size: body.length, etag: createHash('md5').update(body).digest('hex'), versionId: null };
      }),
    );
  };
  const runSpark = async (jobName: string, args: readonly string[]) => {
    try {
      await runSparkJobLocally({ project, purpose, dataDir, runDir, jobName, arguments: args, print });
    } catch (e) {
      const err = e as Error;
      jobFailure = err.name === 'States.TaskFailed' ? JSON.parse(err.message).JobRun.StateDetails : err.message;
      throw e;
    }
  };
  const handlers: Record<string, (params: never) => Promise<unknown>> = {
    RunQuery: async (params: { ExecutionParameters?: string[]; Sql?: string }) => {
      await afterEntered('RunQuery');
      rendered.query = params;
      const id = `local-${shortHash(12, n.name, String(Date.now()))}`;
      const local = purpose.query!.local ? path.relative(o.rootDir, purpose.query!.local) : undefined;
      if (purpose.query!.engine === 'redshift') {
        // The folder the UNLOAD would write, as the job reads it: 000.csv.
        const folder = /TO 's3:\/\/[^/]+\/([^']+)'/.exec(params.Sql ?? '')![1];
        queryResults.set(folder, purpose.query!.local!);
        print(`  query stands in: ${local} for the Redshift UNLOAD into ${folder}`);
        return { Id: id };
      }
      const key = `${purposeQueryResultsPrefix(purpose.name)}${id}.csv`;
      if (purpose.query!.local) {
        queryResults.set(key, purpose.query!.local);
        print(`  query stands in: ${local} (parameters ${JSON.stringify(params.ExecutionParameters ?? [])})`);
      } else {
        // No stand-in: the query itself, with DuckDB over the project's tables in the data folder.
        const out = path.join(runDir, 'query-result.csv');
        const q = purpose.query!;
        try {
          const r = await runLocalQuery({
            sql: q.sql,
            sqlFile: path.relative(o.rootDir, q.file),
            tables: q.tables,
            parameters: params.ExecutionParameters ?? [],
            project,
            dataDir,
            out,
          });
          queryResults.set(key, out);
          print(
            `  query ${path.relative(o.rootDir, q.file)} run with DuckDB over ${q.tables.join(', ')} (parameters ${JSON.stringify(params.ExecutionParameters ?? [])}): ${r.rows} row(s) in ${path.relative(o.rootDir, out)}`,
          );
        } catch (e) {
          // As Athena reports a failed query, so the state machine's failure path names it.
          throw taskError('Athena.InvalidRequestException', (e as Error).message);
        }
      }
      return { QueryExecution: { QueryExecutionId: id, Status: { State: 'SUCCEEDED' }, Statistics: { DataScannedInBytes: 0 } } };
    },
    DescribeQuery: (params: { Id: string }) => Promise.resolve({ Id: params.Id, Status: 'FINISHED' }),
    // A Spark purpose on EMR Serverless: the job run's arguments, run with spark-submit.
    RunSparkJob: async (params: { Name: string; JobDriver: { SparkSubmit: { EntryPointArguments?: string[] } } }) => {
      await afterEntered('RunSparkJob');
      rendered.job = params;
      fs.writeFileSync(path.join(runDir, 'job.json'), JSON.stringify(rendered, null, 2));
      await runSpark(params.Name, params.JobDriver.SparkSubmit.EntryPointArguments ?? []);
      return {
        ApplicationId: 'local',
        JobRunId: 'local',
        Arn: `arn:aws:emr-serverless:local:000000000000:/applications/local/jobruns/local`,
      };
    },
    // Where SageMaker's Spark image reads the Spark properties; here spark-submit gets them with --conf.
    WriteSparkConfiguration: () => Promise.resolve({}),
    RunProcessingJob: async (synthesized: ProcessingJobParams) => {
      await afterEntered('RunProcessingJob');
      if (purpose.spark) {
        rendered.job = synthesized;
        fs.writeFileSync(path.join(runDir, 'job.json'), JSON.stringify(rendered, null, 2));
        await runSpark(synthesized.ProcessingJobName, synthesized.AppSpecification?.ContainerArguments ?? []);
        return {
          ProcessingJobArn: `arn:aws:sagemaker:local:000000000000:processing-job/${synthesized.ProcessingJobName}`,
          ProcessingJobStatus: 'Completed',
        };
      }
      // A secret is given as the project file names it: the synthesized ARN holds this app's stand-in account and region.
      const secretIds = Object.fromEntries(Object.entries(purpose.secrets).map(([name, id]) => [secretIdVariable(name), id]));
      const params = { ...synthesized, Environment: { ...synthesized.Environment, ...secretIds } };
      rendered.job = params;
      fs.writeFileSync(path.join(runDir, 'job.json'), JSON.stringify(rendered, null, 2));
      try {
        const localJob = {
          rootDir: o.rootDir,
          project,
          purpose,
          dataDir,
          engine: engine!,
          python: o.python ?? 'python3',
          spec,
          queryResults,
          runDir,
          print,
        };
        const r = purpose.source ? await runDbSourceLocally(localJob, params) : await runProcessingJobLocally(localJob, params);
        written = r.written;
        scriptMetrics = r.metrics;
      } catch (e) {
        jobFailure = (e as Error).name === 'States.TaskFailed' ? JSON.parse((e as Error).message).FailureReason : (e as Error).message;
        throw e;
      }
      return {
        ProcessingJobArn: `arn:aws:sagemaker:local:000000000000:processing-job/${params.ProcessingJobName}`,
        ProcessingJobStatus: 'Completed',
      };
    },
    // As on AWS, the job wrote below each output's _attempts/<run>/ folder; this makes it the window's result under data/.
    CommitResults: async (params: { bucket: string; outputs: OutputCommit[] }) => {
      await afterEntered('CommitResults');
      const store = storeOf(params.bucket);
      const committed = await commitOutputs(store, params.outputs);
      for (const out of params.outputs) {
        for (const f of await store.list(out.resultPrefix)) outputs.push(localPathOf(project, dataDir, `s3://${params.bucket}/${f.key}`));
      }
      return committed;
    },
    // As on AWS: the window's partitions of each partitioned input listed into a manifest, here from the folders under data/;
    // errors in the shape Lambda reports them, so the state machine's failure path reads them as on AWS.
    ListWindowPartitions: asLambda(async (request: WindowManifestRequest) => {
      await afterEntered('ListWindowPartitions');
      const report = await writeWindowManifests(storeOf, request);
      fs.writeFileSync(path.join(runDir, 'partitions.json'), JSON.stringify(report, null, 2));
      for (const i of report.inputs) {
        print(
          `  input ${i.name}: ${i.days.length} of ${i.days.length + i.missingDays.length} days, ${i.objects} file(s)` +
            (i.missingDays.length > 0 ? `; no partition for ${i.missingDays.join(', ')}` : '') +
            `; manifest ${path.relative(o.rootDir, localPathOf(project, dataDir, i.manifest))}`,
        );
      }
      return report;
    }),
    // The run manifest, as on AWS, from the files under data/ (a local file has no version: null); a copy goes to the run's folder.
    RecordRunInputs: async (request: RecordInputsRequest) => {
      await afterEntered('RecordRunInputs');
      const r = await recordRunInputs(localVersions, storeOf(request.bucket), request);
      inputFiles = r.objects;
      print(`  recorded ${r.objects} input file(s)`);
      return r;
    },
    RecordRunOutputs: async (request: RecordOutputsRequest) => {
      await afterEntered('RecordRunOutputs');
      const r = await recordRunOutputs(localVersions, storeOf(request.bucket), request);
      fs.copyFileSync(localPathOf(project, dataDir, r.manifest), path.join(runDir, 'manifest.json'));
      for (const key of r.unreadableParquet ?? [])
        print(`  warning: ${key} is named .parquet but its footer cannot be read: no rows recorded`);
      print(
        `  manifest: ${r.inputObjects} input and ${r.outputObjects} output file(s)` +
          (r.outputRows !== undefined ? ` (${r.outputRows.toLocaleString('en-US')} row(s) in Parquet)` : '') +
          `, in ${path.relative(o.rootDir, path.join(runDir, 'manifest.json'))}`,
      );
      return r;
    },
    // Each feature group output's result, into the offline store's layout under data/, as SageMaker writes it for each PutRecord.
    ...Object.fromEntries(
      purpose.outputs
        .filter((x) => x.featureGroup)
        .map((output) => [
          `IngestFeatures-${output.name}`,
          asLambda(async (request: FeatureIngestRequest) => {
            await afterEntered(`IngestFeatures-${output.name}`);
            const folder = localPathOf(project, dataDir, `s3://${request.bucket}/${output.featureGroup!.prefix}`);
            const r = await writeOfflineStore(storeOf(request.bucket), request, folder, n.name);
            print(
              `  feature group ${request.featureGroupName}: ${r.records} record(s) in its offline store, ${path.relative(o.rootDir, folder)}/ (${r.files.length} hour partition(s))` +
                (output.featureGroup!.online ? '; the online store is not kept here' : ''),
            );
            return {};
          }),
        ]),
    ),
    // Each table output's profile, as Athena makes it on AWS, here with DuckDB over what the attempt wrote; a failure as Athena reports one.
    ...Object.fromEntries(
      purpose.outputs
        .filter((x) => x.table)
        .map((output) => [
          `Profile-${output.name}`,
          async (params: { ExecutionParameters: string[] }) => {
            await afterEntered(`Profile-${output.name}`);
            const id = `local-profile-${output.name}`;
            try {
              const table = attemptTable(dataDir, purpose.name, output.name, output.table!, attemptOf(params));
              const about = { purpose: purpose.name, output: output.name, runId: n.name, window: input.window };
              profiles.set(id, await profileTable(table, about, output.rules));
            } catch (e) {
              throw taskError(
                'States.TaskFailed',
                `DuckDB could not profile output ${output.name}: ${(e as Error).message.split('\n')[0]}`,
              );
            }
            return { QueryExecution: { QueryExecutionId: id, Status: { State: 'SUCCEEDED' } } };
          },
        ]),
    ),
    // Each table output's sample, as Athena draws it on AWS, here with DuckDB's reservoir sampling.
    ...Object.fromEntries(
      purpose.outputs
        .filter((x) => x.table && x.sample > 0)
        .map((output) => [
          `Sample-${output.name}`,
          async (params: { ExecutionParameters: string[] }) => {
            await afterEntered(`Sample-${output.name}`);
            const id = `local-sample-${output.name}`;
            const file = path.join(runDir, 'samples', `${output.name}.csv`);
            fs.mkdirSync(path.dirname(file), { recursive: true });
            try {
              await sampleTable(attemptTable(dataDir, purpose.name, output.name, output.table!, attemptOf(params)), output.sample, file);
            } catch (e) {
              throw taskError('States.TaskFailed', `DuckDB could not sample output ${output.name}: ${(e as Error).message.split('\n')[0]}`);
            }
            samples.set(id, file);
            return { QueryExecution: { QueryExecutionId: id, Status: { State: 'SUCCEEDED' } } };
          },
        ]),
    ),
    // As on AWS (lib/runtime/output-checks.ts): profiles kept under the data folder's _batcat/, rules checked; a copy in the run's folder.
    CheckOutputRules: asLambda(async (request: OutputChecksRequest) => {
      await afterEntered('CheckOutputRules');
      const store = storedProfiles(
        storeOf(request.bucket),
        request,
        (x) => {
          const p = profiles.get(x.queryExecutionId ?? '');
          return p ? Promise.resolve(p) : Promise.reject(new Error('DuckDB could not read its files (see above)'));
        },
        async (x) => {
          if (x.sampleQueryExecutionId === undefined) return undefined;
          const file = samples.get(x.sampleQueryExecutionId);
          if (file === undefined) throw new Error('DuckDB could not draw it (see above)');
          return fs.promises.readFile(file, 'utf8');
        },
      );
      const r = await checkOutputs(request, store, (line) => print(`  ${line}`));
      for (const [output, key] of Object.entries(r.profiles)) {
        const file = path.join(runDir, 'profiles', `${output}.json`);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.copyFileSync(localPathOf(project, dataDir, `s3://${request.bucket}/${key}`), file);
        profiled.push({ output, file, rows: (JSON.parse(fs.readFileSync(file, 'utf8')) as TableProfile).rows });
      }
      if (r.warned && !r.failed) print(r.reason);
      return r;
    }),
    CountRuleWarnings: () => Promise.resolve({}),
    // The runs folder is the local run ledger (status.json), so the state machine's ledger writes are recorded there instead.
    RecordRunStart: () => Promise.resolve({}),
    RecordReadStart: () => Promise.resolve({}),
    RecordRunSuccess: () => Promise.resolve({}),
    RecordRunFailure: () => Promise.resolve({}),
    // The completion event AWS would put on the default bus, kept in the run's folder.
    ...Object.fromEntries(
      ['PublishRunSucceeded', 'PublishRunFailed'].map((state) => [
        state,
        (params: { Entries: Array<Record<string, unknown>> }) => {
          fs.writeFileSync(path.join(runDir, 'event.json'), JSON.stringify(params.Entries[0], null, 2));
          return Promise.resolve({ FailedEntryCount: 0, Entries: [{ EventId: 'local' }] });
        },
      ]),
    ),
    // A failed run ends here, as on AWS; run-local has no redrive (run it again).
    AwaitRedrive: asLambda(awaitRedrive),
    NotifyFailure: (params: unknown) => {
      fs.writeFileSync(path.join(runDir, 'notification.json'), JSON.stringify(params, null, 2));
      return Promise.resolve({ MessageId: 'local' });
    },
    // What `aws-sdk:s3:listObjectsV2` answers for an output's partition: the files the run wrote there locally.
    ...Object.fromEntries(
      purpose.outputs.map((o) => [
        `CountOutput-${o.name}`,
        (params: { Bucket: string; Prefix: string }) => {
          const folder = localPathOf(project, dataDir, `s3://${params.Bucket}/${params.Prefix}`);
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
      retryIntervalOverrides: { RunProcessingJob: 0, RunQuery: 0, CheckOutputRules: 0 },
      waitTimeOverrides: { WaitForQuery: 0 },
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
    const error: string = notified?.error ?? err.name;
    // The notification's reason links CloudWatch, which means nothing here: the script's own exit and stderr do.
    let cause: string = jobFailure ?? notified?.reason ?? err.message;
    if (error === 'BatCat.EmptyOutput') {
      cause +=
        written.length > 0 ? ` The script wrote files to: ${written.join(', ')}.` : ' The script wrote no files below /opt/ml/processing/.';
    }
    result = { status: 'FAILED', runId: n.name, runDir, outputs, error, cause };
  } finally {
    await logging.catch(() => undefined);
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
  const parsed = parseMetrics(scriptMetrics, ended);
  for (const p of parsed.problems) print(`warning: ${METRICS_FILE} ${p}; that line was not recorded`);
  const at = (f: string) => path.join(runDir, f);
  writeMlflowRun(runsStore, {
    experiment: purpose.name,
    runId: n.name,
    status: result.status === 'SUCCEEDED' ? 'FINISHED' : 'FAILED',
    startTime: started,
    endTime: ended,
    params: mlflowParams,
    tags: {
      ...mlflowTags,
      'batcat.status': result.status,
      ...(fs.existsSync(at('manifest.json')) ? { 'batcat.manifest': path.relative(o.rootDir, at('manifest.json')) } : {}),
      ...(result.error ? { 'batcat.error': result.error, 'mlflow.note.content': (result.cause ?? '').slice(0, 5000) } : {}),
    },
    metrics: [
      { name: 'duration_seconds', value: (ended - started) / 1000, step: 0, timestamp: ended },
      ...(inputFiles !== undefined ? [{ name: 'input_files', value: inputFiles, step: 0, timestamp: ended }] : []),
      { name: 'output_files', value: outputs.length, step: 0, timestamp: ended },
      { name: 'output_bytes', value: outputs.reduce((b, f) => b + fs.statSync(f).size, 0), step: 0, timestamp: ended },
      ...profiled.map((p) => ({ name: `${p.output}.rows`, value: p.rows, step: 0, timestamp: ended })),
      ...parsed.metrics,
    ],
    artifacts: Object.fromEntries([
      ...['manifest.json', 'job.json', 'input.json', 'stdout.log', 'stderr.log'].filter((f) => fs.existsSync(at(f))).map((f) => [f, at(f)]),
      ...outputs.map((f) => [`outputs/${path.relative(dataDir, f).split(path.sep).join('/')}`, f]),
      ...profiled.map((p) => [`profiles/${p.output}.json`, p.file]),
    ]),
  });
  if (result.status === 'SUCCEEDED') {
    print(`run ${n.name} succeeded in ${((ended - started) / 1000).toFixed(1)} s; outputs:`);
    for (const f of outputs) print(`  ${path.relative(o.rootDir, f)}`);
  } else {
    print(`run ${n.name} FAILED: ${result.error}: ${result.cause}`);
    if (jobFailure !== undefined && fs.existsSync(path.join(runDir, 'stderr.log'))) {
      print(`the script's whole stderr: ${path.relative(o.rootDir, path.join(runDir, 'stderr.log'))}`);
    }
  }
  print(`recorded in ${path.relative(o.rootDir, runDir)}/`);
  return result;
}

/** The attempt a profile or sample query is bound to: its one parameter, the quoted execution name. */
function attemptOf(params: { ExecutionParameters: string[] }): string {
  return params.ExecutionParameters[0].replace(/^'|'$/g, '');
}
