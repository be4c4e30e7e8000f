import { createHash } from 'node:crypto';
import { Duration, Size, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { MAX_BACKFILL_WINDOWS } from '../runtime/run-contract';
import { backfillStateMachineName, purposeStateMachineName } from '../runtime/resource-names';
import { AthenaRunQuery, type QueryDataLocation } from './athena-run-query';
import { Backfill } from './backfill';
import { KEBAB_NAME, MAX_PURPOSE_NAME_LENGTH, resultsPrefix } from './name-rules';
import { acknowledgeFinding } from './private/acknowledge';
import { firstEventAlarm } from './private/alarms';
import { scopedError } from './private/errors';
import type { IQueryWorkGroup } from './query-workgroup';
import { RunTrigger, type UpstreamPurpose } from './run-trigger';
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
  /**
   * The folder holds `dt=YYYY-MM-DD/` partitions and each run reads only the one of its
   * window's day. Needs runs of one day (`window` and `maxWindow` of one day).
   *
   * @default false - each run reads the whole folder
   */
  readonly partitioned?: boolean;
}

/** A folder of the purpose's bucket whose new objects start runs. */
export interface PurposeS3Arrival {
  /** The name of a `PurposeInput` in the purpose's own bucket: its folder is watched. */
  readonly input: string;
  /**
   * @default - every new object starts a run
   */
  readonly suffix?: string;
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
   * How many runs of a backfill may run at once.
   *
   * @default 2
   */
  readonly backfillConcurrency?: number;
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
 * Functions state machine that runs the job with retries and reports failures, the trigger
 * that starts its runs, a backfill state machine, and alarms.
 *
 * The state machine's input is a run input (lib/runtime/run-contract.ts). It adds `batcat`:
 * the job name (`<jobNamePrefix>-<md5 of the execution id>`, valid for every execution name)
 * and the `dt=<window start>/` partition the outputs are written to.
 */
export class Purpose extends Construct {
  public readonly purposeName: string;
  public readonly stateMachineName: string;
  /** Every job of this purpose is named `<jobNamePrefix>-<32 hex digits>`. */
  public readonly jobNamePrefix: string;
  public readonly stateMachine: sfn.StateMachine;
  public readonly processingJob: SageMakerCreateProcessingJob;
  /** The role the processing job runs as. */
  public readonly jobRole: iam.IRole;
  public readonly logGroup: logs.LogGroup;
  public readonly alarms: PurposeAlarms;
  /** Starts runs: schedule, S3 arrival, upstream success, manual. */
  public readonly trigger: RunTrigger;
  public readonly backfill: Backfill;

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
    const stateMachineName = purposeStateMachineName(props.namePrefix ?? stackName.toLowerCase(), props.purposeName);
    if (stateMachineName.length > 80) {
      throw scopedError(this, `state machine name '${stateMachineName}' is ${stateMachineName.length} characters; at most 80 are allowed, so shorten namePrefix or purposeName`);
    }
    this.stateMachineName = stateMachineName;
    this.jobNamePrefix = jobNamePrefix(props.purposeName, stateMachineName);
    const windowDays = wholeDays(this, 'window', props.window ?? Duration.days(1));
    const maxWindowDays = wholeDays(this, 'maxWindow', props.maxWindow ?? Duration.days(windowDays));
    if (maxWindowDays < windowDays) throw scopedError(this, `maxWindow (${maxWindowDays} days) must be at least window (${windowDays} days)`);
    const inputs = props.inputs ?? [];
    const partitioned = inputs.find((i) => i.partitioned);
    if (partitioned && maxWindowDays !== 1) {
      throw scopedError(this, `input '${partitioned.name}' is partitioned, which needs runs of one day (a job reads one folder per input), but window and maxWindow allow ${maxWindowDays} days`);
    }
    const s3Arrival = (props.s3Arrival ?? []).map((a) => {
      const i = inputs.find((x) => x.name === a.input);
      if (!i || (i.bucket !== undefined && i.bucket !== props.bucket)) {
        throw scopedError(this, `s3Arrival input '${a.input}' must name an input in the purpose's bucket; inputs: ${inputs.map((x) => x.name).join(', ') || 'none'}`);
      }
      return { input: a.input, bucket: props.bucket, prefix: i.keyPrefix, suffix: a.suffix };
    });
    const outputs = props.outputs.map((o) => ({ name: o.name, keyPrefix: o.keyPrefix ?? resultsPrefix(props.purposeName, o.name) }));

    const image = props.image ?? tasks.DockerImage.fromAsset(this, 'Image', { directory: props.containerDirectory!, platform: Platform.LINUX_AMD64 });
    const maxRuntime = props.maxRuntime ?? Duration.hours(1);

