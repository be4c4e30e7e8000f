import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { jobNamePrefix, MAX_STATE_MACHINE_NAME_LENGTH, purposeStateMachineName, resultsPrefix } from '../../contract/names';
import { defaultOutputPath, PROCESSING_DEFAULTS, RUN_DEFAULTS } from '../../contract/processing';
import {
  argumentProblems,
  duplicateProblems,
  entrypointProblem,
  environmentProblems,
  folderOverlapProblems,
  secretReferenceProblems,
  show,
  maxWindowProblem,
  wholeNumberProblem,
  completeInputProblem,
  partitionedObjectProblem,
  purposeNameProblem,
  quotaWaitProblem,
  codeInputClashProblem,
  queryInputClashProblem,
  s3ArrivalInputProblem,
  settleProblem,
  scriptFileProblem,
  scriptWithEntrypointProblem,
  sourceWithoutScriptProblem,
  windowDaysProblem,
  sparkCapacityProblem,
  sparkConfigProblems,
  sparkReleaseProblem,
  sparkRuntimeProblem,
  sparkScriptProblem,
  sparkSettingProblem,
} from '../../contract/rules';
import type { PlaceholderScope } from '../../contract/processing';
import { defaultSparkRelease, SPARK_DEFAULTS, sparkEventLogsPrefix, sparkLogsPrefix, sparkProperties } from '../../contract/spark';
import type { ISparkApplication, SparkCapacity } from '../spark-application';
import { windowManifestsPrefix } from '../../contract/window-manifest';
import { S3_SETTLE_DEFAULTS } from '../../contract/run-input';
import { parameterSpecProblems } from '../../contract/parameters';
import { rulesProblems } from '../../contract/data-rules';
import { MAX_SAMPLE_ROWS } from '../../contract/profile';
import { QueryParameter, SparkRuntime, type OutputTable, type PurposeInput, type PurposeProps } from '../purpose-props';
import type { IQueryWorkGroup } from '../query-workgroup';
import { check, scopedError } from './errors';
import { generatedName } from './generated-name';
import { DataBucket } from '../data-bucket';

/** A Purpose's props, checked, with defaults applied and names derived. */
export interface ResolvedPurpose {
  readonly props: BucketedPurposeProps;
  readonly stateMachineName: string;
  readonly jobNamePrefix: string;
  readonly inputs: readonly PurposeInput[];
  /** The partitioned inputs a run of more than one day reads through a manifest: none when every run is one day. */
  readonly windowInputs: readonly PurposeInput[];
  /** The folder of the purpose's window manifests, in its bucket. */
  readonly manifestsPrefix: string;
  /** Where a Redshift query unloads, one folder per run below `prefix`; absent without one. */
  readonly redshiftResults?: { readonly bucket: s3.IBucket; readonly prefix: string };
  readonly outputs: ReadonlyArray<{
    readonly name: string;
    readonly keyPrefix: string;
    readonly required: boolean;
    /** Where the script writes it in the container. */
    readonly localPath: string;
  }>;
  /** The outputs with a table: each run profiles it and checks its rules, in this workgroup. */
  readonly tables: ReadonlyArray<{ readonly output: string; readonly keyPrefix: string; readonly table: OutputTable }>;
  readonly profileWorkGroup?: IQueryWorkGroup;
  readonly s3Arrival: ReadonlyArray<{
    readonly input: string;
    readonly prefix: string;
    readonly suffix?: string;
    readonly bucket: s3.IBucket;
    readonly settleSeconds: number;
    readonly maxSettleSeconds: number;
  }>;
  readonly windowDays: number;
  readonly maxWindowDays: number;
  readonly maxRuntime: Duration;
  readonly quotaWait: Duration;
  /** The execution's timeout: the quota wait, the job's runtime, the longest settle, and an hour for the rest. */
  readonly timeout: Duration;
  /** What each `?` of the query is bound to; empty without a query. */
  readonly queryParameters: readonly QueryParameter[];
  /** The names the arguments' placeholders may refer to. */
  readonly placeholders: PlaceholderScope;
  /** How the script runs with Spark; absent for a processing job's script or image. */
  readonly spark?: ResolvedSpark;
}

