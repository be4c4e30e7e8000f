import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OnViolation, OutputRules } from '../contract/data-rules';
import { DEFAULT_SAMPLE_ROWS } from '../contract/profile';
import {
  INGEST_BUFFER_DEFAULTS,
  INGEST_FRESHNESS_MARGIN_SECONDS,
  ingestTableName,
  type IngestFormat,
  type IngestPartitioning,
} from '../contract/ingest';
import { ownedFolders, type OwnedFolder, type StorageMode, type StoragePurpose } from '../contract/storage';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { BRANCH_CONTEXT_FILE, branchContextKey, branchProblem, branchRolePath, type BranchStage } from '../contract/branch';
import { projectDatabaseName, projectStackName, resultsPrefix, resultTableName, rolePath } from '../contract/names';
import { frameworkImage, type FrameworkImage } from '../contract/frameworks';
import {
  defaultInputPath,
  defaultOutputPath,
  PROCESSING_DEFAULTS,
  RUN_DEFAULTS,
  type CompressionType,
  type InputMode,
  type UploadMode,
} from '../contract/processing';
import { parseEcrImageUri, parseS3Uri, type EcrImage } from '../contract/s3-uri';
import { countPlaceholders, type QueryEngine, type UnloadFormat } from '../contract/sql';
import { DEFAULT_KEEP_VERSIONS_DAYS, stageProblem } from '../contract/rules';
import { FIELD_EXAMPLES, projectSchema, type ProjectFile } from './project-schema';
import type { DbEngine } from '../contract/db-source';
import { featureGroupName, featureStorePrefix, featureTableName } from '../contract/feature-store';
import { defaultSparkRelease, SPARK_DEFAULTS, type SparkRuntimeName } from '../contract/spark';
import { parseDays, parseDuration, parseSize, parseVcpu } from './units';
import type { ParameterSpec } from '../contract/parameters';

/** `line L:C: ...` as `file:L:C: ...`, which editors and terminals open at that place. */
function placed(file: string, problem: string): string {
  return problem.replace(/^line (\d+):(\d+): /, `${file}:$1:$2: `);
}

/**
 * Thrown when a project file is invalid; `problems` holds one line per problem, starting with
 * `line L:C: ` where the file has a place for it. The message shows them as `file:L:C: `,
 * which editors and terminals open at that place.
 */
