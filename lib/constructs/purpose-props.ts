import type { Duration, Size } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { OnViolation, OutputRules } from '../contract/data-rules';
import type { DbEngine } from '../contract/db-source';
import type { FeatureGroup } from './feature-group';
import type { ParameterSpec } from '../contract/parameters';
import type { Requirement } from '../contract/requirements';
import type { QueryDataLocation } from './athena-run-query';
import type { IQueryWorkGroup } from './query-workgroup';
import type { RedshiftUnloadFormat } from './redshift-unload-query';
import type { ISparkApplication, SparkCapacity } from './spark-application';
import type { RunLedger } from './run-ledger';
import type { UpstreamPurpose } from './run-trigger';
import type { S3CompressionType, S3DataDistribution, S3InputMode, S3UploadMode } from './sagemaker-create-processing-job';

/*
 * The props of a Purpose and the types they use. The defaults they name are applied, and the
 * props checked, by `resolvePurposeProps` (private/resolve-purpose-props.ts).
 */

/** A database a purpose copies a table or query of, and how. */
export interface PurposeDatabaseSource {
  /** The database's engine: 'postgres' (PostgreSQL, Aurora PostgreSQL) or 'mysql' (MySQL, MariaDB, Aurora MySQL). */
  readonly engine: DbEngine;
  /**
   * The secret with `host`, `port`, `username`, `password` and `dbname` (the shape RDS writes);
   * the job role may read it. A secret encrypted with a customer managed key also needs
   * `kms:Decrypt` on that key for the job role.
   */
  readonly secret: secretsmanager.ISecret;
  /**
   * The table (`table` or `schema.table`), read whole or by `incremental`. Give this or `queryFile`.
   *
   * @default - `queryFile` is read
   */
  readonly table?: string;
  /**
   * A SQL file (absolute path) whose `:start` and `:end` are bound to the window's first day and
   * the day after its last, as timestamps at midnight in the run's time zone. Give this or `table`.
   *
   * @default - `table` is read
   */
  readonly queryFile?: string;
  /**
   * The column of `table` whose value places a row in a window (`start <= column < end`).
   *
   * @default - every row, each run (a snapshot)
   */
  readonly incremental?: string;
}

/** A folder (or one object) a purpose reads. */
export interface PurposeInput {
  /** The input's name; it is copied to `/opt/ml/processing/input/<name>` unless `localPath` says otherwise. */
  readonly name: string;
  /** The folder, ending with '/', or one object's key. */
  readonly keyPrefix: string;
  /**
   * Where the input is copied in the container: an absolute path below `/opt/ml/processing/`,
   * such as `/opt/ml/processing/train`.
   *
   * @default `/opt/ml/processing/input/<name>`
   */
  readonly localPath?: string;
  /**
   * How the input reaches the container.
   *
   * @default S3InputMode.FILE
   */
  readonly mode?: S3InputMode;
  /**
   * Decompress the input while streaming it (Pipe mode only).
   *
   * @default S3CompressionType.NONE
   */
  readonly compression?: S3CompressionType;
  /**
   * The bucket of the folder.
   *
   * @default - the purpose's `bucket`
   */
  readonly bucket?: s3.IBucket;
  /**
   * Where the same folder is read from when the run finds nothing of it in `bucket` (for a
   * partitioned input: no object in its window's `dt=` folders), such as a branch stage's parent
   * bucket. A step before the job decides per run and input, and the run's manifest records
   * which bucket was read. The purpose's roles may read and list the folder here, never write it.
   *
   * @default - the input is always read from `bucket`
   */
  readonly fallbackBucket?: s3.IBucket;
  /**
   * How the folder's objects are spread across the job's instances.
   *
   * @default S3DataDistribution.FULLY_REPLICATED
   */
  readonly distribution?: S3DataDistribution;
  /**
   * The folder holds `dt=YYYY-MM-DD/` partitions and each run reads only those of its window's
   * days, each arriving as a `dt=YYYY-MM-DD/` subfolder of the input's local path. With runs of
   * one day (`window` and `maxWindow` of one day) the job reads that day's folder; with longer
   * runs a step before the job lists the window's partitions into a SageMaker manifest
   * (`ManifestFile`), reports the days missing, and fails the run when none is present.
   *
   * @default false - each run reads the whole folder
   */
  readonly partitioned?: boolean;
  /**
   * Fail a run when a day of its window has no partition (`BatCat.MissingPartitions`), before
   * the job starts. Only for `partitioned` inputs.
   *
   * @default false - the job runs on the days present, and the run's output lists those missing
   */
  readonly complete?: boolean;
}