/** A Spark purpose's settings, with defaults. */
export interface ResolvedSpark {
  readonly runtime: SparkRuntime;
  /** The EMR release label or the SageMaker Spark version. */
  readonly release: string;
  /** BatCat's properties and the purpose's. */
  readonly config: Readonly<Record<string, string>>;
  readonly pyFiles: readonly string[];
  readonly mainClass?: string;
  readonly eventLogs: boolean;
  readonly application?: ISparkApplication;
  readonly maxCapacity?: SparkCapacity;
  /** EMR Serverless' logs, one folder per attempt below, in the purpose's bucket. */
  readonly logsPrefix: string;
  /** Spark's event logs, in the purpose's bucket. */
  readonly eventLogsPrefix: string;
}

/**
 * Checks a Purpose's props with the same rules the project file is checked with, and resolves
 * the values the construct derives from them.
 */
/** The props once the purpose's bucket is known: the one given, or its own. */
export type BucketedPurposeProps = PurposeProps & { readonly bucket: s3.IBucket };

export function resolvePurposeProps(scope: Construct, props: BucketedPurposeProps): ResolvedPurpose {
  check(scope, purposeNameProblem(props.purposeName));
  const spark = props.spark && resolveSpark(scope, props);
  if (!spark && (props.containerDirectory === undefined) === (props.image === undefined)) {
    throw scopedError(scope, `purpose '${props.purposeName}' needs exactly one of containerDirectory or image (or spark, with a script)`);
  }
  if (props.outputs.length === 0) throw scopedError(scope, 'a purpose needs at least one output; declare e.g. outputs: [{ name: result }]');
  if (props.trigger === false) {
    const needTrigger = (['schedule', 's3Arrival', 'after', 'freshness'] as const).filter((k) => props[k] !== undefined);
    if (needTrigger.length > 0) {
      throw scopedError(
        scope,
        `${needTrigger.join(', ')} ${needTrigger.length === 1 ? 'needs' : 'need'} the trigger, and trigger is false; leave ${needTrigger.length === 1 ? 'it' : 'them'} out, or keep the trigger`,
      );
    }
  }
  for (const p of environmentProblems(props.environment ?? {})) check(scope, p.message);
  // The secrets are constructs here: only their names and the network are checked.
  const secretNames = Object.fromEntries(Object.keys(props.secrets ?? {}).map((name) => [name, 'secret']));
  for (const p of secretReferenceProblems(secretNames, props.environment ?? {}, props.networkIsolation ?? true)) check(scope, p.message);
  const inputs = props.inputs ?? [];
  for (const [kind, names] of [
    ['input', inputs.map((i) => i.name)],
    ['output', props.outputs.map((o) => o.name)],
  ] as const) {
    for (const d of duplicateProblems(kind, names)) check(scope, d.message);
  }
  if (props.query && props.redshiftQuery)
    throw scopedError(scope, 'give query (Athena) or redshiftQuery, not both: a purpose has one query');
  if (props.query || props.redshiftQuery) check(scope, queryInputClashProblem(inputs.map((i) => i.name)));
  if (props.script !== undefined) {
    check(scope, codeInputClashProblem(inputs.map((i) => i.name)));
    if (!spark) check(scope, scriptFileProblem(props.script));
  }
  check(scope, scriptWithEntrypointProblem(props.script, props.entrypoint));
  check(scope, sourceWithoutScriptProblem('sourceDirectory', props.sourceDirectory, props.script));
  check(scope, entrypointProblem(props.entrypoint ?? []));
  for (const p of parameterSpecProblems(props.parameters ?? {}))
    check(scope, `parameters${p.path.map((k) => `.${k}`).join('')}: ${p.message}`);
  const placeholders: PlaceholderScope = {
    parameters: Object.keys(props.parameters ?? {}),
    inputs: [...inputs.map((i) => i.name), ...(props.query || props.redshiftQuery ? ['query'] : [])],
    outputs: props.outputs.map((o) => o.name),
  };
  for (const p of argumentProblems('arguments', props.arguments ?? [], placeholders)) check(scope, p.message);

  const stateMachineName =
    props.namePrefix === undefined
      ? generatedName(scope, MAX_STATE_MACHINE_NAME_LENGTH)
      : purposeStateMachineName(props.namePrefix, props.purposeName);
  if (stateMachineName.length > MAX_STATE_MACHINE_NAME_LENGTH) {
    throw scopedError(
      scope,
      `state machine name '${stateMachineName}' is ${stateMachineName.length} characters; at most ${MAX_STATE_MACHINE_NAME_LENGTH} are allowed, so shorten namePrefix or purposeName`,
    );
  }

  const windowDays = wholeDays(scope, 'window', props.window ?? Duration.days(RUN_DEFAULTS.windowDays));
  const maxWindowDays = wholeDays(scope, 'maxWindow', props.maxWindow ?? Duration.days(windowDays));
  check(scope, maxWindowProblem(windowDays, maxWindowDays));
  for (const i of inputs) {
    if (i.complete) check(scope, completeInputProblem(i.name, i.partitioned === true));
    if (i.partitioned) check(scope, partitionedObjectProblem(i.name, i.keyPrefix));
  }

  // A folder whose bucket sends events to EventBridge: the purpose's own, or another DataBucket (another purpose's, per-purpose storage).
  const ownFolders = inputs.filter((i) => i.bucket === undefined || i.bucket === props.bucket || i.bucket instanceof DataBucket);
  const s3Arrival = (props.s3Arrival ?? []).map((a) => {
    check(
      scope,
      s3ArrivalInputProblem(
        a.input,
        ownFolders.map((i) => i.name),
      ),
    );
    const input = ownFolders.find((i) => i.name === a.input)!;
    const settleSeconds = a.settle?.toSeconds() ?? (a.suffix ? 0 : S3_SETTLE_DEFAULTS.settleSeconds);
    const maxSettleSeconds = a.maxSettle?.toSeconds() ?? S3_SETTLE_DEFAULTS.maxSettleSeconds;
    check(
      scope,
      settleProblem(settleSeconds, maxSettleSeconds, { settle: a.settle?.toHumanString(), maxSettle: a.maxSettle?.toHumanString() }),
    );
    return {
      input: a.input,
      prefix: input.keyPrefix,
      suffix: a.suffix,
      bucket: input.bucket ?? props.bucket,
      settleSeconds,
      maxSettleSeconds,
    };
  });

  const outputs = props.outputs.map((o) => ({
    name: o.name,
    keyPrefix: o.keyPrefix ?? resultsPrefix(props.purposeName, o.name),
    required: o.required ?? true,
    localPath: o.localPath ?? defaultOutputPath(o.name),
  }));
  // Within the purpose's bucket: its outputs apart from each other, its own inputs and the query results.
  const folders = [
    ...outputs.map((o) => ({ name: `output ${show(o.name)}`, prefix: o.keyPrefix, writes: true })),
    ...inputs.filter((i) => i.bucket === undefined).map((i) => ({ name: `input ${show(i.name)}`, prefix: i.keyPrefix, writes: false })),
  ];
  const redshiftResults = props.redshiftQuery && {
    bucket: props.redshiftQuery.resultsBucket ?? props.bucket,
    prefix: props.redshiftQuery.resultsPrefix ?? `_batcat/redshift-results/${props.purposeName}/`,
  };
  const queryResults =
    props.query && props.query.workGroup.resultsBucket === props.bucket
      ? props.query.workGroup.resultsPrefix
      : redshiftResults?.bucket === props.bucket
        ? redshiftResults.prefix
        : undefined;
  for (const p of folderOverlapProblems(folders, queryResults)) check(scope, p.message);

  const tables = props.outputs.flatMap((o, k) => (o.table ? [{ output: o.name, keyPrefix: outputs[k].keyPrefix, table: o.table }] : []));
  for (const { output, table } of tables) {
    if (table.columns.length === 0)
      throw scopedError(
        scope,
        `output '${output}': table ${table.tableName} has no columns, so there is nothing to profile or check; list them (columns)`,
      );
    check(
      scope,
      table.sampleRows === undefined
        ? undefined
        : wholeNumberProblem(`output '${output}': sampleRows`, table.sampleRows, 0, MAX_SAMPLE_ROWS),
    );
    for (const p of rulesProblems(table.rules ?? {}, table.columns))
      throw scopedError(scope, `output '${output}': rules.${p.path.join('.')}: ${p.message}`);
  }
  const profileWorkGroup = props.profileWorkGroup ?? props.query?.workGroup;
  if (tables.length > 0 && !profileWorkGroup)
    throw scopedError(
      scope,
      `output '${tables[0].output}' has a table, whose profile query needs an Athena workgroup; give profileWorkGroup (or a query, whose workgroup is used)`,
    );

  const maxRuntime = props.maxRuntime ?? Duration.seconds(PROCESSING_DEFAULTS.maxRuntimeSeconds);
  // EMR Serverless has no instance quota: its job starts when the application has capacity.
  const quotaWait =
    spark?.runtime === SparkRuntime.EMR_SERVERLESS
      ? Duration.seconds(0)
      : (props.quotaWait ?? Duration.seconds(PROCESSING_DEFAULTS.quotaWaitSeconds));
  if (quotaWait.toSeconds() > 0) check(scope, quotaWaitProblem(quotaWait.toSeconds(), quotaWait.toHumanString()));
  return {
    props,
    stateMachineName,
    jobNamePrefix: jobNamePrefix(props.purposeName, stateMachineName),
    inputs,
    windowInputs: maxWindowDays > 1 ? inputs.filter((i) => i.partitioned) : [],
    manifestsPrefix: windowManifestsPrefix(props.purposeName),
    redshiftResults,
    outputs,
    tables,
    profileWorkGroup,
    s3Arrival,
    windowDays,
    maxWindowDays,
    maxRuntime,
    quotaWait,
    timeout: Duration.seconds(
      quotaWait.toSeconds() +
        maxRuntime.toSeconds() +
        3600 +
        Math.max(0, ...s3Arrival.filter((a) => a.settleSeconds > 0).map((a) => a.maxSettleSeconds)),
    ),
    queryParameters: props.query ? (props.query.parameters ?? [QueryParameter.WINDOW_START, QueryParameter.WINDOW_END]) : [],
    placeholders,
    spark,
  };
}

