import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duration, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { JOB_ENV, secretIdVariable } from '../../contract/environment';
import { CODE_INPUT_NAME, CODE_PATH } from '../../contract/processing';
import { s3Uri } from '../../contract/s3-uri';
import { SMSPARK, sparkConfiguration, stagePyFiles } from '../../contract/spark';
import { EmrServerlessStartJobRun, type SparkFolder } from '../emr-serverless-start-job-run';
import { SparkRuntime } from '../purpose-props';
import { S3UploadMode, type ProcessingInput, type ProcessingOutput } from '../sagemaker-create-processing-job';
import type { ISparkApplication } from '../spark-application';
import { acknowledgeWildcardResources } from './acknowledge';
import { scopedError } from './errors';
import { viaS3 } from './s3-access';
import type { ResolvedPurpose, ResolvedSpark } from './resolve-purpose-props';

/*
 * A Spark purpose's job: its code as assets, and the step that runs it, on EMR Serverless
 * (`RunSparkJob`) or as SageMaker's PySparkProcessor would on SageMaker (`RunProcessingJob`
 * with smspark-submit, after `WriteSparkConfiguration`).
 */

/** The script (or jar), uploaded as it is, and the --py-files zipped into one archive. */
export interface SparkCode {
  readonly script: s3assets.Asset;
  readonly pyFiles?: s3assets.Asset;
}

/** Uploads the script and the purpose's py-files as content-hashed assets (`Code`, `PyFiles`). */
export function sparkCode(scope: Construct, script: string, spark: ResolvedSpark): SparkCode {
  if (!path.isAbsolute(script)) throw scopedError(scope, `script must be an absolute path, got '${script}'`);
  if (!fs.existsSync(script) || !fs.statSync(script).isFile()) throw scopedError(scope, `script '${script}' is not a file`);
  const code = new s3assets.Asset(scope, 'Code', { path: script });
  if (Token.isUnresolved(code.s3ObjectKey))
    throw scopedError(scope, 'a Spark purpose needs a stack synthesizer that names asset objects at synth time');
  if (spark.pyFiles.length === 0) return { script: code };
  return { script: code, pyFiles: new s3assets.Asset(scope, 'PyFiles', { path: stagedPyFiles(spark.pyFiles) }) };
}

/**
 * The py-files staged in one folder, which CDK zips. A folder of its own per synth (the asset's
 * hash is of the content, not the path), so parallel synths do not share one.
 */
function stagedPyFiles(pyFiles: readonly string[]): string {
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'batcat-pyfiles-'));
  stagePyFiles(pyFiles, stage);
  return stage;
}

/** Spark properties that give the driver and executors on EMR Serverless the environment a processing job gets: the purpose's variables and the secrets' ids. */
function environmentConfig(purpose: ResolvedPurpose): Record<string, string> {
  const { props } = purpose;
  const env: Record<string, string> = {
    ...props.environment,
    ...Object.fromEntries(Object.entries(props.secrets ?? {}).map(([name, secret]) => [secretIdVariable(name), secret.secretArn])),
    [JOB_ENV.purpose]: props.purposeName,
  };
  return Object.fromEntries(
    Object.entries(env).flatMap(([k, v]) => [
      [`spark.emr-serverless.driverEnv.${k}`, v],
      [`spark.executorEnv.${k}`, v],
    ]),
  );
}

/** The event logs' folder, as Spark writes it (`s3://`, which EMR's and SageMaker's Spark both read). */
function eventLogsConfig(purpose: ResolvedPurpose): Record<string, string> {
  const spark = purpose.spark!;
  return spark.eventLogs
    ? { 'spark.eventLog.enabled': 'true', 'spark.eventLog.dir': s3Uri(purpose.props.bucket.bucketName, spark.eventLogsPrefix) }
    : {};
}

/**
 * The Spark job on EMR Serverless: the run's job name as the job run's name and idempotency
 * token (a retried start finds the job run it started), logs per attempt in the purpose's
 * bucket, the purpose's maxRuntime as the job's timeout, and a job role allowed exactly the
 * purpose's folders.
 */