/** A folder of the purpose's bucket whose new objects start runs. */
export interface PurposeS3Arrival {
  /** The name of a `PurposeInput` in the purpose's own bucket: its folder is watched. */
  readonly input: string;
  /**
   * Only keys ending with this start runs, e.g. `.csv`.
   *
   * @default - every new object starts a run
   */
  readonly suffix?: string;
  /**
   * How long a run waits after the newest object of its window arrived before it reads: a day
   * that arrives as 100 files runs once, over all of them. Objects that arrive while it waits
   * join it; one that arrives after it began to read starts exactly one follow-up run of the
   * window. `Duration.seconds(0)` starts at once.
   *
   * @default - 5 minutes; with a `suffix` (a `_SUCCESS`-style marker), 0
   */
  readonly settle?: Duration;
  /**
   * The longest a run waits for its window to settle, from the object that started it.
   *
   * @default Duration.hours(1)
   */
  readonly maxSettle?: Duration;
}

/** A folder a purpose writes, in its `bucket`, partitioned by run date (`<keyPrefix>dt=YYYY-MM-DD/`). */
export interface PurposeOutput {
  /** The output's name; it is uploaded from `/opt/ml/processing/output/<name>` unless `localPath` says otherwise. */
  readonly name: string;
  /**
   * Where the script writes the output: an absolute path below `/opt/ml/processing/`.
   *
   * @default `/opt/ml/processing/output/<name>`
   */
  readonly localPath?: string;
  /**
   * When the output is uploaded.
   *
   * @default S3UploadMode.END_OF_JOB
   */
  readonly uploadMode?: S3UploadMode;
  /**
   * The folder, ending with '/'.
   *
   * @default `results/<purposeName>/<name>/`
   */
  readonly keyPrefix?: string;
  /**
   * A run that leaves this output empty fails (with `BatCat.EmptyOutput`, naming the output),
   * instead of succeeding and starting the purposes that run after it on nothing.
   *
   * @default true
   */
  readonly required?: boolean;
  /**
   * The Glue table the output is registered as: before each run's commit, one Athena query
   * profiles what the run wrote (through `attemptsTableName`), the profile is kept next to the
   * run's manifest, and the table's rules decide whether the run counts.
   *
   * @default - no profile and no rules
   */
  readonly table?: OutputTable;
  /**
   * After each run's commit, every row of the window's result (its CSV files with a header
   * line, its Parquet files) is put into this feature group (`IngestFeatures-<name>`, PutRecord
   * per row); rows need the group's record identifier and event time.
   *
   * @default - no feature group
   */
  readonly featureGroup?: FeatureGroup;
}

/** The table over an output, as its profile and rules see it. */
export interface OutputTable {
  /** The Glue database. */
  readonly database: string;
  /** The table, partitioned by `dt` (the run's window start) over the output's folder. */
  readonly tableName: string;
  /**
   * The table over the output's attempt folders (a ResultTable with `byAttempt`): the profile
   * and the sample are taken there, before the commit, so a run that breaks a rule never
   * replaces the window's result.
   */
  readonly attemptsTableName: string;
  /** Its columns, as the table declares them (Glue types). */
  readonly columns: ReadonlyArray<{ readonly name: string; readonly type: string }>;
  /**
   * What each run's profile must show (lib/contract/data-rules.ts).
   *
   * @default - none: the profile informs, nothing is checked
   */
  readonly rules?: OutputRules;
  /**
   * What a run that breaks a rule does: `fail` fails it before its success is recorded (no
   * `after:` purpose starts); `warn` counts the `RuleWarnings` metric, which alarms, and goes on.
   *
   * @default 'fail'
   */
  readonly onViolation?: OnViolation;
  /**
   * How many rows of the window's partition each run keeps as its sample (uniform, one more
   * Athena query), for `batcat pull --sample`; 0 keeps none.
   *
   * @default 1000
   */
  readonly sampleRows?: number;
}