export class ProjectConfigError extends Error {
  constructor(
    public readonly file: string,
    public readonly problems: string[],
  ) {
    const shown = problems.map((p) => `  ${placed(file, p).replace(/\n/g, '\n    ')}`);
    super(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${shown.join('\n')}`);
    this.name = 'ProjectConfigError';
  }
}

/** An input as the constructs need it: always a bucket folder, the bucket absent for the project bucket. */
export interface InputConfig {
  readonly name: string;
  /** Another bucket; absent for the project bucket. */
  readonly bucket?: string;
  /** The ARN of the KMS key that encrypts the other bucket's objects, when it is not S3's own. */
  readonly kmsKey?: string;
  /** The folder, ending with '/' (for `from` inputs, the other purpose's output folder), or one object's key. */
  readonly prefix: string;
  /** Where the input is copied in the container. */
  readonly localPath: string;
  readonly mode: InputMode;
  readonly compression: CompressionType;
  /** The output this input reads, when it is another purpose's. */
  readonly from?: { readonly purpose: string; readonly output: string };
  /** Each run reads only the `<prefix>dt=<day>/` partitions of its window's days. */
  readonly partitioned: boolean;
  /** A run fails when a day of its window has no partition. */
  readonly complete: boolean;
  readonly distribution: 'FullyReplicated' | 'ShardedByS3Key';
}

/** A purpose as the constructs need it: defaults applied, paths absolute, values parsed. */
/** A Spark purpose's settings, with defaults. */
export interface SparkConfig {
  readonly runtime: SparkRuntimeName;
  /** The EMR release label (emr-serverless) or Spark version (sagemaker). */
  readonly release: string;
  /** EMR Serverless: the bound of the purpose's share of the application, when the file gives one. */
  readonly maxCapacity?: { readonly cpu: number; readonly memoryGb: number };
  /** Spark properties, as text. */
  readonly config: Readonly<Record<string, string>>;
  /** Absolute paths of the --py-files (files and package folders). */
  readonly pyFiles: readonly string[];
  readonly mainClass?: string;
  readonly eventLogs: boolean;
}

export interface PurposeConfig {
  readonly name: string;
  readonly description?: string;
  /** Absolute path of the container folder, when the image is built here. */
  readonly containerDir?: string;
  /** An existing ECR image, when the image is not built here. */
  readonly image?: EcrImage & { readonly uri: string };
  /** A SageMaker framework image (`sklearn:1.2-1`), when the image is not built here. */
  readonly framework?: FrameworkImage;
  /** Script mode: the script (absolute), run as `python3 /opt/ml/processing/input/code/<path in sourceDir>`. */
  readonly script?: string;
  /** Script mode: the folder uploaded with the script (absolute). */
  readonly sourceDir?: string;
  /** The script runs with Spark, on EMR Serverless or SageMaker's Spark image. */
  readonly spark?: SparkConfig;
  /** BatCat's ingestion program copies a table or query of this database into the purpose's one output. */
  readonly source?: DatabaseSourceConfig;
  /** Replaces the image's entrypoint. */
  readonly entrypoint?: readonly string[];
  /** Container arguments, with `{window.start}`, `{window.end}`, `{window.endExclusive}` and `{run.id}` rendered per run. */
  readonly arguments?: readonly string[];
  /** Typed run parameters, by name; empty when the purpose declares none. */
  readonly parameters: Readonly<Record<string, ParameterSpec>>;
  /** Skip a run whose code, arguments, parameters and inputs equal those of the window's result. */
  readonly cache: boolean;
  /** The container has no network (SageMaker still moves the inputs and outputs). */
  readonly networkIsolation: boolean;
  /** The job's network interfaces, when it runs in a VPC. */
  readonly vpc?: { readonly subnetIds: readonly string[]; readonly securityGroupIds: readonly string[] };
  readonly instanceType: string;
  readonly instanceCount: number;
  readonly volumeSizeGb: number;
  readonly maxRuntimeSeconds: number;
  /** How long a run waits for instance quota before it fails. */
  readonly quotaWaitSeconds: number;
  /** How late the newest result may be beyond one window; undefined: no freshness check. */
  readonly freshnessSeconds?: number;
  readonly environment: Record<string, string>;
  /** Secrets Manager secrets (name or ARN) the script reads at run time, by the name it knows them by. */
  readonly secrets: Record<string, string>;
  readonly inputs: readonly InputConfig[];
  readonly outputs: ReadonlyArray<{
    readonly name: string;
    readonly prefix: string;
    /** Where the script writes it in the container. */
    readonly localPath: string;
    readonly uploadMode: UploadMode;
    /** A run that writes nothing to this output fails. */
    readonly required: boolean;
    /** The Glue table the output is registered as, in the project database. */
    readonly table?: ResultTableConfig;
    /** What every run's profile of the table must show (lib/contract/data-rules.ts). */
    readonly rules?: OutputRules;
    /** What a run that breaks a rule does. */
    readonly onViolation: OnViolation;
    /** How many rows of the table each run keeps as its sample (0: none). */
    readonly sample: number;
    /** The feature group each run's committed result is put into. */
    readonly featureGroup?: FeatureGroupConfig;
  }>;
  /** An Athena query that runs before the job; its result is the job's input `query`. */
  readonly query?: QueryConfig;
  /** The days one scheduled run or one backfill window covers. */
  readonly windowDays: number;
  /** The most days one manual run may cover. */
  readonly maxWindowDays: number;
  /** How many backfill runs may run at once. */
  readonly backfillConcurrency: number;
  /** The time zone of the schedule, which decides the day a tick falls on. */
  readonly timezone: string;
  /** An EventBridge Scheduler expression: `cron(...)` or `rate(...)`. */
  readonly schedule?: string;
  /** Objects created under these inputs' folders start runs. */
  readonly s3Arrival: ReadonlyArray<{
    readonly input: string;
    readonly prefix: string;
    readonly suffix?: string;
    /** How long a run waits for its window's objects to settle, in seconds; undefined: the construct's default. */
    readonly settleSeconds?: number;
    readonly maxSettleSeconds?: number;
  }>;
  /** Runs start when this purpose of the same project succeeds. */
  readonly after?: string;
}

/** A feature group over an output: its features are the output table's columns. */
export interface FeatureGroupConfig {
  readonly name: string;
  readonly recordId: string;
  readonly eventTime: string;
  readonly online: boolean;
  readonly description?: string;
  /** The offline store's folder in the purpose's bucket, and its Glue table in the project database. */
  readonly prefix: string;
  readonly tableName: string;
}

/** A database source purpose's database and what it copies. */
export interface DatabaseSourceConfig {
  readonly engine: DbEngine;
  /** The Secrets Manager secret (name or ARN) with host, port, username, password and dbname. */
  readonly secret: string;
  readonly table?: string;
  /** The query file (absolute), SQL with `:start` and `:end`. */
  readonly queryFile?: string;
  /** The column whose value places a row in a window; absent: every row, each run. */
  readonly incremental?: string;
  /** The database run-local reads (a URL without password), unless BATCAT_SOURCE_URL names one. */
  readonly local?: string;
}

/** An output registered as a Glue table, partitioned by `dt`. */
export interface ResultTableConfig {
  readonly name: string;
  readonly description?: string;
  readonly format: 'csv' | 'parquet';
  readonly columns: ReadonlyArray<{ readonly name: string; readonly type: string }>;
}

/** A purpose's Athena query. */
export interface QueryConfig {
  /** Athena over Glue tables, or Redshift through the Data API. */
  readonly engine: QueryEngine;
  /** With engine `redshift`: where it runs, as whom, and what the UNLOAD writes. */
  readonly redshift?: {
    readonly workgroup?: string;
    readonly cluster?: string;
    /** The name or ARN of the Secrets Manager secret with the database user's credentials. */
    readonly secret: string;
    readonly format: UnloadFormat;
  };
  /** The query file, absolute. */
  readonly file: string;
  /** Its text. */
  readonly sql: string;
  /** The Glue database (Athena) or the Redshift database. */
  readonly database: string;
  /** The Glue tables an Athena query reads; empty for Redshift. */
  readonly tables: readonly string[];
  /**
   * The S3 folders the tables read: `bucket` is absent for the project bucket.
   * For the project's own tables, their output folders.
   */
  readonly locations: ReadonlyArray<{ readonly bucket?: string; readonly prefix: string }>;
  /** What each `?` is bound to, in order. */
  readonly parameters: ReadonlyArray<'start' | 'end'>;
  /** A CSV that stands in for the query's result in local runs (absolute). */
  readonly local?: string;
}

/** A managed stream into a raw folder (`ingest:`). */
export interface IngestConfig {
  readonly name: string;
  /** The folder of the project's storage it delivers into, as `dt=YYYY-MM-DD/` partitions. */
  readonly prefix: string;
  readonly format: IngestFormat;
  /** The Glue table over the folder, in the stream's format; absent for a JSON stream without columns. */
  readonly table?: Omit<ResultTableConfig, 'format'>;
  readonly partitioning: IngestPartitioning;
  readonly bufferSeconds: number;
  readonly bufferMb: number;
  /** The freshness alarm's threshold: the age of the oldest record not yet delivered. */
  readonly freshnessSeconds: number;
}

/** A validated project file. */
export interface ProjectConfig {
  /** The file it was read from, relative to the project root where possible. */
  readonly file: string;
  /** The folder that holds projects/, containers/ and queries/. */
  readonly rootDir: string;
  readonly project: string;
  readonly stage: string;
  readonly description?: string;
  readonly alarmEmails: readonly string[];
  /**
   * Who besides the stage's own roles may read and write the project's data: IAM principal ARN
   * patterns, matched as `aws:PrincipalArn` by the data bucket's and key's policies.
   */
  readonly dataAccess: readonly string[];
  /** Whether each purpose owns a bucket (`per-purpose`) or all share the project bucket (`shared`). */
  readonly storage: StorageMode;
  /**
   * In an account where Lake Formation governs the Data Catalog: grant the query roles Lake
   * Formation permissions on the tables they read, and register the project's buckets when
   * `registerLocations`. Absent: IAM alone decides.
   */
  readonly lakeFormation?: { readonly registerLocations: boolean };
  /** How many days the data buckets keep the versions an overwrite or delete replaced. */
  readonly keepVersionsDays: number;
  /** With `per-purpose`, the folders each purpose's bucket holds (lib/contract/storage.ts); empty with `shared`. */
  readonly ownedFolders: readonly OwnedFolder[];
  /** `batcat-<project>-<stage>`: a stable CloudFormation stack name that starts with a letter. */
  readonly stackName: string;
  /** The Glue database of the project's result tables: `batcat_<project>_<stage>`. */
  readonly database: string;
  /** The IAM path of every role of the stage: `/batcat/<project>/<stage>/`, for a branch `/batcat/<project>/<parent>/<branch>/`. */
  readonly rolePath: string;
  /** When the stage is a branch of another (`batcat stage create`): the parent's buckets it reads where it has no data of its own. */
  readonly branch?: BranchStage;
  /** The project's Athena workgroup, named like the stack. */
  readonly workgroup: string;
  /** The most bytes one query of the workgroup may scan. */
  readonly bytesScannedCutoff: number;
  readonly purposes: readonly PurposeConfig[];
  /** The streams that deliver into the project's raw folders. */
  readonly ingest: readonly IngestConfig[];
  /** What is allowed but probably not meant, one line each as `file:line:column: field: ...`; synth and doctor print them. */
  readonly warnings: readonly string[];
}

/** What a query binds to its `?` placeholders unless it says otherwise: the window's start and end. */
export const DEFAULT_QUERY_PARAMETERS = ['start', 'end'] as const;

/** The most one query of a project's workgroup may scan unless the project file says otherwise. */
export const DEFAULT_BYTES_SCANNED_CUTOFF = '10GB';

/**
 * Reads and validates `projects/<project>.yaml`. `rootDir` is the folder that holds
 * `projects/` and `containers/`. Throws a ProjectConfigError listing every problem found.
 */
export function loadProject(file: string, rootDir: string = path.dirname(path.dirname(path.resolve(file))), stage?: string): ProjectConfig {
  const shown = path.relative(process.cwd(), path.resolve(file)) || file;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ProjectConfigError(shown, [`cannot read the project file: ${(e as Error).message}`]);
  }
  return parseProject(text, shown, rootDir, path.basename(file).replace(/\.ya?ml$/, ''), stage);
}

/**
 * Validates project file text; `expectedName` is the file's base name. `stage`, when given
 * (`--stage`, `BATCAT_STAGE`, context `batcat:stage`), stands in for the file's `stage`.
 */
export function parseProject(text: string, shown: string, rootDir: string, expectedName?: string, stage?: string): ProjectConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ProjectConfigError(
      shown,
      doc.errors.map((e) => {
        const at = e.linePos?.[0];
        const msg = e.code === 'DUPLICATE_KEY' ? 'the same key appears twice in one mapping' : e.message.split('\n')[0];
        return `${at ? `line ${at.line}:${at.col}: ` : ''}YAML ${msg}`;
      }),
    );
  }
  if (doc.contents === null)
    throw new ProjectConfigError(shown, [`the file is empty; a project file starts like this:\n${MINIMAL_PROJECT}`]);
  const raw: unknown = doc.toJS();
  if (stage !== undefined && raw !== null && typeof raw === 'object') {
    const problem = stageProblem(stage);
    if (problem)
      throw new ProjectConfigError(shown, [`the stage asked for (--stage, BATCAT_STAGE or the context batcat:stage): ${problem}`]);
    (raw as Record<string, unknown>).stage = stage;
  }
  return resolveProject(raw, shown, rootDir, expectedName, {
    where: (p, atValue) => where(doc, lines, p, atValue),
    order: (p, atValue) => positionOf(doc, p, atValue) ?? 0,
  });
}

/**
 * A project defined in code instead of a file: the same fields (`ProjectDefinition`, the
 * project file's shape), the same checks and defaults, the same ProjectConfig for ProjectStack.
 * `rootDir` holds `containers/` and `queries/`. Problems name the field, e.g.
 * `purposes[0].instanceType: ...`; `source` names the definition in them.
 */
export function defineProject(
  definition: ProjectDefinition,
  options: { readonly rootDir: string; readonly source?: string },
): ProjectConfig {
  return resolveProject(definition, options.source ?? 'the project definition', options.rootDir, undefined, {
    where: (p) => (p.length > 0 ? `${fieldPath(p)}: ` : ''),
    order: () => 0,
  });
}

/** The project file's fields and values, for `defineProject`: what a project file holds, as TypeScript. */
export type ProjectDefinition = z.input<typeof projectSchema>;

/** Where a problem is: `where` gives the prefix of its line, `order` its place for sorting. */
interface Locator {
  where(p: readonly PropertyKey[], atValue: boolean): string;
  order(p: readonly PropertyKey[], atValue: boolean): number;
}

/** Validates a project's raw values (from a file or from code) and resolves them. */
function resolveProject(raw: unknown, shown: string, rootDir: string, expectedName: string | undefined, at: Locator): ProjectConfig {
  const result = projectSchema.safeParse(raw);
  if (!result.success) {
    const issues = schemaProblems(result.error.issues, raw).map((i) => ({ ...i, pos: at.order(i.path, i.atValue) }));
    // In file order, so the list reads top to bottom like the file.
    issues.sort((a, b) => a.pos - b.pos);
    throw new ProjectConfigError(
      shown,
      issues.map((i) => `${at.where(i.path, i.atValue)}${i.message}`),
    );
  }
  const { problems, queries } = checkOnDisk(result.data, rootDir, expectedName);
  if (problems.length > 0) {
    throw new ProjectConfigError(
      shown,
      problems.map((p) => `${at.where(p.path, true)}${p.message}`),
    );
  }
  const warnings = result.data.purposes.flatMap((p, i) => {
    const tag = p.image !== undefined ? parseEcrImageUri(p.image)?.tag : undefined;
    if (tag === undefined) return [];
    return [
      `${placed(shown, at.where(['purposes', i, 'image'], true))}image tag ${JSON.stringify(tag)} can be moved to another image; pin its digest ('...@sha256:<digest>') so every run uses the image you tested`,
    ];
  });
  const config = toProjectConfig(result.data, shown, rootDir, queries);
  const branch = readBranch(rootDir, config.project, config.stage);
  return {
    ...config,
    warnings,
    ...(branch ? { branch, rolePath: branchRolePath(config.project, branch.parent, config.stage) } : {}),
  };
}

/** The branch record of a stage in `<rootDir>/cdk.context.json` (written by `batcat stage create`), if it is a branch. */
function readBranch(rootDir: string, project: string, stage: string): BranchStage | undefined {
  const file = path.join(rootDir, BRANCH_CONTEXT_FILE);
  if (!fs.existsSync(file)) return undefined;
  const shown = path.relative(process.cwd(), file) || file;
  let context: unknown;
  try {
    context = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ProjectConfigError(shown, [
      `not JSON (${(e as Error).message}); CDK and batcat stage create write this file, fix or remove it`,
    ]);
  }
  const key = branchContextKey(project, stage);
  const record = context !== null && typeof context === 'object' ? (context as Record<string, unknown>)[key] : undefined;
  if (record === undefined) return undefined;
  const problem = branchProblem(record);
  if (problem) {
    throw new ProjectConfigError(shown, [
      `${key}: the branch record ${problem}; run batcat stage create ${project} ${stage} --from <parent stage> again to record it`,
    ]);
  }
  return record as BranchStage;
}

/** How a new project file starts, for an empty one. */
const MINIMAL_PROJECT = `project: 2026-rnd-battery
purposes:
  - name: usage-analysis
    inputs: [{ name: usage, prefix: raw/usage/ }]
    outputs: [{ name: summary }]`;

/**
 * One problem per schema issue, and per unknown key. A required key that is missing because
 * it was misspelt is reported once, as the misspelling. `atValue`: the value is at fault, not its key.
 */
function schemaProblems(issues: z.core.$ZodIssue[], raw: unknown): Array<{ path: PropertyKey[]; message: string; atValue: boolean }> {
  const valueAt = (p: readonly PropertyKey[]) =>
    p.reduce<unknown>((v, k) => (v === null || typeof v !== 'object' ? undefined : (v as Record<PropertyKey, unknown>)[k]), raw);
  const unknown = issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k, n) => ({ path: [...i.path, k], message: i.message.split('\n')[n], atValue: false }))
      : [],
  );
  const meant = new Set(
    unknown.map((u) => {
      const guess = /did you mean '([^']+)'\?$/.exec(u.message)?.[1];
      return guess && JSON.stringify([...u.path.slice(0, -1), guess]);
    }),
  );
  const others = issues
    .filter((i) => i.code !== 'unrecognized_keys')
    .flatMap((i) => {
      const value = valueAt(i.path);
      const missing = value === undefined;
      if (missing && meant.has(JSON.stringify(i.path))) return [];
      let message = i.message.replace(/^Invalid input: /, '');
      if (i.code === 'invalid_type' && missing) message = `is required (${message})`;
      const key = [...i.path].reverse().find((k) => typeof k === 'string');
      const example = key !== undefined && FIELD_EXAMPLES[key];
      if (i.code === 'invalid_type' && example) message += `; write it like: ${example}`;
      return [{ path: i.path, message, atValue: !missing }];
    });
  return [...unknown, ...others];
}

/** `line 12:5: purposes[0].instanceType: ` for a path into the document: its key, or with `atValue` its value. */
/** `purposes[0].instanceType`: a field as the problems name it. */
function fieldPath(p: readonly PropertyKey[]): string {
  return p.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');
}

function where(doc: Document, lines: LineCounter, p: readonly PropertyKey[], atValue = false): string {
  const field = fieldPath(p);
  const pos = positionOf(doc, p, atValue);
  const at = pos !== undefined ? lines.linePos(pos) : undefined;
  return `${at ? `line ${at.line}:${at.col}: ` : ''}${field ? `${field}: ` : ''}`;
}

function positionOf(doc: Document, p: readonly PropertyKey[], atValue = false): number | undefined {
  let node: unknown = doc.contents;
  let pos: number | undefined = (node as Node | null)?.range?.[0];
  for (const [n, key] of p.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && it.key.value === key);
      if (!pair) return pos;
      const last = n === p.length - 1;
      pos = ((last && atValue ? pair.value : pair.key) as Node | null)?.range?.[0] ?? pos;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      pos = (node as Node | undefined)?.range?.[0] ?? pos;
    } else {
      return pos;
    }
  }
  return pos;
}

/** Problems with files the project names, and the query texts read on the way (by purpose). */
function checkOnDisk(data: ProjectFile, rootDir: string, expectedName?: string) {
  const problems: Array<{ path: PropertyKey[]; message: string }> = [];
  const queries = new Map<string, string>();
  if (expectedName !== undefined && expectedName !== data.project) {
    problems.push({
      path: ['project'],
      message: `project ${JSON.stringify(data.project)} does not match the file name; rename the file to projects/${data.project}.yaml or set project: ${expectedName}`,
    });
  }
  /** The text of a purpose's query file, or undefined with the problem recorded at `at`; `empty` says what to write in it. */
  const queryText = (purpose: string, rel: string, at: PropertyKey[], empty: string): string | undefined => {
    const file = path.resolve(rootDir, rel);
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
      problems.push({ path: at, message: `query file '${rel}' of purpose '${purpose}' does not exist (looked in ${file})` });
      return undefined;
    }
    const sql = fs.readFileSync(file, 'utf8');
    if (sql.trim() !== '') return sql;
    problems.push({ path: at, message: `query file '${rel}' is empty${empty}` });
    return undefined;
  };
  data.purposes.forEach((p, i) => {
    if (p.query === undefined) return;
    const at = ['purposes', i, 'query', 'file'];
    const sql = queryText(p.name, p.query.file, at, '');
    if (sql === undefined) return;
    queries.set(p.name, sql);
    const bound = p.query.parameters ?? DEFAULT_QUERY_PARAMETERS;
    const placeholders = countPlaceholders(sql);
    if (placeholders !== bound.length) {
      problems.push({
        path: at,
        message:
          `query file '${p.query.file}' has ${placeholders} '?' placeholder(s), but ${bound.length} value(s) are bound (query.parameters: [${bound.join(', ')}]); ` +
          `write one '?' per value, e.g. 'WHERE dt BETWEEN ? AND ?' for the window's start and end, or set query.parameters`,
      });
    }
  });
  data.purposes.forEach((p, i) => {
    if (p.script === undefined) return;
    const script = path.resolve(rootDir, p.script);
    if (!fs.existsSync(script) || !fs.statSync(script).isFile()) {
      problems.push({
        path: ['purposes', i, 'script'],
        message: `script '${p.script}' of purpose '${p.name}' does not exist (looked in ${script}); give the path of your Python script relative to the project folder`,
      });
    }
    if (p.sourceDir === undefined) return;
    const dir = path.resolve(rootDir, p.sourceDir);
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
      problems.push({
        path: ['purposes', i, 'sourceDir'],
        message: `sourceDir '${p.sourceDir}' of purpose '${p.name}' is not a folder (looked in ${dir})`,
      });
    } else if (path.relative(dir, script).startsWith('..')) {
      problems.push({
        path: ['purposes', i, 'script'],
        message: `script '${p.script}' is not inside sourceDir '${p.sourceDir}'; the script must be part of the folder uploaded with it, e.g. script: ${p.sourceDir.replace(/\/?$/, '/')}${path.basename(p.script)}`,
      });
    }
  });
  data.purposes.forEach((p, i) => {
    (p.spark?.pyFiles ?? []).forEach((f, n) => {
      const file = path.resolve(rootDir, f);
      if (!fs.existsSync(file)) {
        problems.push({
          path: ['purposes', i, 'spark', 'pyFiles', n],
          message: `py-file '${f}' of purpose '${p.name}' does not exist (looked in ${file}); give a Python file or package folder relative to the project folder`,
        });
      }
    });
    if (p.source?.query !== undefined)
      queryText(
        p.name,
        p.source.query,
        ['purposes', i, 'source', 'query'],
        '; write the SELECT that reads the window, with :start and :end',
      );
    if (p.image !== undefined || p.framework !== undefined || p.spark !== undefined || p.source !== undefined) return;
    const rel = p.container ?? `containers/${p.name}`;
    const dir = path.resolve(rootDir, rel);
    const at = p.container !== undefined ? ['purposes', i, 'container'] : ['purposes', i, 'name'];
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
      problems.push({
        path: at,
        message: `container folder '${rel}' of purpose '${p.name}' does not exist (looked in ${dir}); create it with a Dockerfile and your script, or set 'image' to an existing ECR image URI`,
      });
    } else if (!fs.existsSync(path.join(dir, 'Dockerfile'))) {
      problems.push({
        path: at,
        message: `container folder '${rel}' of purpose '${p.name}' has no Dockerfile (looked in ${dir}); add one, or set 'image' to an existing ECR image URI`,
      });
    }
  });
  return { problems, queries };
}