export function runSparkJob(
  scope: Construct,
  purpose: ResolvedPurpose,
  application: ISparkApplication,
  code: SparkCode,
  args: readonly string[] | undefined,
  paths: { jobName: string; attemptFolder: string; job: string },
): EmrServerlessStartJobRun {
  const { props } = purpose;
  const spark = purpose.spark!;
  const folders = (bucket: SparkFolder['bucket'], keyPrefix: string) => ({ bucket, keyPrefix });
  const job = new EmrServerlessStartJobRun(scope, 'RunSparkJob', {
    comment: `Runs the purpose's Spark job on EMR Serverless (${spark.release}) and waits for it.`,
    application,
    entryPoint: { bucket: code.script.bucket, key: code.script.s3ObjectKey },
    pyFiles: code.pyFiles ? [{ bucket: code.pyFiles.bucket, key: code.pyFiles.s3ObjectKey }] : undefined,
    entryPointArguments: args,
    mainClass: spark.mainClass,
    sparkConf: { ...spark.config, ...eventLogsConfig(purpose), ...environmentConfig(purpose) },
    name: sfn.JsonPath.stringAt(paths.jobName),
    inputFolders: [
      ...purpose.inputs.flatMap((i) =>
        [i.bucket ?? props.bucket, ...(i.fallbackBucket ? [i.fallbackBucket] : [])].map((b) => folders(b, folderOf(i.keyPrefix))),
      ),
      ...(props.query ? [folders(props.query.workGroup.resultsBucket, props.query.workGroup.resultsPrefix)] : []),
      ...(purpose.redshiftResults ? [folders(purpose.redshiftResults.bucket, purpose.redshiftResults.prefix)] : []),
    ],
    outputFolders: [
      ...purpose.outputs.map((o) => folders(props.bucket, o.keyPrefix)),
      ...(spark.eventLogs ? [folders(props.bucket, spark.eventLogsPrefix)] : []),
    ],
    logs: { bucket: props.bucket, keyPrefix: spark.logsPrefix, runFolder: sfn.JsonPath.stringAt(paths.attemptFolder) },
    executionTimeout: Duration.minutes(Math.ceil(purpose.maxRuntime.toMinutes({ integral: false }))),
    tags: { 'batcat:purpose': props.purposeName, 'batcat:state-machine': purpose.stateMachineName },
    resultPath: paths.job,
  });
  // A start refused for throttling or a service fault is tried again; the idempotency token makes that safe.
  job.addRetry({
    errors: ['EMRServerless.ThrottlingException', 'EMRServerless.InternalServerException'],
    interval: Duration.seconds(5),
    maxAttempts: 5,
    backoffRate: 2,
  });
  return job;
}

/** An input's folder: a key prefix ending with '/', or the folder of one object. */
function folderOf(keyPrefix: string): string {
  return keyPrefix.endsWith('/') ? keyPrefix : `${keyPrefix.slice(0, keyPrefix.lastIndexOf('/') + 1)}`;
}

/** What PySparkProcessor adds to a processing job, and the state that writes its configuration file first. */
export interface SageMakerSpark {
  readonly entrypoint: string[];
  readonly inputs: ProcessingInput[];
  readonly outputs: ProcessingOutput[];
  readonly writeConfiguration: tasks.CallAwsService;
}

/**
 * The Spark job on SageMaker, as PySparkProcessor sends it: `smspark-submit` with the script
 * under /opt/ml/processing/input/code/, its --py-files from the input `py-files`, its Spark
 * properties in `conf/configuration.json` (written to the purpose's bucket, named by its
 * content, by `WriteSparkConfiguration` before the job: SageMaker copies inputs by key, and an
 * asset's key is its hash), and the event logs uploaded continuously from their local folder.
 */