    if (inputs.some((i) => i.name === 'query') && props.query) throw scopedError(this, "input name 'query' is taken by the query's result; rename the input");
    const queryParameters = props.query ? props.query.parameters ?? [QueryParameter.WINDOW_START, QueryParameter.WINDOW_END] : [];
    const literal = (p: QueryParameter) => sfn.JsonPath.format("'{}'", sfn.JsonPath.stringAt(p === QueryParameter.WINDOW_START ? '$.window.start' : '$.window.end'));
    const resolveRun = new sfn.Pass(this, 'ResolveRun', {
      comment: 'Derives the job name from the execution id (any 80-character execution name gives a valid, unique job name) and the partition of the window.',
      parameters: {
        jobName: sfn.JsonPath.format(`${this.jobNamePrefix}-{}`, sfn.JsonPath.hash(sfn.JsonPath.executionId, 'MD5')),
        partition: sfn.JsonPath.format('dt={}/', sfn.JsonPath.stringAt('$.window.start')),
        // Athena ExecutionParameters are SQL literals: the dates, quoted.
        ...(queryParameters.length > 0 ? { queryParameters: sfn.JsonPath.array(...queryParameters.map(literal)) } : {}),
      },
      resultPath: '$.batcat',
    });
    const runQuery = props.query && new AthenaRunQuery(this, 'RunQuery', {
      comment: "Runs the purpose's query for the window in the project workgroup; the result file becomes the job's input 'query'.",
      queryString: props.query.queryString,
      executionParametersPath: queryParameters.length > 0 ? '$.batcat.queryParameters' : undefined,
      workGroup: props.query.workGroup,
      database: props.query.database,
      tables: props.query.tables,
      dataLocations: props.query.dataLocations,
      resultSelector: {
        queryExecutionId: sfn.JsonPath.stringAt('$.QueryExecution.QueryExecutionId'),
        resultFile: sfn.JsonPath.format('{}.csv', sfn.JsonPath.stringAt('$.QueryExecution.QueryExecutionId')),
        dataScannedBytes: sfn.JsonPath.numberAt('$.QueryExecution.Statistics.DataScannedInBytes'),
      },
      resultPath: '$.query',
    }).addDocumentedRetries();
    const checkRunInput = new sfn.Choice(this, 'CheckRunInput')
      .when(sfn.Condition.and(
        ...['$.runId', '$.window.start', '$.window.end', '$.trigger.kind'].map((p) => sfn.Condition.and(sfn.Condition.isPresent(p), sfn.Condition.isString(p))),
      ), resolveRun)
      .otherwise(new sfn.Fail(this, 'NotARunInput', {
        error: 'BatCat.InvalidRunInput',
        cause: 'The input is not a BatCat run input (runId, window.start, window.end and trigger.kind are required). '
          + 'Start runs with `batcat run` or through the trigger function; see README.md, "The run contract".',
      }));