function ingestConfig(x: NonNullable<ProjectFile['ingest']>[number]): IngestConfig {
  const format = x.format ?? 'json';
  const bufferSeconds = x.buffer?.seconds ?? INGEST_BUFFER_DEFAULTS.seconds;
  return {
    name: x.name,
    prefix: x.prefix,
    format,
    table: x.columns && {
      name: x.table ?? ingestTableName(x.name),
      description: x.description,
      columns: Object.entries(x.columns).map(([name, type]) => ({ name, type })),
    },
    partitioning:
      x.partitionBy === undefined || x.partitionBy === 'arrival' ? { kind: 'arrival' } : { kind: 'field', field: x.partitionBy },
    bufferSeconds,
    bufferMb: x.buffer?.mb ?? INGEST_BUFFER_DEFAULTS.mb,
    freshnessSeconds: x.freshness !== undefined ? parseDuration(x.freshness)! : bufferSeconds + INGEST_FRESHNESS_MARGIN_SECONDS,
  };
}

/** The validated file as the constructs need it: defaults applied, names derived, URIs split, units parsed. */
function toProjectConfig(
  data: ProjectFile,
  file: string,
  rootDir: string,
  queries: ReadonlyMap<string, string>,
): Omit<ProjectConfig, 'warnings'> {
  const config = projectConfigOf(data, file, rootDir, queries);
  return { ...config, ownedFolders: ownedFolders(config.storage, config.purposes.map(storageOf)) };
}