/** A value bound to a query's `?` placeholder. */
export enum QueryParameter {
  /** The run's window start, as the literal `'YYYY-MM-DD'`. */
  WINDOW_START = 'start',
  /** The run's window end (included), as the literal `'YYYY-MM-DD'`. */
  WINDOW_END = 'end',
}

/** An Athena query that runs before the job; its result file is the job's input `query`. */
export interface PurposeQuery {
  /** The SQL, with a `?` for each of `parameters`. */
  readonly queryString: string;
  /**
   * What each `?` is bound to, in order.
   *
   * @default [QueryParameter.WINDOW_START, QueryParameter.WINDOW_END]
   */
  readonly parameters?: QueryParameter[];
  /** The workgroup the query runs in; its result file is read from the workgroup's results folder. */
  readonly workGroup: IQueryWorkGroup;
  /** The Glue database of the tables. */
  readonly database: string;
  /** The tables the query reads. */
  readonly tables: string[];
  /** The folders those tables' files are in. */
  readonly dataLocations: QueryDataLocation[];
}

/** Properties of a Purpose. */
export interface PurposeProps {
  /** The purpose's name: 1-30 lowercase letters, digits and inner hyphens. */
  readonly purposeName: string;
  /**
   * The bucket the outputs are written to, and inputs are read from unless they name another.
   *
   * @default - a DataBucket of the purpose's own (`Bucket`): SSE-KMS with `bucketEncryptionKey`,
   * TLS only, private, versioned, access logs, events to EventBridge, retained with its data
   */
  readonly bucket?: s3.IBucket;
  /**
   * Without `bucket`: the key the purpose's own bucket is encrypted with.
   *
   * @default - a key of the purpose's own (`BucketKey`), rotated, retained with the bucket
   */
  readonly bucketEncryptionKey?: kms.IKey;
  /**
   * Without `bucket`: where the purpose's own bucket delivers its server access logs (under
   * `<purposeName>/`). The bucket must accept them through its policy, as an AccessLogsBucket does.
   *
   * @default - an AccessLogsBucket of the purpose's own (`AccessLogs`)
   */
  readonly accessLogsBucket?: s3.IBucket;
  /** Failure notifications and alarms go here. */
  readonly notificationTopic: sns.ITopic;
  /**
   * The run ledger this purpose records its windows in. Give the purposes of one stage one
   * ledger; each keeps its own items.
   *
   * @default - a RunLedger of this purpose's own, `Ledger`
   */
  readonly ledger?: RunLedger;
  /**
   * A folder with a Dockerfile, built into an image asset at deploy time. Give this or `image`.
   *
   * @default - `image` is used
   */
  readonly containerDirectory?: string;
  /**
   * An existing image, such as `SageMakerFrameworkImage.of('sklearn:1.2-1')`. Give this or `containerDirectory`.
   *
   * @default - built from `containerDirectory`
   */
  readonly image?: tasks.DockerImage;
  /**
   * Script mode: this Python file (absolute path) is uploaded as an asset, delivered as the
   * input `code` at `/opt/ml/processing/input/code/`, and run with
   * `python3 /opt/ml/processing/input/code/<file>`, as `SKLearnProcessor.run(code=...)` does.
   *
   * @default - the image's own entrypoint runs
   */
  readonly script?: string;
  /**
   * With `script`: the folder uploaded with it (the script must be inside), so it can import its siblings.
   *
   * @default - the script alone
   */
  readonly sourceDirectory?: string;
  /**
   * Runs `script` (a PySpark script, or a jar with `spark.mainClass`) with Spark, on EMR
   * Serverless or on SageMaker's Spark image, instead of in a processing container.
   *
   * @default - no Spark: the script or image runs as a processing job
   */
  readonly spark?: PurposeSpark;
  /**
   * Copies a table or query of a PostgreSQL or MySQL database into the purpose's one output, as
   * Parquet, one window at a time, with BatCat's ingestion program (its image is built from the
   * package). Not with `containerDirectory`, `image`, `script`, `spark`, `entrypoint`,
   * `arguments`, a query or inputs; needs `vpc`, and the network (`networkIsolation` not true).
   *
   * @default - no database: the script or image runs
   */
  readonly source?: PurposeDatabaseSource;
  /**
   * Replaces the image's entrypoint (`ContainerEntrypoint`). Not with `script`, which sets it.
   *
   * @default - the image's entrypoint, or `python3 <script>` in script mode
   */
  readonly entrypoint?: string[];
  /**
   * The script's arguments (`ContainerArguments`). `{window.start}`, `{window.end}`,
   * `{window.endExclusive}` and `{run.id}` are replaced per run, e.g. `['--start', '{window.start}']`,
   * `{param.<name>}` by a parameter's value, `{input.<name>.uri}` by the S3 folder the run reads
   * of an input (the window start's `dt=` folder of a partitioned input), and
   * `{output.<name>.uri}` by the S3 folder the run writes an output to (its attempt folder,
   * which becomes the window's result when the run succeeds).
   *
   * @default - none
   */
  readonly arguments?: string[];
  /**
   * Typed run parameters: a manual run may give values (`batcat run --param threshold=0.7`, checked
   * before anything starts); schedule, S3 and upstream runs use the defaults. The job reads each as
   * `{param.<name>}` in `arguments` and as `BATCAT_PARAM_<NAME>` in its environment.
   *
   * @default - none
   */
  readonly parameters?: Record<string, ParameterSpec>;
  /**
   * Skip unchanged work: before the job, a key of the code, the arguments, the parameter values
   * and the input objects' content (from the run manifest) is compared with the one of the
   * window's result; on a match the run is recorded as cached, puts Run Skipped, and starts no
   * job. A manual run with `--force` always runs.
   *
   * @default false
   */
  readonly cache?: boolean;
  /**
   * The folders the job reads.
   *
   * @default - no inputs
   */
  readonly inputs?: PurposeInput[];
  /** At least one output. */
  readonly outputs: PurposeOutput[];
  /**
   * The instance type of the job, without the `ml.` prefix (`new ec2.InstanceType('m5.large')`).
   *
   * @default ml.m5.large
   */
  readonly instanceType?: ec2.InstanceType;
  /**
   * How many instances run the job; `ShardedByS3Key` inputs are split between them.
   *
   * @default 1
   */
  readonly instanceCount?: number;
  /**
   * The storage volume of each instance.
   *
   * @default 30 GiB
   */
  readonly volumeSize?: Size;
  /**
   * The job is stopped after this long.
   *
   * @default Duration.hours(1)
   */
  readonly maxRuntime?: Duration;
  /**
   * How long a run waits for instance quota (SageMaker's ResourceLimitExceeded) before it fails,
   * retrying the create call every minute. The execution times out after this wait, the job's
   * `maxRuntime` and one hour for the query and the rest.
   *
   * @default Duration.hours(6)
   */
  readonly quotaWait?: Duration;
  /**
   * Environment variables for the script. Names starting with `BATCAT_` are reserved.
   *
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * Secrets the script reads at run time, by the name it knows them by. For each, the script
   * gets the variable `<name>_SECRET_ID` holding the secret's ARN, and the job role may read that
   * secret; the value never appears in the template or the job description. Needs
   * `networkIsolation: false`. A secret encrypted with a customer managed key also needs
   * `kms:Decrypt` on that key for the job role.
   *
   * @default - none
   */
  readonly secrets?: Record<string, secretsmanager.ISecret>;
  /**
   * Runs the container without network access; SageMaker still moves the inputs and outputs.
   *
   * @default true
   */
  readonly networkIsolation?: boolean;
  /**
   * Runs the job in this VPC.
   *
   * @default - no VPC
   */
  readonly vpc?: ec2.IVpc;
  /**
   * The subnets of `vpc` the job runs in.
   *
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * The security groups of the job's network interfaces.
   *
   * @default - with `vpc`, a new security group that allows all outbound traffic and no inbound
   * (`processingJob.connections`)
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /**
   * Names the state machine `<namePrefix>-<purposeName>`; its log group, alarms, trigger
   * function, queue and backfill machine are named after it.
   *
   * @default - a name generated from the stack name and this construct's path, with a hash:
   * unique in the account and region, stable across deploys, and valid in nested stacks
   */
  readonly namePrefix?: string;
  /**
   * The project and stage named in the completion events every run puts on the default event
   * bus (`detail.project`, `detail.stage`), so subscribers can tell stages apart.
   *
   * @default - none: the events name the purpose and its state machine
   */
  readonly runEvents?: { readonly project: string; readonly stage: string };
  /**
   * How long the state machine's and the trigger's logs are kept.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Encrypts the purpose's log groups (state machine, backfill, trigger, commit). Its key policy
   * must let the CloudWatch Logs service of this region use it for this account's log groups.
   *
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
  /**
   * The days a scheduled run covers (the period that just ended), and the size of each
   * backfill window. Whole days only.
   *
   * @default Duration.days(1)
   */
  readonly window?: Duration;
  /**
   * The most days a single manual run may cover.
   *
   * @default - the same as `window`
   */
  readonly maxWindow?: Duration;
  /**
   * How late the purpose's newest result may be beyond one window before an alarm fires and the
   * topic is told which window succeeded last (see RunTrigger's `freshness`).
   *
   * @default - no freshness check
   */
  readonly freshness?: Duration;
  /**
   * How many runs of a backfill may run at once.
   *
   * @default 2
   */
  readonly backfillConcurrency?: number;
  /**
   * Whether the purpose has its trigger: the function that turns a schedule tick, an S3 arrival,
   * an upstream success or `batcat run` into runs, one per window, recorded in the ledger. Without
   * it, `schedule`, `s3Arrival`, `after` and `freshness` cannot be set, `grantRun` is not
   * available, and runs start only by starting the state machine (or its backfill machine).
   *
   * @default true
   */
  readonly trigger?: boolean;
  /**
   * Whether the purpose has a backfill machine, which runs a range of windows a few at a time.
   * Without it, the trigger refuses a range and starts catch-up windows one by one.
   *
   * @default true
   */
  readonly backfill?: boolean;
  /**
   * Whether failed, timed-out, aborted and throttled runs alarm on the topic (`alarms`). Stopped
   * and timed-out runs are still published to the topic, and failures notify it from the run.
   *
   * @default true
   */
  readonly runAlarms?: boolean;
  /**
   * Whether the trigger's errors and dead letters alarm on the topic.
   *
   * @default true
   */
  readonly triggerAlarms?: boolean;
  /**
   * Starts a run for the window that just ended at each tick. The schedule's time zone
   * decides which day a tick falls on.
   *
   * @default - runs start only by the other triggers
   */
  readonly schedule?: scheduler.ScheduleExpression;
  /**
   * New objects in these input folders start runs. The bucket must send events to
   * EventBridge (ProjectData's bucket does).
   *
   * @default - none
   */
  readonly s3Arrival?: PurposeS3Arrival[];
  /**
   * Each successful run of this purpose starts a run of this one for the same window.
   *
   * @default - none
   */
  readonly after?: UpstreamPurpose;
  /**
   * Runs this Athena query for the window before the job. The result CSV (with Athena's
   * `.csv.metadata` next to it) is copied to `/opt/ml/processing/input/query/`.
   *
   * @default - no query
   */
  readonly query?: PurposeQuery;
  /**
   * The workgroup the profile queries of the outputs' tables run in: its scan cap bounds each.
   *
   * @default - the workgroup of `query`; required when an output has a `table` and there is no `query`
   */
  readonly profileWorkGroup?: IQueryWorkGroup;
  /**
   * Runs this query in Amazon Redshift for the window before the job, through the Data API with
   * an UNLOAD into a folder of the run's own; the job reads that folder as its input `query`
   * (`/opt/ml/processing/input/query/000.csv`). Give this or `query`.
   *
   * @default - no Redshift query
   */
  readonly redshiftQuery?: PurposeRedshiftQuery;
  /**
   * The commit of the code this purpose was built from, recorded in each run's manifest
   * (`_batcat/runs/<purpose>/<run>/manifest.json`).
   *
   * @default - none recorded
   */
  readonly gitCommit?: string;
  /**
   * The packages the image brings (from its requirements files and its framework), recorded in
   * each run's manifest, so that `batcat doctor --run` can say how an interpreter differs.
   *
   * @default - none recorded
   */
  readonly requirements?: readonly Requirement[];
}

