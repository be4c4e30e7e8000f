import { Aws, Duration, Size, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { JOB_NAME } from '../contract/names';
import {
  defaultInputPath,
  defaultOutputPath,
  hasInstanceStorage,
  PROCESSING_DEFAULTS,
  PROCESSING_LIMITS,
  processingInstanceType,
} from '../contract/processing';
import {
  channelPathProblems,
  compressionProblem,
  duplicateProblems,
  inputKeyProblem,
  instanceCountProblem,
  instanceTypeProblem,
  jobNamePrefixProblem,
  keyPrefixProblem,
  maxRuntimeProblem,
  volumeSizeGbProblem,
} from '../contract/rules';
import { s3Uri } from '../contract/s3-uri';
import { acknowledgeWildcardResources } from './private/acknowledge';
import { check, scopedError } from './private/errors';
import { readFolder, viaS3 } from './private/s3-access';

/** How SageMaker spreads an input's objects across the instances of a job. */
export enum S3DataDistribution {
  /** Every instance receives every object. */
  FULLY_REPLICATED = 'FullyReplicated',
  /** Objects are split by key across instances: how a purpose outgrows one machine. */
  SHARDED_BY_S3_KEY = 'ShardedByS3Key',
}

/** How an input reaches the container (`S3InputMode`). */
export enum S3InputMode {
  /** Copied to the instance's volume before the script starts. */
  FILE = 'File',
  /** Streamed through a named pipe while the script reads. */
  PIPE = 'Pipe',
  /** Visible as files at once, fetched as the script reads them. */
  FAST_FILE = 'FastFile',
}

/** Whether SageMaker decompresses an input as it streams it (`S3CompressionType`, Pipe mode only). */
export enum S3CompressionType {
  NONE = 'None',
  GZIP = 'Gzip',
}

/** When an output is uploaded (`S3UploadMode`). */
export enum S3UploadMode {
  /** Once, after the script ends. */
  END_OF_JOB = 'EndOfJob',
  /** As the script writes files. */
  CONTINUOUS = 'Continuous',
}

/** An S3 folder (or one object) that a processing job reads. */
export interface ProcessingInput {
  /** The input's name; it is copied to `/opt/ml/processing/input/<name>` unless `localPath` says otherwise. */
  readonly name: string;
  /** The bucket to read from. */
  readonly bucket: s3.IBucket;
  /**
   * The folder to read, ending with '/', or one object's key (it arrives as
   * `<localPath>/<its file name>`). The job role may read only below it.
   */
  readonly keyPrefix: string;
  /**
   * A sub-folder chosen per run, appended to `keyPrefix`, such as the run's `dt=` partition: a
   * JsonPath reference, or in a JSONata task a `{% ... %}` expression. Access stays scoped to
   * `keyPrefix`.
   *
   * @default - the job reads all of `keyPrefix`
   */
  readonly runPrefix?: string;
  /**
   * Read only the objects a SageMaker manifest lists (`S3DataType: ManifestFile`), such as the
   * `dt=` partitions of a window of several days, instead of the whole folder. The manifest's
   * prefix must be this input's folder (`s3://<bucket>/<keyPrefix>`), so access stays scoped to
   * it; each object arrives under its key relative to that folder.
   *
   * @default - the job reads the folder (or `runPrefix` below it)
   */
  readonly manifest?: ProcessingInputManifest;
  /**
   * The S3 URI this run reads, chosen by a step before the job: a JsonPath reference, or in a
   * JSONata task a `{% ... %}` expression. It must be `keyPrefix` or below it, in `bucket` or
   * `fallbackBucket`: the job role may read nothing else of this input.
   *
   * @default - `s3://<bucket>/<keyPrefix><runPrefix>`
   */
  readonly uri?: string;
  /**
   * A second bucket holding the same folder, which a run may read instead of `bucket` (through
   * `uri`, or a `manifest` that names it): a branch stage's parent bucket. The job role may read
   * the folder in both.
   *
   * @default - none
   */
  readonly fallbackBucket?: s3.IBucket;
  /**
   * Where the input is copied in the container.
   *
   * @default `/opt/ml/processing/input/<name>`
   */
  readonly localPath?: string;
  /**
   * How the input's objects are spread across the job's instances.
   *
   * @default S3DataDistribution.FULLY_REPLICATED
   */
  readonly distribution?: S3DataDistribution;
  /**
   * How the input reaches the container.
   *
   * @default S3InputMode.FILE
   */
  readonly mode?: S3InputMode;
  /**
   * Whether SageMaker decompresses the input as it streams it; needs `S3InputMode.PIPE`.
   *
   * @default S3CompressionType.NONE
   */
  readonly compression?: S3CompressionType;
}

/** Where a processing input's manifest is: an object chosen per run below a folder the job role may read. */
export interface ProcessingInputManifest {
  /** The bucket of the manifest. */
  readonly bucket: s3.IBucket;
  /** The folder of the manifests, ending with '/'. The job role may read below it. */
  readonly keyPrefix: string;
  /**
   * The manifest's key, below `keyPrefix`: a JsonPath reference, or in a JSONata task a
   * `{% ... %}` expression.
   */
  readonly key: string;
}

/** An S3 folder that a processing job writes. */
export interface ProcessingOutput {
  /** The output's name; the job uploads `/opt/ml/processing/output/<name>` unless `localPath` says otherwise. */
  readonly name: string;
  /** The bucket to write to. */
  readonly bucket: s3.IBucket;
  /** The folder to write, ending with '/'. The job role may write only below it. */
  readonly keyPrefix: string;
  /**
   * A sub-folder chosen per run, appended to `keyPrefix`: a JsonPath expression such as
   * `JsonPath.format('dt={}/', JsonPath.stringAt('$.run.date'))`. Access stays scoped to `keyPrefix`.
   *
   * @default - the job writes directly under `keyPrefix`
   */
  readonly runPrefix?: string;
  /**
   * Where the script writes the output in the container.
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
}

/** Properties of a SageMakerCreateProcessingJob task. */
export interface SageMakerCreateProcessingJobProps extends sfn.TaskStateBaseProps {
  /**
   * The job name: a literal, or resolved per run: a JsonPath reference
   * (`JsonPath.stringAt('$.jobName')`), or in a JSONata task a `{% ... %}` expression. It must
   * start with `jobNamePrefix` and a hyphen and match `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`.
   */
  readonly jobName: string;
  /**
   * The literal start of every job name this task creates (1-30 characters). Step Functions
   * may create, describe and stop only jobs whose names start with it.
   */
  readonly jobNamePrefix: string;
  /** The container image. Pull access is granted to the job role. */
  readonly image: tasks.DockerImage;
  /**
   * The role the job runs as (trusted by sagemaker.amazonaws.com).
   *
   * @default - a role that can read only the inputs, write only the outputs, pull the image and
   * write the job's logs and metrics
   */
  readonly role?: iam.IRole;
  /**
   * The S3 folders the job reads.
   *
   * @default - no inputs
   */
  readonly processingInputs?: ProcessingInput[];
  /**
   * The S3 folders the job writes when it ends.
   *
   * @default - no outputs
   */
  readonly processingOutputs?: ProcessingOutput[];
  /**
   * The key SageMaker encrypts the outputs with.
   *
   * @default - the output bucket's default encryption
   */
  readonly outputEncryptionKey?: kms.IKey;
  /**
   * The key SageMaker encrypts the instances' storage volumes with. Instance types with local
   * NVMe storage (`g5`, `r5d`...: see `INSTANCE_STORAGE_FAMILIES`) encrypt it in hardware and
   * take no key.
   *
   * @default - an AWS-managed key
   */
  readonly volumeEncryptionKey?: kms.IKey;
  /**
   * The instance type, without the `ml.` prefix (`new ec2.InstanceType('m5.large')`).
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
   * The size of each instance's storage volume.
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
   * Environment variables of the container. Values may be JsonPath expressions.
   *
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * Replaces the image's entrypoint (`ContainerEntrypoint`).
   *
   * @default - the image's entrypoint
   */
  readonly containerEntrypoint?: string[];
  /**
   * Arguments for the entrypoint (`ContainerArguments`). Elements may be JsonPath expressions,
   * such as `JsonPath.format('--start={}', JsonPath.stringAt('$.window.start'))`.
   *
   * @default - none
   */
  readonly containerArguments?: string[];
  /**
   * Runs the container without network access. SageMaker still moves the inputs and outputs.
   *
   * @default true
   */
  readonly networkIsolation?: boolean;
  /**
   * Runs the job in this VPC; the job role gets the network-interface permissions SageMaker needs.
   *
   * @default - no VPC, unless `vpcSubnets` lists subnets
   */
  readonly vpc?: ec2.IVpc;
  /**
   * The subnets the job runs in: a selection of `vpc`'s, or, without `vpc`, a list of
   * `subnets` (as `ec2.Subnet.fromSubnetId` imports them).
   *
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * The security groups of the job's network interfaces; with `vpcSubnets` but no `vpc`, required.
   *
   * @default - with `vpc`, a new security group that allows all outbound traffic and no inbound
   * (see `connections`); without a VPC, none
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /**
   * Tags on each job, for cost allocation.
   *
   * @default - none
   */
  readonly tags?: Record<string, string>;
}

/**
 * Runs a SageMaker Processing job as a Step Functions task: the piece aws-cdk-lib lacks
 * (aws/aws-cdk#9537).
 *
 * With the default `.sync` integration the state waits for the job and fails with the job's
 * description as the cause when the job fails. Adding it to a state machine grants the state
 * machine's role exactly what that needs: create/describe/stop/tag on jobs named
 * `<jobNamePrefix>*`, `iam:PassRole` on the job role only towards SageMaker, and the
 * EventBridge managed rule that `.sync` uses to learn the job ended.
 *
 * Retries are not added here; see `SageMakerCreateProcessingJob.addDocumentedRetries()`.
 */
export class SageMakerCreateProcessingJob extends sfn.TaskStateBase implements tasks.ISageMakerTask, ec2.IConnectable {
  private static readonly SUPPORTED_PATTERNS = [sfn.IntegrationPattern.REQUEST_RESPONSE, sfn.IntegrationPattern.RUN_JOB];

  /** The role the job runs as. */
  public readonly role: iam.IRole;
  public readonly grantPrincipal: iam.IPrincipal;
  /** The job's network connections in its VPC: allow it to reach a database, for one. Empty without a VPC. */
  public readonly connections: ec2.Connections;

  protected readonly taskMetrics?: sfn.TaskMetricsConfig;
  protected readonly taskPolicies?: iam.PolicyStatement[];

  private readonly integrationPattern: sfn.IntegrationPattern;
  /** The image the jobs run, as SageMaker pulls it. */
  public readonly imageUri: string;
  private readonly securityGroupIds?: string[];
  private readonly subnetIds?: string[];

  constructor(
    scope: Construct,
    id: string,
    private readonly props: SageMakerCreateProcessingJobProps,
  ) {
    super(scope, id, props);
    this.integrationPattern = props.integrationPattern ?? sfn.IntegrationPattern.RUN_JOB;
    if (!SageMakerCreateProcessingJob.SUPPORTED_PATTERNS.includes(this.integrationPattern)) {
      throw scopedError(this, `integrationPattern ${this.integrationPattern} is not supported; use RUN_JOB (.sync) or REQUEST_RESPONSE`);
    }
    this.validate();

    // Only this task's jobs, in this account, may take the role: another job (a person's, with
    // this role passed to it) may not, unless it is named like this task's.
    this.role =
      props.role ??
      new iam.Role(this, 'JobRole', {
        assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com').withConditions({
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': this.jobsArn() },
        }),
        description: `Runs the SageMaker Processing jobs ${props.jobNamePrefix}-*`,
      });
    this.grantPrincipal = this.role;
    const securityGroups =
      props.securityGroups ??
      (props.vpc
        ? [new ec2.SecurityGroup(this, 'JobSecurityGroup', { vpc: props.vpc, description: `The jobs ${props.jobNamePrefix}-*` })]
        : []);
    this.connections = new ec2.Connections({ securityGroups });
    if (props.vpc || props.vpcSubnets) {
      this.subnetIds = props.vpc ? props.vpc.selectSubnets(props.vpcSubnets).subnetIds : props.vpcSubnets!.subnets!.map((x) => x.subnetId);
      this.securityGroupIds = securityGroups.map((sg) => sg.securityGroupId);
    }
    this.grantJobAccess();
    this.imageUri = props.image.bind(this).imageUri;
    this.taskPolicies = this.stateMachinePolicies();
  }

  /**
   * Adds the retries AWS documents for SageMaker tasks: transient service errors (after 1 s,
   * backing off ×1.1), throttling, and account resource limits such as instance quotas (every
   * 60 s for `quotaWait`; the state machine's timeout must leave room for it).
   */
  public addDocumentedRetries(quotaWait: Duration = Duration.hours(6)): this {
    this.addRetry({ errors: ['SageMaker.AmazonSageMakerException'], interval: Duration.seconds(1), maxAttempts: 5, backoffRate: 1.1 });
    this.addRetry({ errors: ['SageMaker.ThrottlingException'], interval: Duration.seconds(2), maxAttempts: 6, backoffRate: 2 });
    this.addRetry({
      errors: ['SageMaker.ResourceLimitExceededException'],
      interval: Duration.minutes(1),
      maxAttempts: Math.max(1, Math.round(quotaWait.toMinutes({ integral: false }))),
      backoffRate: 1,
    });
    return this;
  }

  /** A task whose per-run values are JsonPath references, in a state machine of any query language. */
  public static jsonPath(scope: Construct, id: string, props: SageMakerCreateProcessingJobProps): SageMakerCreateProcessingJob {
    return new SageMakerCreateProcessingJob(scope, id, { ...props, queryLanguage: sfn.QueryLanguage.JSON_PATH });
  }

  /** A task whose per-run values are JSONata expressions (`'{% $states.input.jobName %}'`), in a state machine of any query language. */
  public static jsonata(scope: Construct, id: string, props: SageMakerCreateProcessingJobProps): SageMakerCreateProcessingJob {
    return new SageMakerCreateProcessingJob(scope, id, { ...props, queryLanguage: sfn.QueryLanguage.JSONATA });
  }

  /** @internal */
  protected _renderTask(topLevelQueryLanguage?: sfn.QueryLanguage): Record<string, unknown> {
    const language = this.props.queryLanguage ?? topLevelQueryLanguage ?? sfn.QueryLanguage.JSON_PATH;
    this.checkPerRunValues(language);
    const suffix = this.integrationPattern === sfn.IntegrationPattern.RUN_JOB ? '.sync' : '';
    return {
      Resource: `arn:${Aws.PARTITION}:states:::sagemaker:createProcessingJob${suffix}`,
      ...this._renderParametersOrArguments(this.renderParameters(language), language),
    };
  }

  /** Per-run values written for the other query language would be sent literally: refused, with the way to write them. */
  private checkPerRunValues(language: sfn.QueryLanguage): void {
    const p = this.props;
    const values: Array<[string, string | undefined]> = [
      ['jobName', p.jobName],
      ...(p.processingInputs ?? []).map((i): [string, string | undefined] => [`input '${i.name}' runPrefix`, i.runPrefix]),
      ...(p.processingInputs ?? []).map((i): [string, string | undefined] => [`input '${i.name}' manifest key`, i.manifest?.key]),
      ...(p.processingInputs ?? []).map((i): [string, string | undefined] => [`input '${i.name}' uri`, i.uri]),
      ...(p.processingOutputs ?? []).map((o): [string, string | undefined] => [`output '${o.name}' runPrefix`, o.runPrefix]),
      ...Object.entries(p.environment ?? {}).map(([k, v]): [string, string] => [`environment ${k}`, v]),
      ...(p.containerArguments ?? []).map((a, n): [string, string] => [`containerArguments[${n}]`, a]),
    ];
    for (const [what, value] of values) {
      if (value === undefined) continue;
      if (language === sfn.QueryLanguage.JSONATA && sfn.JsonPath.isEncodedJsonPath(value)) {
        throw scopedError(
          this,
          `${what} is a JsonPath reference, which a JSONata task sends as it is; write a JSONata expression, e.g. '{% $states.input.jobName %}', or use SageMakerCreateProcessingJob.jsonPath()`,
        );
      }
      if (language === sfn.QueryLanguage.JSON_PATH && JSONATA_EXPRESSION.test(value)) {
        throw scopedError(
          this,
          `${what} is a JSONata expression, which a JSONPath task sends as it is; use SageMakerCreateProcessingJob.jsonata(), or a JsonPath reference such as JsonPath.stringAt('$.jobName')`,
        );
      }
    }
  }

  private renderParameters(language: sfn.QueryLanguage): Record<string, unknown> {
    const p = this.props;
    const tags = Object.entries(p.tags ?? {});
    return {
      ProcessingJobName: p.jobName,
      RoleArn: this.role.roleArn,
      AppSpecification: {
        ImageUri: this.imageUri,
        ContainerEntrypoint: p.containerEntrypoint,
        ContainerArguments: language === sfn.QueryLanguage.JSONATA ? p.containerArguments : renderArguments(p.containerArguments),
      },
      ProcessingResources: {
        ClusterConfig: {
          InstanceCount: p.instanceCount ?? PROCESSING_DEFAULTS.instanceCount,
          InstanceType: this.instanceType,
          VolumeSizeInGB: this.volumeSizeGb,
          VolumeKmsKeyId: p.volumeEncryptionKey?.keyArn,
        },
      },
      ProcessingInputs: p.processingInputs?.length
        ? p.processingInputs.map((i) => ({
            InputName: i.name,
            S3Input: {
              S3Uri: i.uri ?? (i.manifest ? objectUri(i.manifest.bucket, i.manifest.key, language) : folderUri(i, language)),
              LocalPath: i.localPath ?? defaultInputPath(i.name),
              S3DataType: i.manifest ? 'ManifestFile' : 'S3Prefix',
              S3InputMode: i.mode ?? S3InputMode.FILE,
              S3DataDistributionType: i.distribution ?? S3DataDistribution.FULLY_REPLICATED,
              S3CompressionType: i.compression ?? S3CompressionType.NONE,
            },
          }))
        : undefined,
      ProcessingOutputConfig: p.processingOutputs?.length
        ? {
            Outputs: p.processingOutputs.map((o) => ({
              OutputName: o.name,
              S3Output: {
                S3Uri: folderUri(o, language),
                LocalPath: o.localPath ?? defaultOutputPath(o.name),
                S3UploadMode: o.uploadMode ?? S3UploadMode.END_OF_JOB,
              },
            })),
            KmsKeyId: p.outputEncryptionKey?.keyArn,
          }
        : undefined,
      StoppingCondition: { MaxRuntimeInSeconds: this.maxRuntime.toSeconds() },
      Environment: p.environment && Object.keys(p.environment).length > 0 ? p.environment : undefined,
      NetworkConfig: {
        EnableNetworkIsolation: p.networkIsolation ?? true,
        // Instances of one job talk to each other (distributed processing): encrypted.
        EnableInterContainerTrafficEncryption: (p.instanceCount ?? PROCESSING_DEFAULTS.instanceCount) > 1 ? true : undefined,
        VpcConfig: this.subnetIds ? { Subnets: this.subnetIds, SecurityGroupIds: this.securityGroupIds } : undefined,
      },
      Tags: tags.length > 0 ? tags.map(([Key, Value]) => ({ Key, Value })) : undefined,
    };
  }

  private validate(): void {
    const p = this.props;
    if (!Token.isUnresolved(p.jobNamePrefix)) check(this, jobNamePrefixProblem(p.jobNamePrefix));
    // A literal name is sent as is (SageMaker then refuses a second job of that name); paths come as tokens.
    // The prefix and a hyphen: policies name `<prefix>-*`, which another prefix that merely starts alike does not match.
    const literalName = !Token.isUnresolved(p.jobName) && !JSONATA_EXPRESSION.test(p.jobName);
    if (literalName && (!JOB_NAME.test(p.jobName) || !p.jobName.startsWith(`${p.jobNamePrefix}-`))) {
      throw scopedError(
        this,
        `jobName must match [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62} and start with jobNamePrefix and a hyphen, '${p.jobNamePrefix}-', got '${p.jobName}'`,
      );
    }
    if (p.instanceType?.toString().startsWith('ml.')) {
      const bare = p.instanceType.toString().slice(3);
      throw scopedError(
        this,
        `instanceType '${p.instanceType.toString()}' has the 'ml.' prefix, which the task adds itself; drop it: new ec2.InstanceType('${bare}')`,
      );
    }
    if (p.instanceType) check(this, instanceTypeProblem(this.instanceType));
    if (p.volumeEncryptionKey && hasInstanceStorage(this.instanceType)) {
      throw scopedError(
        this,
        `volumeEncryptionKey cannot be used with ${this.instanceType}: its storage is local NVMe, encrypted by the instance, and SageMaker refuses a volume key for it; leave volumeEncryptionKey out for this instance type`,
      );
    }
    check(this, instanceCountProblem(p.instanceCount ?? PROCESSING_DEFAULTS.instanceCount));
    check(this, volumeSizeGbProblem(this.volumeSizeGb));
    const seconds = this.maxRuntime.toSeconds();
    check(this, maxRuntimeProblem(seconds, this.maxRuntime.toHumanString()));
    for (const [kind, list] of [
      ['inputs', p.processingInputs ?? []],
      ['outputs', p.processingOutputs ?? []],
    ] as const) {
      if (list.length > PROCESSING_LIMITS.maxChannels) {
        throw scopedError(this, `a job may have at most ${PROCESSING_LIMITS.maxChannels} ${kind} (SageMaker's limit), got ${list.length}`);
      }
    }
    for (const i of p.processingInputs ?? []) {
      check(this, inputKeyProblem(i.keyPrefix));
      if (i.runPrefix !== undefined && !i.keyPrefix.endsWith('/')) {
        throw scopedError(
          this,
          `input '${i.name}' reads one object ('${i.keyPrefix}'), so it cannot have a runPrefix (a sub-folder per run)`,
        );
      }
      check(this, compressionProblem(i.name, i.mode ?? S3InputMode.FILE, i.compression ?? S3CompressionType.NONE));
      if (i.manifest && (i.runPrefix !== undefined || !i.keyPrefix.endsWith('/'))) {
        throw scopedError(
          this,
          `input '${i.name}' reads through a manifest, whose keys are relative to the folder '${i.keyPrefix}': ` +
            "give a folder ending with '/' and no runPrefix (the manifest chooses what the run reads)",
        );
      }
      if (i.manifest) check(this, keyPrefixProblem(i.manifest.keyPrefix));
      if (i.uri !== undefined && (i.manifest || i.runPrefix !== undefined)) {
        throw scopedError(this, `input '${i.name}' has a uri chosen per run, which replaces a runPrefix or a manifest: give one of them`);
      }
    }
    for (const o of p.processingOutputs ?? []) check(this, keyPrefixProblem(o.keyPrefix));
    for (const c of channelPathProblems([
      ...(p.processingInputs ?? []).map((i) => ({ kind: 'input', name: i.name, localPath: i.localPath ?? defaultInputPath(i.name) })),
      ...(p.processingOutputs ?? []).map((o) => ({ kind: 'output', name: o.name, localPath: o.localPath ?? defaultOutputPath(o.name) })),
    ]))
      check(this, c.message);
    for (const [kind, list] of [
      ['input', p.processingInputs ?? []],
      ['output', p.processingOutputs ?? []],
    ] as const) {
      for (const d of duplicateProblems(
        kind,
        list.map((c) => c.name),
      ))
        check(this, d.message);
    }
    const variables = Object.keys(p.environment ?? {}).length;
    if (variables > PROCESSING_LIMITS.maxEnvironmentVariables) {
      throw scopedError(this, `at most ${PROCESSING_LIMITS.maxEnvironmentVariables} environment variables are allowed, got ${variables}`);
    }
    if (!p.vpc && p.vpcSubnets && !p.vpcSubnets.subnets?.length) {
      throw scopedError(this, 'vpcSubnets without vpc must list its subnets (vpcSubnets: { subnets: [...] })');
    }
    if (!p.vpc && p.vpcSubnets && !p.securityGroups?.length) {
      throw scopedError(
        this,
        'securityGroups are required with vpcSubnets but no vpc (with vpc, a security group is made when none is given)',
      );
    }
    if (p.securityGroups?.length === 0)
      throw scopedError(this, 'securityGroups is empty; leave it out for a new security group, or list at least one');
    if (!p.vpc && !p.vpcSubnets && p.securityGroups) throw scopedError(this, 'securityGroups need vpc or vpcSubnets');
  }

  private get volumeSizeGb(): number {
    return (this.props.volumeSize ?? Size.gibibytes(PROCESSING_DEFAULTS.volumeSizeGb)).toGibibytes();
  }

  /** `ml.<type>`, as SageMaker takes it. */
  private get instanceType(): string {
    return processingInstanceType(this.props.instanceType?.toString());
  }

  private get maxRuntime(): Duration {
    return this.props.maxRuntime ?? Duration.seconds(PROCESSING_DEFAULTS.maxRuntimeSeconds);
  }

  /** What the job role needs: its inputs, its outputs, its logs and metrics, and the VPC if any. */
  private grantJobAccess(): void {
    const p = this.props;
    const statements: iam.PolicyStatement[] = [];
    const wildcards: string[] = [];
    const objects = (b: s3.IBucket, prefix: string) => {
      const arn = b.arnForObjects(`${prefix}*`);
      wildcards.push(arn);
      return arn;
    };
    for (const i of p.processingInputs ?? []) {
      for (const bucket of i.fallbackBucket ? [i.bucket, i.fallbackBucket] : [i.bucket]) {
        wildcards.push(bucket.arnForObjects(`${i.keyPrefix}*`));
        statements.push(...readFolder(bucket, i.keyPrefix));
        if (bucket.encryptionKey) statements.push(viaS3(['kms:Decrypt'], bucket.encryptionKey, bucket));
      }
      const m = i.manifest;
      if (m) {
        wildcards.push(m.bucket.arnForObjects(`${m.keyPrefix}*`));
        statements.push(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [m.bucket.arnForObjects(`${m.keyPrefix}*`)] }));
        if (m.bucket.encryptionKey) statements.push(viaS3(['kms:Decrypt'], m.bucket.encryptionKey, m.bucket));
      }
    }
    for (const o of p.processingOutputs ?? []) {
      statements.push(
        new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: [objects(o.bucket, o.keyPrefix)] }),
      );
      const key = p.outputEncryptionKey ?? o.bucket.encryptionKey;
      // Multipart uploads of SSE-KMS objects need Decrypt as well as GenerateDataKey.
      if (key) statements.push(viaS3(['kms:GenerateDataKey', 'kms:Decrypt'], key, o.bucket));
    }
    if (p.volumeEncryptionKey) {
      // SageMaker creates a grant on the key for the job's volumes, with the job role's identity.
      statements.push(
        new iam.PolicyStatement({
          actions: ['kms:CreateGrant'],
          resources: [p.volumeEncryptionKey.keyArn],
          conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
        }),
      );
    }
    const logGroup = `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:/aws/sagemaker/ProcessingJobs`;
    statements.push(new iam.PolicyStatement({ actions: ['logs:CreateLogGroup'], resources: [logGroup] }));
    const streams = `${logGroup}:log-stream:${p.jobNamePrefix}-*`;
    wildcards.push(streams);
    statements.push(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [streams] }));
    statements.push(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/ProcessingJobs' } },
      }),
    );
    wildcards.push('*');
    if (this.subnetIds) {
      statements.push(
        new iam.PolicyStatement({
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:CreateNetworkInterfacePermission',
            'ec2:DeleteNetworkInterface',
            'ec2:DeleteNetworkInterfacePermission',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeVpcs',
            'ec2:DescribeDhcpOptions',
            'ec2:DescribeSubnets',
            'ec2:DescribeSecurityGroups',
          ],
          resources: ['*'],
        }),
      );
    }
    for (const s of statements) this.role.addToPrincipalPolicy(s);
    acknowledgeWildcardResources(
      this.role,
      wildcards,
      'Prefix-scoped: S3 objects below the declared input and output folders only, log streams of ' +
        'this purpose\'s jobs only, and "*" for cloudwatch:PutMetricData (limited by the cloudwatch:namespace ' +
        'condition), ecr:GetAuthorizationToken and, with a VPC, the EC2 network-interface calls, which have no resource-level permissions.',
    );
  }

  private createConditions(): Record<string, unknown> | undefined {
    const conditions: Record<string, unknown> = {};
    if (this.props.networkIsolation ?? true) conditions.Bool = { 'sagemaker:NetworkIsolation': 'true' };
    if (this.subnetIds) {
      conditions['ForAllValues:StringEquals'] = {
        'sagemaker:VpcSubnets': this.subnetIds,
        'sagemaker:VpcSecurityGroupIds': this.securityGroupIds,
      };
      conditions.Null = { 'sagemaker:VpcSubnets': 'false' };
    }
    return Object.keys(conditions).length > 0 ? conditions : undefined;
  }

  /** The ARNs of this task's jobs: `processing-job/<jobNamePrefix>-*`. */
  private jobsArn(): string {
    return Stack.of(this).formatArn({ service: 'sagemaker', resource: 'processing-job', resourceName: `${this.props.jobNamePrefix}-*` });
  }

  /** What the state machine's role needs to run the job. */
  private stateMachinePolicies(): iam.PolicyStatement[] {
    const stack = Stack.of(this);
    const jobs = this.jobsArn();
    const sync = this.integrationPattern === sfn.IntegrationPattern.RUN_JOB;
    // The finding is on the state machine's role policy, which the task cannot see; the id is exact.
    acknowledgeWildcardResources(
      stack,
      [jobs],
      `SageMaker job names are unique per run, so the state machine may only act on jobs starting with this purpose's prefix '${this.props.jobNamePrefix}'.`,
    );
    const statements = [
      // Only jobs as this task makes them, however the definition is changed: isolated (the
      // default), and in its VPC's subnets and security groups when it has one.
      new iam.PolicyStatement({
        actions: ['sagemaker:CreateProcessingJob'],
        resources: [jobs],
        conditions: this.createConditions(),
      }),
      new iam.PolicyStatement({
        actions: sync
          ? ['sagemaker:DescribeProcessingJob', 'sagemaker:StopProcessingJob', 'sagemaker:AddTags', 'sagemaker:ListTags']
          : ['sagemaker:AddTags'],
        resources: [jobs],
      }),
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.role.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      }),
    ];
    if (sync) {
      statements.push(
        new iam.PolicyStatement({
          actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
          resources: [
            stack.formatArn({ service: 'events', resource: 'rule', resourceName: 'StepFunctionsGetEventsForSageMakerProcessingJobsRule' }),
          ],
        }),
      );
    }
    return statements;
  }
}