/** A purpose's folders in the project's storage: not in another bucket, not another purpose's output. */
function storageOf(p: PurposeConfig): StoragePurpose {
  return {
    name: p.name,
    reads: p.inputs.filter((i) => i.bucket === undefined && i.from === undefined).map((i) => i.prefix),
    writes: p.outputs.map((o) => o.prefix),
  };
}

function projectConfigOf(
  data: ProjectFile,
  file: string,
  rootDir: string,
  queries: ReadonlyMap<string, string>,
): Omit<ProjectConfig, 'warnings' | 'ownedFolders'> {
  const stackName = projectStackName(data.project, data.stage);
  const database = projectDatabaseName(data.project, data.stage);
  const outputPrefix = (purpose: string, output: string) => {
    const o = data.purposes.find((q) => q.name === purpose)!.outputs.find((x) => x.name === output)!;
    return o.prefix ?? resultsPrefix(purpose, output);
  };
  const tableLocation = (table: string) => {
    for (const x of data.ingest ?? []) if (x.columns && (x.table ?? ingestTableName(x.name)) === table) return x.prefix;
    for (const p of data.purposes) {
      for (const o of p.outputs) {
        if (o.table && (o.table.name ?? resultTableName(p.name, o.name)) === table) return outputPrefix(p.name, o.name);
      }
    }
    throw new Error(`table '${table}' is not a table of this project`); // the schema rejects this earlier
  };
  const folder = (location: string) => {
    if (!location.startsWith('s3://')) return { prefix: location };
    const { bucket, key } = parseS3Uri(location);
    return { bucket, prefix: key };
  };

  return {
    file,
    rootDir,
    project: data.project,
    stage: data.stage,
    description: data.description,
    dataAccess: data.dataAccess,
    storage: data.storage,
    keepVersionsDays: data.keepVersions !== undefined ? parseDays(data.keepVersions)! : DEFAULT_KEEP_VERSIONS_DAYS,
    lakeFormation:
      data.lakeFormation === true || typeof data.lakeFormation === 'object'
        ? { registerLocations: typeof data.lakeFormation === 'object' && data.lakeFormation.registerLocations === true }
        : undefined,
    alarmEmails: data.alarmEmails,
    stackName,
    database,
    rolePath: rolePath(data.project, data.stage),
    workgroup: stackName,
    bytesScannedCutoff: parseSize(data.athena?.bytesScannedCutoff ?? DEFAULT_BYTES_SCANNED_CUTOFF)!,
    ingest: (data.ingest ?? []).map(ingestConfig),
    purposes: data.purposes.map((p): PurposeConfig => {
      const windowDays = p.window !== undefined ? parseDays(p.window)! : RUN_DEFAULTS.windowDays;
      const inputs = (p.inputs ?? []).map((i): InputConfig => {
        const [purpose, output] = i.from?.split('/') ?? [];
        return {
          name: i.name,
          ...(i.from !== undefined ? { prefix: outputPrefix(purpose, output) } : folder(i.uri ?? i.prefix!)),
          from: i.from !== undefined ? { purpose, output } : undefined,
          kmsKey: i.kmsKey,
          partitioned: i.from !== undefined || i.partitioned === true,
          complete: i.complete === true,
          distribution: i.distribution ?? 'FullyReplicated',
          localPath: i.localPath ?? defaultInputPath(i.name),
          mode: (i.mode ?? 'File') as InputMode,
          compression: i.compression ?? 'None',
        };
      });
      const s = p.triggers?.schedule;
      return {
        name: p.name,
        description: p.description,
        containerDir:
          p.image === undefined && p.framework === undefined && p.spark === undefined && p.source === undefined
            ? path.resolve(rootDir, p.container ?? `containers/${p.name}`)
            : undefined,
        spark: p.spark && sparkConfig(p.spark, rootDir),
        source: p.source && {
          engine: p.source.engine,
          secret: p.source.secret!,
          table: p.source.table,
          queryFile: p.source.query !== undefined ? path.resolve(rootDir, p.source.query) : undefined,
          incremental: p.source.incremental,
          local: p.source.local,
        },
        image: p.image !== undefined ? { uri: p.image, ...parseEcrImageUri(p.image)! } : undefined,
        framework: p.framework !== undefined ? frameworkImage(p.framework) : undefined,
        script: p.script !== undefined ? path.resolve(rootDir, p.script) : undefined,
        sourceDir: p.sourceDir !== undefined ? path.resolve(rootDir, p.sourceDir) : undefined,
        entrypoint: p.entrypoint,
        arguments: p.arguments,
        parameters: (p.parameters ?? {}) as Record<string, ParameterSpec>,
        cache: p.cache === true,
        // Spark reads and writes S3 itself, a database source reads its database: they have the network.
        networkIsolation: p.networkIsolation ?? (p.spark === undefined && p.source === undefined),
        vpc: p.vpc,
        instanceType: p.instanceType ?? PROCESSING_DEFAULTS.instanceType,
        instanceCount: p.instanceCount ?? PROCESSING_DEFAULTS.instanceCount,
        volumeSizeGb: p.volumeSizeGb ?? PROCESSING_DEFAULTS.volumeSizeGb,
        maxRuntimeSeconds: p.maxRuntime !== undefined ? parseDuration(p.maxRuntime)! : PROCESSING_DEFAULTS.maxRuntimeSeconds,
        quotaWaitSeconds: p.quotaWait !== undefined ? parseDuration(p.quotaWait)! : PROCESSING_DEFAULTS.quotaWaitSeconds,
        freshnessSeconds: p.freshness !== undefined ? parseDuration(p.freshness)! : undefined,
        environment: Object.fromEntries(Object.entries(p.environment ?? {}).map(([k, v]) => [k, String(v)])),
        secrets: p.secrets ?? {},
        inputs,
        outputs: p.outputs.map((o) => ({
          name: o.name,
          prefix: outputPrefix(p.name, o.name),
          localPath: o.localPath ?? defaultOutputPath(o.name),
          uploadMode: o.uploadMode ?? 'EndOfJob',
          required: o.required ?? true,
          table: o.table && {
            name: o.table.name ?? resultTableName(p.name, o.name),
            description: o.table.description,
            format: o.table.format ?? 'csv',
            columns: Object.entries(o.table.columns).map(([name, type]) => ({ name, type })),
          },
          rules: o.rules,
          onViolation: o.onViolation ?? 'fail',
          sample: o.table ? (o.sample ?? DEFAULT_SAMPLE_ROWS) : 0,
          featureGroup: o.featureGroup && {
            name: featureGroupName(stackName, p.name, o.name),
            recordId: o.featureGroup.recordId,
            eventTime: o.featureGroup.eventTime,
            online: o.featureGroup.online === true,
            description: o.featureGroup.description,
            prefix: featureStorePrefix(p.name, o.name),
            tableName: featureTableName(p.name, o.name),
          },
        })),
        query: p.query && {
          engine: p.query.engine ?? 'athena',
          file: path.resolve(rootDir, p.query.file),
          sql: queries.get(p.name)!,
          database: p.query.database ?? database,
          tables: p.query.tables ?? [],
          locations:
            p.query.locations !== undefined
              ? p.query.locations.map(folder)
              : (p.query.tables ?? []).map((t) => ({ prefix: tableLocation(t) })),
          parameters: p.query.parameters ?? DEFAULT_QUERY_PARAMETERS,
          local: p.query.local !== undefined ? path.resolve(rootDir, p.query.local) : undefined,
          redshift:
            p.query.engine === 'redshift'
              ? { workgroup: p.query.workgroup, cluster: p.query.cluster, secret: p.query.secret!, format: p.query.format ?? 'csv' }
              : undefined,
        },
        windowDays,
        maxWindowDays: p.maxWindow !== undefined ? parseDays(p.maxWindow)! : windowDays,
        backfillConcurrency: p.backfillConcurrency ?? RUN_DEFAULTS.backfillConcurrency,
        timezone: s?.timezone ?? RUN_DEFAULTS.timezone,
        schedule: s === undefined ? undefined : s.cron !== undefined ? `cron(${s.cron.trim()})` : `rate(${s.rate!.trim()})`,
        s3Arrival: (p.triggers?.s3 ?? []).map((a) => ({
          input: a.input,
          prefix: inputs.find((i) => i.name === a.input)!.prefix,
          suffix: a.suffix,
          settleSeconds: a.settle !== undefined ? parseDuration(a.settle) : undefined,
          maxSettleSeconds: a.maxSettle !== undefined ? parseDuration(a.maxSettle) : undefined,
        })),
        after: p.triggers?.after,
      };
    }),
  };
}