export function sagemakerSpark(scope: Construct, purpose: ResolvedPurpose, code: SparkCode): SageMakerSpark {
  const { props } = purpose;
  const spark = purpose.spark!;
  if (spark.runtime !== SparkRuntime.SAGEMAKER) throw new Error('BatCat bug: sagemakerSpark for an EMR Serverless purpose');
  const configuration = JSON.stringify(sparkConfiguration(spark.config));
  const confPrefix = `_batcat/spark-conf/${props.purposeName}/${createHash('sha256').update(configuration).digest('hex').slice(0, 16)}/`;
  const confKey = `${confPrefix}${SMSPARK.confFile}`;
  const writeConfiguration = new tasks.CallAwsService(scope, 'WriteSparkConfiguration', {
    comment: `Writes the Spark properties where SageMaker's Spark image reads them (${SMSPARK.confPath}/${SMSPARK.confFile}), named by their content.`,
    service: 's3',
    action: 'putObject',
    parameters: { Bucket: props.bucket.bucketName, Key: confKey, Body: configuration, ContentType: 'application/json' },
    iamResources: [props.bucket.arnForObjects(confKey)],
    iamAction: 's3:PutObject',
    resultPath: sfn.JsonPath.DISCARD,
  });
  writeConfiguration.addRetry({
    errors: ['S3.S3Exception', 'S3.SdkClientException'],
    interval: Duration.seconds(2),
    maxAttempts: 4,
    backoffRate: 2,
  });
  const scriptPath = `${CODE_PATH}/${path.posix.basename(code.script.s3ObjectKey)}`;
  return {
    entrypoint: [
      SMSPARK.submit,
      ...(code.pyFiles ? ['--py-files', `${SMSPARK.pyFilesPath}/${path.posix.basename(code.pyFiles.s3ObjectKey)}`] : []),
      ...(spark.mainClass ? ['--class', spark.mainClass] : []),
      ...(spark.eventLogs ? [SMSPARK.eventLogsOption, SMSPARK.eventLogsPath] : []),
      scriptPath,
    ],
    inputs: [
      { name: CODE_INPUT_NAME, bucket: code.script.bucket, keyPrefix: code.script.s3ObjectKey, localPath: CODE_PATH },
      { name: SMSPARK.confInput, bucket: props.bucket, keyPrefix: confPrefix, localPath: SMSPARK.confPath },
      ...(code.pyFiles
        ? [{ name: SMSPARK.pyFilesInput, bucket: code.pyFiles.bucket, keyPrefix: code.pyFiles.s3ObjectKey, localPath: SMSPARK.pyFilesPath }]
        : []),
    ],
    outputs: spark.eventLogs
      ? [
          {
            name: SMSPARK.eventLogsOutput,
            bucket: props.bucket,
            keyPrefix: spark.eventLogsPrefix,
            localPath: SMSPARK.eventLogsPath.replace(/\/$/, ''),
            uploadMode: S3UploadMode.CONTINUOUS,
          },
        ]
      : [],
    writeConfiguration,
  };
}

/** The KMS use `WriteSparkConfiguration` needs on an encrypted bucket. */
export function grantWriteConfiguration(stateMachineRole: iam.IGrantable, purpose: ResolvedPurpose): void {
  const key = purpose.props.bucket.encryptionKey;
  if (key) stateMachineRole.grantPrincipal.addToPrincipalPolicy(viaS3(['kms:GenerateDataKey'], key, purpose.props.bucket));
}

/** Spark's output committers write below a temporary folder and move into place: the job role may delete below its outputs. */
export function allowSparkCommits(role: iam.IRole, purpose: ResolvedPurpose): void {
  const objects = purpose.outputs.map((o) => purpose.props.bucket.arnForObjects(`${o.keyPrefix}*`));
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:DeleteObject', 's3:PutObject', 's3:GetObject'], resources: objects }));
  acknowledgeWildcardResources(
    role,
    objects,
    "Prefix-scoped: Spark's committers write, read back and delete temporary objects below the purpose's outputs.",
  );
}

/** The driver log of a failed EMR Serverless job run, as EMR Serverless lays out its S3 logs. */
export function driverLogFolder(purpose: ResolvedPurpose, application: ISparkApplication): string {
  return `${s3Uri(purpose.props.bucket.bucketName, purpose.spark!.logsPrefix)}{}applications/${application.applicationId}/jobs/{}/SPARK_DRIVER/`;
}
