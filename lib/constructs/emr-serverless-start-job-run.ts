import { Aws, Stack, Token, type Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { s3Uri } from '../contract/s3-uri';
import { acknowledgeWildcardResources } from './private/acknowledge';
import { scopedError } from './private/errors';
import { listFolder, viaS3 } from './private/s3-access';
import type { ISparkApplication } from './spark-application';

/** An S3 folder a Spark job reads or writes: `bucket` and `keyPrefix` (ending with '/'). */
export interface SparkFolder {
  /** The bucket the folder is in. */
  readonly bucket: s3.IBucket;
  /** The folder, ending with '/'. */
  readonly keyPrefix: string;
}

/** One S3 object: the script, or a file passed with --py-files. */
export interface SparkObject {
  /** The bucket the object is in. */
  readonly bucket: s3.IBucket;
  /** Its key. */
  readonly key: string;
}

/** Properties of EmrServerlessStartJobRun. */
export interface EmrServerlessStartJobRunProps extends sfn.TaskStateBaseProps {
  /** The application the job runs on. */
  readonly application: ISparkApplication;
  /** The PySpark script (or jar, with `mainClass`) the job runs. */
  readonly entryPoint: SparkObject;
  /**
   * The script's arguments; each a literal or a JsonPath reference resolved per run.
   * @default - none
   */
  readonly entryPointArguments?: readonly string[];
  /**
   * The class to run in a jar entry point (`--class`).
   * @default - none: the entry point is a Python script
   */
  readonly mainClass?: string;
  /**
   * Spark properties, passed as `--conf name=value`.
   * @default - none
   */
  readonly sparkConf?: Readonly<Record<string, string>>;
  /**
   * Python files and zips for the driver and executors (`--py-files`).
   * @default - none
   */
  readonly pyFiles?: readonly SparkObject[];
  /**
   * The job run's name, a literal or a JsonPath reference; also its idempotency token, so a
   * retried call starts no second job run. 1 to 64 characters of `[A-Za-z0-9._-]`.
   */
  readonly name: string;
  /**
   * The role the job runs as.
   * @default - a role only this application's job runs may assume, allowed exactly `inputFolders`, `outputFolders`, the code and `logs`
   */
  readonly role?: iam.IRole;
  /**
   * What the job reads.
   * @default - nothing
   */
  readonly inputFolders?: readonly SparkFolder[];
  /**
   * What the job writes (Spark's committers also list and delete below them).
   * @default - nothing
   */
  readonly outputFolders?: readonly SparkFolder[];
  /**
   * Where EMR Serverless keeps the driver's and executors' logs, and Spark its event logs (for
   * the Spark UI); `runFolder` (a JsonPath reference, ending with '/') is appended per run.
   * @default - no logs in S3 (EMR Serverless keeps them 30 days in its managed storage)
   */
  readonly logs?: SparkFolder & { readonly runFolder?: string };
  /**
   * The job run is cancelled after this long.
   * @default - EMR Serverless' default, 12 hours
   */
  readonly executionTimeout?: Duration;
  /**
   * `RUN_JOB` waits for the job run (`.sync`); `REQUEST_RESPONSE` only starts it.
   * @default sfn.IntegrationPattern.RUN_JOB
   */
  readonly integrationPattern?: sfn.IntegrationPattern;
  /**
   * Tags of the job runs.
   * @default - none
   */
  readonly tags?: Readonly<Record<string, string>>;
}

/** Job run names and idempotency tokens: what StartJobRun's clientToken allows. */
const CLIENT_TOKEN = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Runs a Spark job on EMR Serverless as a Step Functions task (the optimized
 * `emr-serverless:startJobRun` integration, which aws-cdk-lib has no construct for).
 *
 * With `.sync` the state waits for the job run and fails when it fails. Adding it to a state
 * machine grants the state machine's role what AWS documents for it, on this application only:
 * StartJobRun, GetJobRun and CancelJobRun on its job runs, `iam:PassRole` on the job's role
 * towards EMR Serverless, and the EventBridge managed rule `.sync` uses.
 */
export class EmrServerlessStartJobRun extends sfn.TaskStateBase {
  private static readonly SUPPORTED_PATTERNS = [sfn.IntegrationPattern.REQUEST_RESPONSE, sfn.IntegrationPattern.RUN_JOB];

  /** The role the job runs as. */
  public readonly role: iam.IRole;

  protected readonly taskMetrics?: sfn.TaskMetricsConfig;
  protected readonly taskPolicies?: iam.PolicyStatement[];

  private readonly integrationPattern: sfn.IntegrationPattern;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: EmrServerlessStartJobRunProps,
  ) {
    super(scope, id, props);
    this.integrationPattern = props.integrationPattern ?? sfn.IntegrationPattern.RUN_JOB;
    if (!EmrServerlessStartJobRun.SUPPORTED_PATTERNS.includes(this.integrationPattern)) {
      throw scopedError(this, `integrationPattern ${this.integrationPattern} is not supported; use RUN_JOB (.sync) or REQUEST_RESPONSE`);
    }
    this.validate();
    this.role =
      props.role ??
      new iam.Role(this, 'JobRole', {
        // Only this application's job runs, in this account, may take the role.
        assumedBy: new iam.ServicePrincipal('emr-serverless.amazonaws.com').withConditions({
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': props.application.applicationArn },
        }),
        description: `Runs the Spark jobs of ${this.node.path}`,
      });
    if (!props.role) this.grantJobAccess();
    this.taskPolicies = this.stateMachinePolicies();
  }

  /** The parameters StartJobRun gets, as the task renders them. */
  protected _renderTask(): Record<string, unknown> {
    const p = this.props;
    const suffix = this.integrationPattern === sfn.IntegrationPattern.RUN_JOB ? '.sync' : '';
    const args = p.entryPointArguments ?? [];
    const perRun = args.some((a) => sfn.JsonPath.isEncodedJsonPath(a));
    return {
      Resource: `arn:${Aws.PARTITION}:states:::emr-serverless:startJobRun${suffix}`,
      Parameters: sfn.FieldUtils.renderObject({
        ApplicationId: p.application.applicationId,
        ExecutionRoleArn: this.role.roleArn,
        Name: p.name,
        ClientToken: p.name,
        JobDriver: {
          SparkSubmit: {
            EntryPoint: s3Uri(p.entryPoint.bucket.bucketName, p.entryPoint.key),
            ...(args.length > 0
              ? {
                  EntryPointArguments: perRun
                    ? sfn.JsonPath.array(...args.map((a) => (sfn.JsonPath.isEncodedJsonPath(a) ? a : a.replace(/[{}]/g, '\\$&'))))
                    : [...args],
                }
              : {}),
            ...(this.sparkSubmitParameters() ? { SparkSubmitParameters: this.sparkSubmitParameters() } : {}),
          },
        },
        ...(p.logs
          ? {
              ConfigurationOverrides: {
                MonitoringConfiguration: {
                  S3MonitoringConfiguration: {
                    LogUri: p.logs.runFolder
                      ? sfn.JsonPath.format(s3Uri(p.logs.bucket.bucketName, `${p.logs.keyPrefix}{}`), p.logs.runFolder)
                      : s3Uri(p.logs.bucket.bucketName, p.logs.keyPrefix),
                    ...(p.logs.bucket.encryptionKey ? { EncryptionKeyArn: p.logs.bucket.encryptionKey.keyArn } : {}),
                  },
                },
              },
            }
          : {}),
        ...(p.executionTimeout ? { ExecutionTimeoutMinutes: p.executionTimeout.toMinutes() } : {}),
        ...(p.tags && Object.keys(p.tags).length > 0 ? { Tags: { ...p.tags } } : {}),
      }),
    };
  }

  /** `--class`, `--conf` and `--py-files`, as spark-submit takes them; undefined when there are none. */
  private sparkSubmitParameters(): string | undefined {
    const p = this.props;
    const parts = [
      ...(p.mainClass ? [`--class ${p.mainClass}`] : []),
      ...Object.entries(p.sparkConf ?? {}).map(([k, v]) => `--conf ${k}=${v}`),
      ...(p.pyFiles && p.pyFiles.length > 0 ? [`--py-files ${p.pyFiles.map((f) => s3Uri(f.bucket.bucketName, f.key)).join(',')}`] : []),
    ];
    return parts.length > 0 ? parts.join(' ') : undefined;
  }

  private validate(): void {
    const p = this.props;
    if (!Token.isUnresolved(p.name) && !sfn.JsonPath.isEncodedJsonPath(p.name) && !CLIENT_TOKEN.test(p.name)) {
      throw scopedError(this, `name '${p.name}' must be 1 to 64 characters of [A-Za-z0-9._-] (it is the job run's idempotency token)`);
    }
    for (const [k, v] of Object.entries(p.sparkConf ?? {})) {
      if (!/^[A-Za-z0-9_.-]+$/.test(k))
        throw scopedError(this, `sparkConf key '${k}' is not a Spark property name (letters, digits, '.', '_', '-')`);
      // spark-submit's parameters are one string split at spaces.
      if (/\s/.test(v) || v === '')
        throw scopedError(
          this,
          `sparkConf ${k}: the value '${v}' is empty or has a space, which StartJobRun's sparkSubmitParameters cannot carry`,
        );
    }
    if (p.mainClass !== undefined && !/^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/.test(p.mainClass)) {
      throw scopedError(this, `mainClass '${p.mainClass}' is not a Java class name, such as com.example.DailyJob`);
    }
    const minutes = p.executionTimeout?.toMinutes({ integral: false });
    if (minutes !== undefined && (!Number.isInteger(minutes) || minutes < 1)) {
      throw scopedError(this, `executionTimeout must be a whole number of minutes, at least 1, got ${minutes}`);
    }
    for (const f of [...(p.inputFolders ?? []), ...(p.outputFolders ?? []), ...(p.logs ? [p.logs] : [])]) {
      if (!f.keyPrefix.endsWith('/')) throw scopedError(this, `the folder '${f.keyPrefix}' must end with '/'`);
    }
  }

  /** What the job role needs: the code, its inputs, its outputs and its logs, by prefix. */
  private grantJobAccess(): void {
    const p = this.props;
    const wildcards: string[] = [];
    const add = (s: iam.PolicyStatement) => this.role.addToPrincipalPolicy(s);
    for (const o of [p.entryPoint, ...(p.pyFiles ?? [])]) {
      add(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [o.bucket.arnForObjects(o.key)] }));
      if (o.bucket.encryptionKey) add(viaS3(['kms:Decrypt'], o.bucket.encryptionKey, o.bucket));
    }
    for (const i of p.inputFolders ?? []) {
      const objects = i.bucket.arnForObjects(`${i.keyPrefix}*`);
      wildcards.push(objects);
      add(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [objects] }));
      add(listFolder(i.bucket, i.keyPrefix));
      if (i.bucket.encryptionKey) add(viaS3(['kms:Decrypt'], i.bucket.encryptionKey, i.bucket));
    }
    for (const o of [...(p.outputFolders ?? []), ...(p.logs ? [p.logs] : [])]) {
      const objects = o.bucket.arnForObjects(`${o.keyPrefix}*`);
      wildcards.push(objects);
      // Spark's output committers write below _temporary/ and move (copy, delete) into place.
      add(
        new iam.PolicyStatement({
          actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
          resources: [objects],
        }),
      );
      add(listFolder(o.bucket, o.keyPrefix));
      if (o.bucket.encryptionKey) add(viaS3(['kms:GenerateDataKey', 'kms:Decrypt'], o.bucket.encryptionKey, o.bucket));
    }
    if (wildcards.length > 0) {
      acknowledgeWildcardResources(
        this.role,
        wildcards,
        "Prefix-scoped: the objects below the job's declared input, output and log folders, whose names Spark chooses.",
      );
    }
  }

  /** What the state machine's role needs, as AWS documents it for this integration. */
  private stateMachinePolicies(): iam.PolicyStatement[] {
    const stack = Stack.of(this);
    const app = this.props.application.applicationArn;
    const jobRuns = `${app}/jobruns/*`;
    acknowledgeWildcardResources(
      stack,
      [jobRuns],
      "A job run's ID is known only once it started: GetJobRun and CancelJobRun on this application's job runs, none of another's.",
    );
    const statements = [
      new iam.PolicyStatement({ actions: ['emr-serverless:StartJobRun'], resources: [app] }),
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.role.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'emr-serverless.amazonaws.com' } },
      }),
    ];
    if (this.integrationPattern === sfn.IntegrationPattern.RUN_JOB) {
      statements.push(
        new iam.PolicyStatement({ actions: ['emr-serverless:GetJobRun', 'emr-serverless:CancelJobRun'], resources: [jobRuns] }),
        new iam.PolicyStatement({
          actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
          resources: [
            stack.formatArn({ service: 'events', resource: 'rule', resourceName: 'StepFunctionsGetEventsForEMRServerlessJobRule' }),
          ],
        }),
      );
    }
    return statements;
  }
}
