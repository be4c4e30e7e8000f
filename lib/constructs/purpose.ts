import { createHash } from 'node:crypto';
import { Duration, Size, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { KEBAB_NAME, MAX_PURPOSE_NAME_LENGTH } from './name-rules';
import { acknowledgeFinding } from './private/acknowledge';
import { scopedError } from './private/errors';
import { S3DataDistribution, SageMakerCreateProcessingJob } from './sagemaker-create-processing-job';

/** A folder a purpose reads. */
export interface PurposeInput {
  /** Copied to `/opt/ml/processing/input/<name>`. */
  readonly name: string;
  /** The folder, ending with '/'. */
  readonly keyPrefix: string;
  /**
   * @default - the purpose's `bucket`
   */
  readonly bucket?: s3.IBucket;
  /**
   * @default S3DataDistribution.FULLY_REPLICATED
   */
  readonly distribution?: S3DataDistribution;
}

/** A folder a purpose writes, in its `bucket`, partitioned by run date (`<keyPrefix>dt=YYYY-MM-DD/`). */
export interface PurposeOutput {
  /** Uploaded from `/opt/ml/processing/output/<name>`. */
  readonly name: string;
  /**
   * @default `results/<purposeName>/<name>/`
   */
  readonly keyPrefix?: string;
}

/** Properties of a Purpose. */
export interface PurposeProps {
  /** The purpose's name: 1-30 lowercase letters, digits and inner hyphens. */
  readonly purposeName: string;
  /** The bucket the outputs are written to, and inputs are read from unless they name another. */
  readonly bucket: s3.IBucket;
  /** Failure notifications and alarms go here. */
  readonly notificationTopic: sns.ITopic;
  /**
   * A folder with a Dockerfile, built into an image asset at deploy time. Give this or `image`.
   *
   * @default - `image` is used
   */
  readonly containerDirectory?: string;
  /**
   * An existing image. Give this or `containerDirectory`.
   *
   * @default - built from `containerDirectory`
   */
  readonly image?: tasks.DockerImage;
  /**
   * @default - no inputs
   */
  readonly inputs?: PurposeInput[];
  /** At least one output. */
  readonly outputs: PurposeOutput[];
  /**
   * @default ml.m5.large
   */
  readonly instanceType?: ec2.InstanceType;
  /**
   * @default 1
   */
  readonly instanceCount?: number;
  /**
   * @default 30 GiB
   */
  readonly volumeSize?: Size;
  /**
   * The job is stopped after this long; the execution times out one hour later.
   *
   * @default Duration.hours(1)
   */
  readonly maxRuntime?: Duration;
  /**
   * Environment variables for the script. Names starting with `BATCAT_` are reserved.
   *
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * @default true
   */
  readonly networkIsolation?: boolean;
  /**
   * @default - no VPC
   */
  readonly vpc?: ec2.IVpc;
  /**
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * @default - none; required with `vpc`
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /**
   * Starts the names of the state machine, its log group and its alarms: `<namePrefix>-<purposeName>`.
   *
   * @default - the stack name, lowercased
   */
  readonly namePrefix?: string;
  /**
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

/** The alarms of a purpose, each notifying the topic. */
export interface PurposeAlarms {
  readonly failed: cloudwatch.Alarm;
  readonly timedOut: cloudwatch.Alarm;
  readonly aborted: cloudwatch.Alarm;
  readonly throttled: cloudwatch.Alarm;
}

/**
 * One processing job of a project: its image, a job role scoped to its folders, a Step
 * Functions state machine that runs the job with retries and reports failures, and alarms.
 *
 * The state machine takes any JSON object as input and adds `batcat` to it: the job name
 * (`<jobNamePrefix>-<md5 of the execution id>`, valid for every execution name) and the run
 * date (the execution's start date) that partitions the outputs.
 */
export class Purpose extends Construct {
  public readonly purposeName: string;
  /** Every job of this purpose is named `<jobNamePrefix>-<32 hex digits>`. */
  public readonly jobNamePrefix: string;
  public readonly stateMachine: sfn.StateMachine;
  public readonly processingJob: SageMakerCreateProcessingJob;
  /** The role the processing job runs as. */
  public readonly jobRole: iam.IRole;
  public readonly logGroup: logs.LogGroup;
  public readonly alarms: PurposeAlarms;

  constructor(scope: Construct, id: string, props: PurposeProps) {
    super(scope, id);
    if (!KEBAB_NAME.test(props.purposeName) || props.purposeName.length > MAX_PURPOSE_NAME_LENGTH) {
      throw scopedError(this, `purposeName must be 1-${MAX_PURPOSE_NAME_LENGTH} lowercase letters, digits and inner hyphens, got '${props.purposeName}'`);
    }
    if ((props.containerDirectory === undefined) === (props.image === undefined)) {
      throw scopedError(this, `purpose '${props.purposeName}' needs exactly one of containerDirectory or image`);
    }
    if (props.outputs.length === 0) {
      throw scopedError(this, `purpose '${props.purposeName}' needs at least one output`);
    }
    const reserved = Object.keys(props.environment ?? {}).find((k) => k.startsWith('BATCAT_'));
    if (reserved) throw scopedError(this, `environment variable '${reserved}' uses the reserved prefix BATCAT_`);

    this.purposeName = props.purposeName;
    const stackName = Stack.of(this).stackName;
    if (props.namePrefix === undefined && Token.isUnresolved(stackName)) {
      throw scopedError(this, 'namePrefix is required when the stack name is not known at synth time (nested stacks)');
    }
    const stateMachineName = `${props.namePrefix ?? stackName.toLowerCase()}-${props.purposeName}`;
    if (stateMachineName.length > 80) {
      throw scopedError(this, `state machine name '${stateMachineName}' is ${stateMachineName.length} characters; at most 80 are allowed, so shorten namePrefix or purposeName`);
    }
    this.jobNamePrefix = jobNamePrefix(props.purposeName, stateMachineName);

    const image = props.image ?? tasks.DockerImage.fromAsset(this, 'Image', { directory: props.containerDirectory!, platform: Platform.LINUX_AMD64 });
    const maxRuntime = props.maxRuntime ?? Duration.hours(1);

    const runDate = sfn.JsonPath.arrayGetItem(sfn.JsonPath.stringSplit(sfn.JsonPath.stringAt('$$.Execution.StartTime'), 'T'), 0);
    const resolveRun = new sfn.Pass(this, 'ResolveRun', {
      comment: 'Derives the job name from the execution id (any 80-character execution name gives a valid, unique job name) and the run date.',
      parameters: {
        jobName: sfn.JsonPath.format(`${this.jobNamePrefix}-{}`, sfn.JsonPath.hash(sfn.JsonPath.executionId, 'MD5')),
        date: runDate,
        partition: sfn.JsonPath.format('dt={}/', runDate),
      },
      resultPath: '$.batcat',
    });

    this.processingJob = new SageMakerCreateProcessingJob(this, 'RunProcessingJob', {
      jobName: sfn.JsonPath.stringAt('$.batcat.jobName'),
      jobNamePrefix: this.jobNamePrefix,
      image,
      processingInputs: (props.inputs ?? []).map((i) => ({
        name: i.name,
        bucket: i.bucket ?? props.bucket,
        keyPrefix: i.keyPrefix,
        distribution: i.distribution,
      })),
      processingOutputs: props.outputs.map((o) => ({
        name: o.name,
        bucket: props.bucket,
        keyPrefix: o.keyPrefix ?? `results/${props.purposeName}/${o.name}/`,
        runPrefix: sfn.JsonPath.stringAt('$.batcat.partition'),
      })),
      instanceType: props.instanceType,
      instanceCount: props.instanceCount,
      volumeSize: props.volumeSize,
      maxRuntime,
      environment: {
        ...props.environment,
        BATCAT_PURPOSE: props.purposeName,
        BATCAT_RUN_DATE: sfn.JsonPath.stringAt('$.batcat.date'),
        BATCAT_JOB_NAME: sfn.JsonPath.stringAt('$.batcat.jobName'),
        BATCAT_EXECUTION_ID: sfn.JsonPath.executionId,
      },
      networkIsolation: props.networkIsolation,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
      tags: { 'batcat:purpose': props.purposeName, 'batcat:state-machine': stateMachineName },
      resultSelector: {
        arn: sfn.JsonPath.stringAt('$.ProcessingJobArn'),
        status: sfn.JsonPath.stringAt('$.ProcessingJobStatus'),
      },
      resultPath: '$.job',
    }).addDocumentedRetries();
    this.jobRole = this.processingJob.role;

    this.processingJob.addCatch(this.failureHandling(props.notificationTopic, stateMachineName), { resultPath: '$.error' });

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${stateMachineName}`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      comment: `BatCat purpose ${props.purposeName}: runs its SageMaker Processing job and reports failures.`,
      definitionBody: sfn.DefinitionBody.fromChainable(resolveRun.next(this.processingJob).next(new sfn.Succeed(this, 'RunSucceeded'))),
      timeout: maxRuntime.plus(Duration.hours(1)),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    if (props.notificationTopic.masterKey) {
      this.stateMachine.addToRolePolicy(new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [props.notificationTopic.masterKey.keyArn],
      }));
    }
    acknowledgeStateMachineRole(this.stateMachine);

    const alarm = (id: string, metric: cloudwatch.Metric, what: string) => {
      const a = new cloudwatch.Alarm(this, id, {
        alarmName: `${stateMachineName}-${what.replace(/ /g, '-')}`,
        alarmDescription: `BatCat purpose ${props.purposeName}: at least one run ${what} in 5 minutes. See the state machine ${stateMachineName} and README.md "Operations".`,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(new actions.SnsAction(props.notificationTopic));
      return a;
    };
    this.alarms = {
      failed: alarm('ExecutionsFailedAlarm', this.metricFailed(), 'failed'),
      timedOut: alarm('ExecutionsTimedOutAlarm', this.metricTimedOut(), 'timed out'),
      aborted: alarm('ExecutionsAbortedAlarm', this.metricAborted(), 'aborted'),
      throttled: alarm('ExecutionThrottledAlarm', this.metricThrottled(), 'was throttled'),
    };
  }

  /** Runs started, per 5 minutes. */
  public metricStarted(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricStarted({ period: Duration.minutes(5), statistic: 'Sum', ...props });
  }

  /** Runs that succeeded, per 5 minutes. */
  public metricSucceeded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricSucceeded({ period: Duration.minutes(5), statistic: 'Sum', ...props });
  }

  /** Runs that failed, per 5 minutes. */
  public metricFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum', ...props });
  }

  /** Runs that timed out, per 5 minutes. */
  public metricTimedOut(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum', ...props });
  }

  /** Runs that were aborted, per 5 minutes. */
  public metricAborted(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricAborted({ period: Duration.minutes(5), statistic: 'Sum', ...props });
  }

  /** Executions throttled by Step Functions, per 5 minutes. */
  public metricThrottled(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricThrottled({ period: Duration.minutes(5), statistic: 'Sum', ...props });
  }

  /** Run duration (average over 5 minutes). */
  public metricDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricTime({ period: Duration.minutes(5), statistic: 'Average', ...props });
  }

  /** Lets `grantee` start runs of this purpose. */
  public grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /**
   * After a failed job: pick the clearest reason (the job's FailureReason when the cause is a
   * job description, otherwise the error's cause), notify the topic, and fail the execution.
   */
  private failureHandling(topic: sns.ITopic, stateMachineName: string): sfn.IChainable {
    const notify = new tasks.SnsPublish(this, 'NotifyFailure', {
      topic,
      subject: `BatCat run failed: ${stateMachineName}`,
      message: sfn.TaskInput.fromObject({
        purpose: this.purposeName,
        stateMachine: stateMachineName,
        execution: sfn.JsonPath.executionId,
        jobName: sfn.JsonPath.stringAt('$.batcat.jobName'),
        error: sfn.JsonPath.stringAt('$.failure.error'),
        reason: sfn.JsonPath.stringAt('$.failure.reason'),
      }),
      resultPath: sfn.JsonPath.DISCARD,
    });
    notify.next(new sfn.Fail(this, 'RunFailed', { errorPath: '$.failure.error', causePath: '$.failure.reason' }));

    // Each way of finding the reason ends in the same `$.failure` shape that NotifyFailure reads.
    const failure = (id: string, reason: string) => new sfn.Pass(this, id, {
      parameters: { error: sfn.JsonPath.stringAt('$.error.Error'), reason },
      resultPath: '$.failure',
    }).next(notify);
    const useCause = failure('UseErrorCause', sfn.JsonPath.stringAt('$.error.Cause'));
    const useJobReason = failure('UseJobFailureReason', sfn.JsonPath.stringAt('$.failedJob.description.FailureReason'));
    const parse = new sfn.Pass(this, 'ParseJobDescription', {
      parameters: { description: sfn.JsonPath.stringToJson(sfn.JsonPath.stringAt('$.error.Cause')) },
      resultPath: '$.failedJob',
    }).next(new sfn.Choice(this, 'HasFailureReason')
      .when(sfn.Condition.isPresent('$.failedJob.description.FailureReason'), useJobReason)
      .otherwise(useCause));

    return new sfn.Choice(this, 'DescribeFailure')
      .when(sfn.Condition.and(
        sfn.Condition.isPresent('$.error.Cause'),
        sfn.Condition.isString('$.error.Cause'),
        sfn.Condition.stringMatches('$.error.Cause', '{*}'),
      ), parse)
      .when(sfn.Condition.isPresent('$.error.Cause'), useCause)
      .otherwise(failure('UseErrorOnly', 'no cause was reported'));
  }
}

/** `<purpose, at most 23 characters>-<6 hex digits of the state machine name>`: at most 30 characters, unique per state machine. */
export function jobNamePrefix(purposeName: string, stateMachineName: string): string {
  const hash = createHash('sha256').update(stateMachineName).digest('hex').slice(0, 6);
  return `${purposeName.slice(0, 23).replace(/-+$/, '')}-${hash}`;
}

function acknowledgeStateMachineRole(stateMachine: sfn.StateMachine): void {
  acknowledgeFinding(stateMachine.role, 'AwsSolutions-IAM5[Resource::*]',
    'Step Functions needs X-Ray (xray:PutTraceSegments, PutTelemetryRecords, GetSampling*) and vended log delivery '
    + '(logs:CreateLogDelivery and related calls), none of which support resource-level permissions.');
}
