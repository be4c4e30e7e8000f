import { Duration, Stack, Token, type Size } from 'aws-cdk-lib';
import * as emrserverless from 'aws-cdk-lib/aws-emrserverless';
import { Construct } from 'constructs';
import { scopedError } from './private/errors';

/** An EMR Serverless application that runs Spark jobs. */
export interface ISparkApplication {
  /** Its ID, as StartJobRun takes it. */
  readonly applicationId: string;
  /** `arn:<partition>:emr-serverless:<region>:<account>:/applications/<id>`. */
  readonly applicationArn: string;
}

/** What an application may use at most, across its running jobs. */
export interface SparkCapacity {
  /** vCPUs. */
  readonly cpu: number;
  /** Memory, in whole gibibytes. */
  readonly memory: Size;
  /**
   * Disk, in whole gibibytes.
   * @default - no limit of its own
   */
  readonly disk?: Size;
}

/** Properties of SparkApplication. */
export interface SparkApplicationProps {
  /**
   * The EMR release, which fixes the Spark version, e.g. `emr-7.5.0` (Spark 3.5.2).
   * See https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/release-versions.html
   */
  readonly releaseLabel: string;
  /**
   * The application's name, unique in the account and region.
   * @default - a name CloudFormation generates
   */
  readonly applicationName?: string;
  /**
   * The most the application may use across all its jobs at once: what bounds its cost.
   * @default - 64 vCPU and 256 GB
   */
  readonly maximumCapacity?: SparkCapacity;
  /**
   * How long the application stays started without a job; it starts again with the next job.
   * @default Duration.minutes(15)
   */
  readonly idleTimeout?: Duration;
  /**
   * The processors its workers run on.
   * @default 'ARM64' (Graviton: about 20 % cheaper per vCPU-hour than x86_64)
   */
  readonly architecture?: 'ARM64' | 'X86_64';
}

/** What an application may use by default: the scale of one large job, and a bound on a runaway one. */
export const SPARK_APPLICATION_DEFAULTS = { cpu: 64, memoryGb: 256, idleTimeoutMinutes: 15 } as const;

/** An EMR release label, `emr-<major>.<minor>.<patch>`. */
const RELEASE_LABEL = /^emr-\d+\.\d+\.\d+(-[a-z0-9]+)?$/;

/**
 * An EMR Serverless application for Spark jobs: started by the first job that needs it and
 * stopped after `idleTimeout` without one, so it costs nothing between runs; its maximum
 * capacity bounds what all its jobs together may use. Runs reach it through
 * `EmrServerlessStartJobRun`.
 */
export class SparkApplication extends Construct implements ISparkApplication {
  /** An application created elsewhere, by its ID. */
  public static fromApplicationId(scope: Construct, applicationId: string): ISparkApplication {
    if (!Token.isUnresolved(applicationId) && !/^[0-9a-z]{1,64}$/.test(applicationId)) {
      throw scopedError(scope, `'${applicationId}' is not an EMR Serverless application ID ([0-9a-z], at most 64 characters)`);
    }
    return { applicationId, applicationArn: applicationArn(scope, applicationId) };
  }

  public readonly applicationId: string;
  public readonly applicationArn: string;
  /** The release its jobs run on. */
  public readonly releaseLabel: string;

  constructor(scope: Construct, id: string, props: SparkApplicationProps) {
    super(scope, id);
    if (!RELEASE_LABEL.test(props.releaseLabel)) {
      throw scopedError(
        this,
        `releaseLabel '${props.releaseLabel}' is not an EMR release label; write it like 'emr-7.5.0' (the releases: ` +
          'https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/release-versions.html)',
      );
    }
    const capacity = props.maximumCapacity;
    const cpu = capacity?.cpu ?? SPARK_APPLICATION_DEFAULTS.cpu;
    const memoryGb = capacity ? capacity.memory.toGibibytes() : SPARK_APPLICATION_DEFAULTS.memoryGb;
    if (!Number.isInteger(cpu) || cpu < 1)
      throw scopedError(this, `maximumCapacity.cpu must be a whole number of vCPUs, at least 1, got ${cpu}`);
    if (memoryGb < 1) throw scopedError(this, `maximumCapacity.memory must be at least 1 GB, got ${memoryGb} GB`);
    const idle = (props.idleTimeout ?? Duration.minutes(SPARK_APPLICATION_DEFAULTS.idleTimeoutMinutes)).toMinutes();
    // EMR Serverless takes 1 minute to 7 days.
    if (idle < 1 || idle > 10080) throw scopedError(this, `idleTimeout must be from 1 minute to 7 days, got ${idle} minutes`);
    const application = new emrserverless.CfnApplication(this, 'Resource', {
      name: props.applicationName,
      releaseLabel: props.releaseLabel,
      type: 'Spark',
      architecture: props.architecture ?? 'ARM64',
      autoStartConfiguration: { enabled: true },
      autoStopConfiguration: { enabled: true, idleTimeoutMinutes: idle },
      maximumCapacity: {
        cpu: `${cpu} vCPU`,
        memory: `${memoryGb} GB`,
        ...(capacity?.disk ? { disk: `${capacity.disk.toGibibytes()} GB` } : {}),
      },
    });
    this.applicationId = application.attrApplicationId;
    this.applicationArn = application.attrArn;
    this.releaseLabel = props.releaseLabel;
  }
}

function applicationArn(scope: Construct, applicationId: string): string {
  return Stack.of(scope).formatArn({ service: 'emr-serverless', resource: '/applications', resourceName: applicationId });
}