/** A Spark purpose's settings, checked, with the runtime's defaults. */
function resolveSpark(scope: Construct, props: BucketedPurposeProps): ResolvedSpark {
  const spark = props.spark!;
  const runtime = spark.runtime ?? SparkRuntime.EMR_SERVERLESS;
  check(scope, sparkRuntimeProblem(runtime));
  if (props.script === undefined) {
    throw scopedError(scope, `spark runs the purpose's script: add script, the PySpark script (or jar with spark.mainClass) to run`);
  }
  check(scope, sparkScriptProblem(props.script, spark.mainClass));
  const given: Record<string, unknown> = {
    containerDirectory: props.containerDirectory,
    image: props.image,
    entrypoint: props.entrypoint,
    sourceDirectory: props.sourceDirectory,
    instanceType: props.instanceType,
    instanceCount: props.instanceCount,
    volumeSize: props.volumeSize,
    vpc: props.vpc,
    networkIsolation: props.networkIsolation,
    quotaWait: props.quotaWait,
  };
  const named: Record<string, string> = { containerDirectory: 'container', sourceDirectory: 'sourceDir', volumeSize: 'volumeSizeGb' };
  for (const [setting, value] of Object.entries(given)) {
    if (value !== undefined) check(scope, sparkSettingProblem(runtime, named[setting] ?? setting, setting));
  }
  if (runtime === SparkRuntime.SAGEMAKER && spark.application)
    throw scopedError(scope, 'spark.application is an EMR Serverless application; runtime sagemaker runs the job on SageMaker');
  if (spark.maxCapacity) check(scope, sparkCapacityProblem(runtime, spark.application !== undefined));
  const release = spark.release ?? defaultSparkRelease(runtime);
  check(scope, sparkReleaseProblem(runtime, release));
  for (const p of sparkConfigProblems(spark.config ?? {})) check(scope, p.message);
  for (const f of spark.pyFiles ?? []) {
    if (!path.isAbsolute(f)) throw scopedError(scope, `spark.pyFiles: '${f}' must be an absolute path`);
    if (!fs.existsSync(f)) throw scopedError(scope, `spark.pyFiles: '${f}' does not exist`);
  }
  return {
    runtime,
    release,
    config: sparkProperties(spark.config ?? {}),
    pyFiles: spark.pyFiles ?? [],
    mainClass: spark.mainClass,
    eventLogs: spark.eventLogs ?? SPARK_DEFAULTS.eventLogs,
    application: spark.application,
    maxCapacity: spark.maxCapacity,
    logsPrefix: sparkLogsPrefix(props.purposeName),
    eventLogsPrefix: sparkEventLogsPrefix(props.purposeName),
  };
}

/** A duration as a whole number of days, or an error naming `what`. */
function wholeDays(scope: Construct, what: string, d: Duration): number {
  const days = d.toHours() / 24;
  check(scope, windowDaysProblem(what, days, d.toHumanString()));
  return days;
}