/** A query in Amazon Redshift that runs before the job (see RedshiftUnloadQuery). */
export interface PurposeRedshiftQuery {
  /** The SELECT, with a `?` for each of `parameters`. */
  readonly queryString: string;
  /**
   * What each `?` is bound to, in order: the window's days, as quoted `'YYYY-MM-DD'` literals.
   *
   * @default [QueryParameter.WINDOW_START, QueryParameter.WINDOW_END]
   */
  readonly parameters?: QueryParameter[];
  /** The Redshift database. */
  readonly database: string;
  /** The secret with the database user's credentials. */
  readonly secret: secretsmanager.ISecret;
  /**
   * A Redshift Serverless workgroup. Give this or `clusterIdentifier`.
   *
   * @default - `clusterIdentifier`
   */
  readonly workgroupName?: string;
  /**
   * A provisioned cluster. Give this or `workgroupName`.
   *
   * @default - `workgroupName`
   */
  readonly clusterIdentifier?: string;
  /**
   * What the UNLOAD writes: `000.csv` with a header line, or `000.parquet`.
   *
   * @default RedshiftUnloadFormat.CSV
   */
  readonly format?: RedshiftUnloadFormat;
  /**
   * The bucket the result is unloaded to.
   *
   * @default - the purpose's `bucket`
   */
  readonly resultsBucket?: s3.IBucket;
  /**
   * The folder each run unloads into a folder of its own below, ending with '/'.
   *
   * @default `_batcat/redshift-results/<purposeName>/`
   */
  readonly resultsPrefix?: string;
}