/** Loads every `*.yaml` in `<rootDir>/projects`, collecting the problems of all files before throwing. */
export function loadProjects(rootDir: string, stage?: string): ProjectConfig[] {
  const dir = path.join(rootDir, 'projects');
  const files = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
    : [];
  if (files.length === 0) {
    throw new ProjectConfigError(path.relative(process.cwd(), dir) || dir, [
      'no project files found; add projects/<project>.yaml (see README.md, "Project file reference")',
    ]);
  }
  const projects: ProjectConfig[] = [];
  const errors: ProjectConfigError[] = [];
  for (const f of files) {
    try {
      projects.push(loadProject(path.join(dir, f), rootDir, stage));
    } catch (e) {
      if (!(e instanceof ProjectConfigError)) throw e;
      errors.push(e);
    }
  }
  if (errors.length > 0) {
    throw new ProjectConfigError(
      errors.map((e) => e.file).join(', '),
      errors.flatMap((e) => (errors.length > 1 ? e.problems.map((p) => `${e.file}: ${p}`) : e.problems)),
    );
  }
  const stacks = new Map<string, string>();
  for (const p of projects) {
    if (stacks.has(p.stackName)) {
      throw new ProjectConfigError(p.file, [
        `project '${p.project}' with stage '${p.stage}' is also declared in ${stacks.get(p.stackName)}; each project and stage may be declared once`,
      ]);
    }
    stacks.set(p.stackName, p.file);
  }
  return projects;
}

/** `spark:` of a purpose, with the runtime's defaults. */
function sparkConfig(s: NonNullable<ProjectFile['purposes'][number]['spark']>, rootDir: string): SparkConfig {
  const runtime = (s.runtime ?? SPARK_DEFAULTS.runtime) as SparkRuntimeName;
  return {
    runtime,
    release: s.release ?? defaultSparkRelease(runtime),
    maxCapacity: s.maxCapacity && { cpu: parseVcpu(s.maxCapacity.cpu)!, memoryGb: Math.floor(parseSize(s.maxCapacity.memory)! / 1e9) },
    config: Object.fromEntries(Object.entries(s.config ?? {}).map(([k, v]) => [k, String(v)])),
    pyFiles: (s.pyFiles ?? []).map((f) => path.resolve(rootDir, f)),
    mainClass: s.mainClass,
    eventLogs: s.eventLogs === true,
  };
}