/** A JSONata expression as Step Functions takes it in a string: `{% ... %}`. */
const JSONATA_EXPRESSION = /^\{%([\s\S]*)%\}$/;

/** `s3://<bucket>/<key>`, where the key is a JsonPath reference or a JSONata expression. */
function objectUri(bucket: s3.IBucket, key: string, language: sfn.QueryLanguage): string {
  if (language === sfn.QueryLanguage.JSONATA) {
    const expression = JSONATA_EXPRESSION.exec(key)?.[1].trim();
    return expression ? `{% '${s3Uri(bucket.bucketName, '')}' & (${expression}) %}` : s3Uri(bucket.bucketName, key);
  }
  return sfn.JsonPath.isEncodedJsonPath(key) ? sfn.JsonPath.format(s3Uri(bucket.bucketName, '{}'), key) : s3Uri(bucket.bucketName, key);
}

/** `s3://<bucket>/<keyPrefix>`, followed by the run's sub-folder if it has one. */
function folderUri(c: { bucket: s3.IBucket; keyPrefix: string; runPrefix?: string }, language: sfn.QueryLanguage): string {
  if (!c.runPrefix) return s3Uri(c.bucket.bucketName, c.keyPrefix);
  if (language === sfn.QueryLanguage.JSONATA) {
    // Bucket names and validated prefixes hold no quote, so the folder is a JSONata string literal.
    const expression = JSONATA_EXPRESSION.exec(c.runPrefix)?.[1].trim();
    return expression
      ? `{% '${s3Uri(c.bucket.bucketName, c.keyPrefix)}' & (${expression}) %}`
      : s3Uri(c.bucket.bucketName, c.keyPrefix + c.runPrefix);
  }
  return sfn.JsonPath.format(s3Uri(c.bucket.bucketName, `${c.keyPrefix}{}`), c.runPrefix);
}

/**
 * `ContainerArguments`: a plain list, or, when an element is resolved per run, a `States.Array`
 * (whose literal elements need their braces escaped, as intrinsic-function strings do).
 */
function renderArguments(args: readonly string[] | undefined): string[] | string | undefined {
  if (args === undefined) return undefined;
  if (!args.some((a) => sfn.JsonPath.isEncodedJsonPath(a))) return [...args];
  return sfn.JsonPath.array(...args.map((a) => (sfn.JsonPath.isEncodedJsonPath(a) ? a : a.replace(/[{}]/g, '\\$&'))));
}