/** The alarms of a purpose, each notifying the topic. */
export interface PurposeAlarms {
  /** At least one run failed. */
  readonly failed: cloudwatch.Alarm;
  /** At least one run timed out. */
  readonly timedOut: cloudwatch.Alarm;
  /** At least one run was aborted. */
  readonly aborted: cloudwatch.Alarm;
  /** Step Functions throttled at least one execution. */
  readonly throttled: cloudwatch.Alarm;
  /**
   * A run broke a data rule with `onViolation: warn`.
   *
   * @default - none, for a purpose without such a rule
   */
  readonly ruleWarnings?: cloudwatch.Alarm;
}

/** Where a Spark purpose runs. */
export enum SparkRuntime {
  /** An EMR Serverless application: current EMR releases, billed per vCPU- and GB-second while the job runs. */
  EMR_SERVERLESS = 'emr-serverless',
  /** SageMaker Processing with SageMaker's Spark image (what `PySparkProcessor` runs): `instanceCount` instances form the cluster. */
  SAGEMAKER = 'sagemaker',
}

/** A purpose whose script runs with Spark. */
export interface PurposeSpark {
  /**
   * Where the job runs.
   *
   * @default SparkRuntime.EMR_SERVERLESS
   */
  readonly runtime?: SparkRuntime;
  /**
   * EMR Serverless: the application the job runs on. A BatCat app gives the Spark purposes of a
   * stage one application per release, so a day's jobs share its start-up and its capacity bound.
   *
   * @default - an application of the purpose's own, `SparkApplication`, of `release` and `maxCapacity`
   */
  readonly application?: ISparkApplication;
  /**
   * EMR Serverless: the EMR release label (`emr-7.5.0`); SageMaker: the Spark version of its image (`3.5`).
   * With `application`, the application's release, recorded with each run.
   *
   * @default 'emr-7.5.0' (Spark 3.5) on EMR Serverless, '3.5' on SageMaker
   */
  readonly release?: string;
  /**
   * EMR Serverless, the purpose's own application: the most it may use at once.
   *
   * @default - 64 vCPU and 256 GB
   */
  readonly maxCapacity?: SparkCapacity;
  /**
   * Spark properties (`spark-submit --conf`), such as `spark.executor.memory: 4g`.
   *
   * @default - none besides BatCat's (no `_SUCCESS` marker files)
   */
  readonly config?: Record<string, string>;
  /**
   * Local Python files and package folders (absolute paths), zipped into one archive given to
   * the driver and executors with `--py-files`: a folder `lib/` is imported as `lib`, a file
   * `helpers.py` as `helpers`.
   *
   * @default - none
   */
  readonly pyFiles?: string[];
  /**
   * The class to run when `script` is a jar (`--class`).
   *
   * @default - `script` is a PySpark script
   */
  readonly mainClass?: string;
  /**
   * Keeps Spark's event logs in the purpose's bucket, below `_batcat/spark-events/<purpose>/`,
   * where a Spark history server (the Spark UI) reads them.
   *
   * @default false
   */
  readonly eventLogs?: boolean;
}