    this.processingJob = new SageMakerCreateProcessingJob(this, 'RunProcessingJob', {
      jobName: sfn.JsonPath.stringAt('$.batcat.jobName'),
      jobNamePrefix: this.jobNamePrefix,
      image,
      processingInputs: [
        ...inputs.map((i) => ({
          name: i.name,
          bucket: i.bucket ?? props.bucket,
          keyPrefix: i.keyPrefix,
          runPrefix: i.partitioned ? sfn.JsonPath.stringAt('$.batcat.partition') : undefined,
          distribution: i.distribution,
        })),
        ...(props.query ? [{
          name: 'query',
          bucket: props.query.workGroup.resultsBucket,
          keyPrefix: props.query.workGroup.resultsPrefix,
          runPrefix: sfn.JsonPath.stringAt('$.query.resultFile'),
        }] : []),
      ],
      processingOutputs: outputs.map((o) => ({
        name: o.name,
        bucket: props.bucket,
        keyPrefix: o.keyPrefix,
        runPrefix: sfn.JsonPath.stringAt('$.batcat.partition'),
      })),
      instanceType: props.instanceType,
      instanceCount: props.instanceCount,
      volumeSize: props.volumeSize,
      maxRuntime,
      environment: {
        ...props.environment,
        BATCAT_PURPOSE: props.purposeName,
        BATCAT_RUN_ID: sfn.JsonPath.stringAt('$.runId'),
        BATCAT_WINDOW_START: sfn.JsonPath.stringAt('$.window.start'),
        BATCAT_WINDOW_END: sfn.JsonPath.stringAt('$.window.end'),
        BATCAT_TRIGGER: sfn.JsonPath.stringAt('$.trigger.kind'),
        BATCAT_JOB_NAME: sfn.JsonPath.stringAt('$.batcat.jobName'),
        BATCAT_EXECUTION_ID: sfn.JsonPath.executionId,
        ...(props.query ? { BATCAT_QUERY_EXECUTION_ID: sfn.JsonPath.stringAt('$.query.queryExecutionId') } : {}),
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

    (runQuery ? resolveRun.next(runQuery) : resolveRun).next(this.processingJob).next(new sfn.Succeed(this, 'RunSucceeded'));
    const onFailure = this.failureHandling(props.notificationTopic, stateMachineName);
    runQuery?.addCatch(onFailure, { resultPath: '$.error' });
    this.processingJob.addCatch(onFailure, { resultPath: '$.error' });

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${stateMachineName}`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      comment: `BatCat purpose ${props.purposeName}: runs its SageMaker Processing job and reports failures.`,
      definitionBody: sfn.DefinitionBody.fromChainable(checkRunInput),
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

    const alarm = (id: string, metric: cloudwatch.Metric, what: string) => firstEventAlarm(this, id, {
      alarmName: `${stateMachineName}-${what.replace(/ /g, '-')}`,
      alarmDescription: `BatCat purpose ${props.purposeName}: at least one run ${what} in 5 minutes. See the state machine ${stateMachineName} and README.md "Operations".`,
      metric,
      topic: props.notificationTopic,
    });
    this.alarms = {
      failed: alarm('ExecutionsFailedAlarm', this.metricFailed(), 'failed'),
      timedOut: alarm('ExecutionsTimedOutAlarm', this.metricTimedOut(), 'timed out'),
      aborted: alarm('ExecutionsAbortedAlarm', this.metricAborted(), 'aborted'),
      throttled: alarm('ExecutionThrottledAlarm', this.metricThrottled(), 'was throttled'),
    };

    this.backfill = new Backfill(this, 'Backfill', {
      stateMachine: this.stateMachine,
      stateMachineName,
      backfillStateMachineName: backfillStateMachineName(stateMachineName),
      maxConcurrency: props.backfillConcurrency,
      logRetention: props.logRetention,
    });
    const folder = (bucket: s3.IBucket, keyPrefix: string) => `s3://${bucket.bucketName}/${keyPrefix}`;
    this.trigger = new RunTrigger(this, 'Trigger', {
      stateMachine: this.stateMachine,
      stateMachineName,
      backfillStateMachine: this.backfill.stateMachine,
      notificationTopic: props.notificationTopic,
      schedule: props.schedule,
      s3Arrival,
      upstream: props.after,
      logRetention: props.logRetention,
      runConfig: {
        purpose: props.purposeName,
        bucket: props.bucket.bucketName,
        windowDays,
        maxWindowDays,
        maxBackfillWindows: MAX_BACKFILL_WINDOWS,
        timezone: props.schedule?.timeZone?.timezoneName ?? 'UTC',
        inputs: inputs.map((i) => ({ name: i.name, uri: folder(i.bucket ?? props.bucket, i.keyPrefix), partitioned: i.partitioned === true })),
        outputs: outputs.map((o) => ({ name: o.name, uri: folder(props.bucket, o.keyPrefix) })),
      },
    });
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
   * After a failed query or job: pick the clearest reason (the job's FailureReason or the
   * query's StateChangeReason when the cause is their description, otherwise the error's
   * cause), notify the topic, and fail the execution.
   */
  private failureHandling(topic: sns.ITopic, stateMachineName: string): sfn.IChainable {
    const notify = new tasks.SnsPublish(this, 'NotifyFailure', {
      topic,
      subject: `BatCat run failed: ${stateMachineName}`,
      message: sfn.TaskInput.fromObject({
        purpose: this.purposeName,
        stateMachine: stateMachineName,
        execution: sfn.JsonPath.executionId,
        runId: sfn.JsonPath.stringAt('$.runId'),
        window: sfn.JsonPath.objectAt('$.window'),
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
    const useQueryReason = failure('UseQueryFailureReason', sfn.JsonPath.stringAt('$.failedJob.description.QueryExecution.Status.StateChangeReason'));
    const parse = new sfn.Pass(this, 'ParseJobDescription', {
      parameters: { description: sfn.JsonPath.stringToJson(sfn.JsonPath.stringAt('$.error.Cause')) },
      resultPath: '$.failedJob',
    }).next(new sfn.Choice(this, 'HasFailureReason')
      .when(sfn.Condition.isPresent('$.failedJob.description.FailureReason'), useJobReason)
      .when(sfn.Condition.isPresent('$.failedJob.description.QueryExecution.Status.StateChangeReason'), useQueryReason)
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

/** A duration as a whole number of days, or an error naming `what`. */
function wholeDays(scope: Construct, what: string, d: Duration): number {
  const days = d.toHours() / 24;
  if (!Number.isInteger(days) || days < 1 || days > 366) throw scopedError(scope, `${what} must be a whole number of days from 1 to 366, got ${d.toHumanString()}`);
  return days;
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
