import { Arn, ArnFormat, Aws, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { RUN_CONFIG_ENV } from '../contract/environment';
import { FRESHNESS_METRIC } from '../contract/ledger';
import { MAX_STATE_MACHINE_NAME_LENGTH, triggerDeadLetterQueueName, triggerFunctionName } from '../contract/names';
import { cronDaylightSavingProblem, cronProblem, schedulePeriodProblem } from '../contract/rules';
import { S3_SETTLE_DEFAULTS, type PurposeRunConfig } from '../contract/run-input';
import { REPRODUCTION_SUFFIX } from '../contract/run-manifest';
import { RUN_EVENT_SOURCE, RUN_EVENT_TYPES } from '../contract/run-events';
import { acknowledgeFinding, acknowledgeWildcardResources } from './private/acknowledge';
import type { RunLedger } from './run-ledger';
import { firstEventAlarm } from './private/alarms';
import { check } from './private/errors';
import { generatedName } from './private/generated-name';
import { functionRole, handlerFunction } from './private/handler-function';
import { purposeLogGroup } from './private/log-group';
import { topicKeyAccess } from './private/purpose-definition';

/** A folder whose new objects start runs. */
export interface S3Arrival {
  /** The input the folder is read as. */
  readonly input: string;
  /** The bucket of the folder; it must send events to EventBridge. */
  readonly bucket: s3.IBucket;
  /** The folder, ending with '/'. */
  readonly prefix: string;
  /**
   * Only keys ending with this start runs, e.g. `.csv`.
   *
   * @default - every new object
   */
  readonly suffix?: string;
  /**
   * How long a run waits after the newest object of its window before it reads (see PurposeS3Arrival).
   *
   * @default - 0: starts at once
   */
  readonly settleSeconds?: number;
  /**
   * The longest a run waits for its window to settle.
   *
   * @default 3600
   */
  readonly maxSettleSeconds?: number;
}

/** The props, with the name that names the trigger's resources decided. */
type NamedProps = RunTriggerProps & { readonly stateMachineName: string };

/** Properties of a RunTrigger. */
export interface RunTriggerProps {
  /** The purpose's state machine. Its name also names the trigger's function, queue and alarms. */
  readonly stateMachine: sfn.IStateMachine;
  /**
   * The physical name of `stateMachine`: the trigger's function, queue and alarms are named
   * after it (`<stateMachineName>-trigger`, ...).
   *
   * @default - names generated from the stack name and this construct's path
   */
  readonly stateMachineName?: string;
  /**
   * The state machine that runs backfills of this purpose.
   *
   * @default - none: a request for a range of windows is refused, and catch-up starts each window on its own
   */
  readonly backfillStateMachine?: sfn.IStateMachine;
  /**
   * Whether trigger errors and dead letters alarm on the topic.
   *
   * @default true
   */
  readonly alarms?: boolean;
  /** The run ledger the trigger reads, and records runs in that ended without their failure path. */
  readonly ledger: RunLedger;
  /**
   * What the trigger function needs to resolve runs, besides what the other props give; it
   * may contain tokens.
   */
  readonly runConfig: RunSettings;
  /** Trigger errors and dead letters alarm here, and the freshness check notifies it. */
  readonly notificationTopic: sns.ITopic;
  /**
   * Starts a run for the window that just ended at each tick.
   *
   * @default - no schedule
   */
  readonly schedule?: scheduler.ScheduleExpression;
  /**
   * New objects in these folders start runs. The bucket must send events to EventBridge.
   *
   * @default - none
   */
  readonly s3Arrival?: S3Arrival[];
  /**
   * Each successful run of this purpose starts a run for the same window.
   *
   * @default - none
   */
  readonly upstream?: UpstreamPurpose;
  /**
   * How late the purpose may be: an hourly check publishes the age of its newest successful
   * window (hours since that window ended) as `BatCat/NewestSuccessAgeHours`, an alarm fires when
   * it passes one window plus this allowance (or when no age is published: never succeeded, or the
   * check stopped), and the check notifies the topic once, naming that window.
   *
   * @default - no freshness check
   */
  readonly freshness?: Duration;
  /**
   * How long the trigger function's logs are kept.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Encrypts the trigger function's logs.
   *
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
}

/** Another purpose a purpose runs after. A Purpose is one; across stacks, import its state machine by name. */
export interface UpstreamPurpose {
  /** The upstream purpose's name, as its runs' inputs carry it. */
  readonly purposeName: string;
  /** The upstream purpose's state machine, whose successful executions start runs. */
  readonly stateMachine: sfn.IStateMachine;
  /**
   * The run ledger the upstream purpose records its windows in, read to tell when every day of a
   * window has an upstream success.
   *
   * @default - the ledger of the purpose that runs after it (the same stage)
   */
  readonly ledger?: RunLedger;
}

/** The part of the trigger's configuration that RunTrigger does not derive from its other props. */
export type RunSettings = Omit<PurposeRunConfig, 'stateMachineArn' | 'backfillStateMachineArn' | 's3Arrival' | 'upstream' | 'ledgerTable'>;

/** How EventBridge delivers to the function: failed deliveries end in the dead-letter queue. */
type Delivery = { readonly deadLetterQueue: sqs.IQueue; readonly retryAttempts: number; readonly maxEventAge: Duration };

/** The alarms of a trigger. */
export interface RunTriggerAlarms {
  /**
   * The function failed: a rejected event or a failed start.
   *
   * @default - none, with `alarms: false`
   */
  readonly errors?: cloudwatch.Alarm;
  /**
   * Events the trigger could not handle wait in the dead-letter queue.
   *
   * @default - none, with `alarms: false`
   */
  readonly deadLetters?: cloudwatch.Alarm;
  /**
   * The newest successful window is older than one window plus the `freshness` allowance.
   *
   * @default - none, without `freshness`
   */
  readonly stale?: cloudwatch.Alarm;
}

/**
 * The one way runs of a purpose start: a small function that turns a schedule tick, an S3
 * arrival, an upstream success or a manual request into a run input with a deterministic
 * execution name (see lib/runtime/trigger.ts), with the schedule and rules that feed it, a
 * dead-letter queue for events it could not handle, and alarms.
 */
export class RunTrigger extends Construct {
  public readonly function: NodejsFunction;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly schedule?: scheduler.Schedule;
  public readonly alarms: RunTriggerAlarms;

  constructor(scope: Construct, id: string, given: RunTriggerProps) {
    super(scope, id);
    const props: NamedProps = { ...given, stateMachineName: given.stateMachineName ?? generatedName(this, MAX_STATE_MACHINE_NAME_LENGTH) };
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      queueName: triggerDeadLetterQueueName(props.stateMachineName),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    for (const rule of ['AwsSolutions-SQS3', 'cdk-validator-cfnguard::sqs_dlq_check']) {
      acknowledgeFinding(
        this.deadLetterQueue,
        rule,
        'This queue is itself the dead-letter queue of the trigger function, its schedule and its rules.',
      );
    }

    this.function = this.createFunction(props);
    const delivery: Delivery = { deadLetterQueue: this.deadLetterQueue, retryAttempts: 3, maxEventAge: Duration.hours(6) };
    if (props.schedule) this.schedule = this.createSchedule(props, props.schedule, delivery);
    this.addEventRules(props, delivery);
    this.alarms = props.alarms === false ? {} : this.createAlarms(props);
    if (props.freshness) this.alarms = { ...this.alarms, stale: this.checkFreshness(props, props.freshness, delivery) };
  }

  /** The function, with its own log group and a role that may start this purpose's runs and backfills only. */
  private createFunction(props: NamedProps): NodejsFunction {
    const functionName = triggerFunctionName(props.stateMachineName);
    const { purpose, ...settings } = props.runConfig;
    const runConfig: PurposeRunConfig = {
      purpose,
      stateMachineArn: props.stateMachine.stateMachineArn,
      backfillStateMachineArn: props.backfillStateMachine?.stateMachineArn,
      ...settings,
      s3Arrival: (props.s3Arrival ?? []).map(({ input, prefix, suffix, bucket, settleSeconds, maxSettleSeconds }) => ({
        input,
        prefix,
        suffix,
        ...(settleSeconds ? { settleSeconds, maxSettleSeconds: maxSettleSeconds ?? S3_SETTLE_DEFAULTS.maxSettleSeconds } : {}),
        // Named only when it is not the purpose's bucket, so a config reads as before where nothing changed.
        bucket: bucket.bucketName === settings.bucket ? undefined : bucket.bucketName,
      })),
      upstream: props.upstream
        ? {
            purpose: props.upstream.purposeName,
            stateMachineArn: props.upstream.stateMachine.stateMachineArn,
            ledgerTable: (props.upstream.ledger ?? props.ledger).table.tableName,
          }
        : undefined,
      ledgerTable: props.ledger.table.tableName,
      freshness: props.freshness
        ? {
            hours: props.freshness.toHours({ integral: false }),
            topicArn: props.notificationTopic.topicArn,
            stateMachineName: props.stateMachineName,
          }
        : undefined,
    };
    const retention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    const logGroup = purposeLogGroup(this, 'Logs', { retention, encryptionKey: props.logEncryptionKey }, `/aws/lambda/${functionName}`);
    const role = functionRole(
      this,
      `Trigger of ${props.stateMachineName}: reads its run ledger, starts its runs and backfills only`,
      logGroup,
    );

    const fn = handlerFunction(this, 'Function', 'trigger', {
      functionName,
      description: `BatCat trigger of ${props.stateMachineName}: schedule, S3 arrival, upstream and manual runs`,
      memorySize: 256,
      timeout: Duration.seconds(30),
      role,
      environment: { [RUN_CONFIG_ENV]: Stack.of(this).toJsonString(runConfig) },
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 2,
    });
    props.stateMachine.grantStartExecution(fn);
    props.backfillStateMachine?.grantStartExecution(fn);
    // To tell a run that still holds its window from one that ended without recording it.
    props.stateMachine.grantExecution(fn, 'states:DescribeExecution');
    // The Run Failed event of a run that timed out or was stopped: on the default bus only.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [Stack.of(this).formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
      }),
    );
    acknowledgeWildcardResources(
      role,
      [
        Stack.of(this).formatArn({
          service: 'states',
          resource: 'execution',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          resourceName: `${Arn.split(props.stateMachine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName}:*`,
        }),
      ],
      "DescribeExecution on this purpose's own executions, whose names are known only at run time.",
    );
    props.ledger.grantTrigger(fn);
    if (props.upstream?.ledger && props.upstream.ledger !== props.ledger) props.upstream.ledger.grantRead(fn);
    acknowledgeFinding(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, and the freshness check cloudwatch:PutMetricData ' +
        '(limited to the BatCat namespace by a condition); none has resource-level permissions.',
    );
    return fn;
  }

  /** An EventBridge Scheduler schedule that invokes the function at each tick. */
  private createSchedule(props: NamedProps, schedule: scheduler.ScheduleExpression, delivery: Delivery): scheduler.Schedule {
    const cron = /^cron\((.*)\)$/.exec(schedule.expressionString);
    if (cron) check(this, cronProblem(cron[1]));
    if (cron && schedule.timeZone) check(this, cronDaylightSavingProblem(cron[1], schedule.timeZone.timezoneName));
    check(this, schedulePeriodProblem(schedule.expressionString, props.runConfig.windowDays));
    const scheduleRole = this.scheduleRole(props);
    return new scheduler.Schedule(this, 'Schedule', {
      schedule,
      description: `Starts a run of ${props.stateMachineName} for the window that just ended`,
      target: new schedulerTargets.LambdaInvoke(this.function, {
        ...delivery,
        role: scheduleRole,
        input: scheduler.ScheduleTargetInput.fromObject({
          trigger: 'schedule',
          purpose: props.runConfig.purpose,
          scheduledTime: scheduler.ContextAttribute.scheduledTime,
        }),
      }),
    });
  }

  /** The role the schedules invoke the function with (one for the run schedule and the freshness check). */
  private scheduleRole(props: NamedProps): iam.IRole {
    const existing = this.node.tryFindChild('ScheduleRole') as iam.Role | undefined;
    if (existing) return existing;
    const role = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: `Lets the schedules of ${props.stateMachineName} invoke its trigger`,
    });
    acknowledgeWildcardResources(
      role,
      [`${this.function.functionArn}:*`],
      "lambda:InvokeFunction on the trigger function's own versions and aliases, as granted by grantInvoke.",
    );
    return role;
  }

  /**
   * The hourly freshness check: the function publishes the newest success's age, may notify the
   * topic, and an alarm watches the age (missing data counts as late).
   */
  private checkFreshness(props: NamedProps, freshness: Duration, delivery: Delivery): cloudwatch.Alarm {
    new scheduler.Schedule(this, 'FreshnessCheck', {
      schedule: scheduler.ScheduleExpression.rate(Duration.hours(1)),
      description: `Checks every hour how old the newest successful window of ${props.stateMachineName} is`,
      target: new schedulerTargets.LambdaInvoke(this.function, {
        ...delivery,
        role: this.scheduleRole(props),
        input: scheduler.ScheduleTargetInput.fromObject({ trigger: 'freshness', purpose: props.runConfig.purpose }),
      }),
    });
    const role = this.function.role!;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': FRESHNESS_METRIC.namespace } },
      }),
    );
    // Publish and the topic key's two actions, not grantPublish's kms:GenerateDataKey* wildcard.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [props.notificationTopic.topicArn] }));
    const keyAccess = topicKeyAccess(props.notificationTopic);
    if (keyAccess) role.addToPrincipalPolicy(keyAccess);
    const lateAfter = props.runConfig.windowDays * 24 + freshness.toHours({ integral: false });
    const alarm = new cloudwatch.Alarm(this, 'StaleAlarm', {
      alarmName: `${props.stateMachineName}-stale`,
      alarmDescription:
        `BatCat purpose ${props.runConfig.purpose}: its newest successful window ended more than ${lateAfter} hours ago ` +
        `(one ${props.runConfig.windowDays}-day window plus freshness ${freshness.toHumanString()}), or it never succeeded, or the hourly check stopped. ` +
        'The check\'s notification names the newest successful window; see README.md "Operations".',
      metric: new cloudwatch.Metric({
        namespace: FRESHNESS_METRIC.namespace,
        metricName: FRESHNESS_METRIC.name,
        dimensionsMap: { [FRESHNESS_METRIC.dimension]: props.stateMachineName },
        statistic: 'Maximum',
        period: Duration.hours(1),
      }),
      threshold: lateAfter,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    alarm.addAlarmAction(new actions.SnsAction(props.notificationTopic));
    return alarm;
  }

  /** The EventBridge rules of S3 arrival, upstream success and this purpose's own ended runs. */
  private addEventRules(props: NamedProps, delivery: Delivery): void {
    (props.s3Arrival ?? []).forEach((a, i) => {
      new events.Rule(this, `S3Arrival${i}`, {
        description: `New objects under ${a.prefix}${a.suffix ? ` ending ${a.suffix}` : ''} start runs of ${props.stateMachineName}`,
        eventPattern: {
          source: ['aws.s3'],
          detailType: ['Object Created'],
          detail: {
            bucket: { name: [a.bucket.bucketName] },
            object: {
              key: a.suffix
                ? events.Match.wildcard(`${escapeWildcard(a.prefix)}*${escapeWildcard(a.suffix)}`)
                : events.Match.prefix(a.prefix),
            },
          },
        },
        targets: [new targets.LambdaFunction(this.function, delivery)],
      });
    });

    // With S3 arrival, a run's success too: objects that arrived after it began to read start one follow-up.
    const arrivals = (props.s3Arrival ?? []).length > 0;
    new events.Rule(this, 'RunEnded', {
      description: `${arrivals ? 'Ended' : 'Failed, timed-out and stopped'} runs of ${props.stateMachineName}: failures recorded in the run ledger${arrivals ? ', follow-ups of late objects started' : ''} by the trigger`,
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        // A reproduction claims no window, so its end has nothing to record.
        detail: {
          status: [...(arrivals ? ['SUCCEEDED'] : []), 'FAILED', 'TIMED_OUT', 'ABORTED'],
          stateMachineArn: [props.stateMachine.stateMachineArn],
          name: events.Match.anythingButSuffix(REPRODUCTION_SUFFIX),
        },
      },
      targets: [new targets.LambdaFunction(this.function, delivery)],
    });

    if (props.upstream) {
      new events.Rule(this, 'AfterUpstream', {
        description: `Successful runs of the upstream purpose start runs of ${props.stateMachineName}`,
        // The upstream's completion event (a reproduction puts none: it changes no result).
        eventPattern: {
          source: [RUN_EVENT_SOURCE],
          detailType: [RUN_EVENT_TYPES.succeeded],
          detail: { stateMachineArn: [props.upstream.stateMachine.stateMachineArn] },
        },
        targets: [new targets.LambdaFunction(this.function, delivery)],
      });
    }
  }

  private createAlarms(props: NamedProps): RunTriggerAlarms {
    const alarm = (alarmId: string, what: string, metric: cloudwatch.IMetric, description: string) =>
      firstEventAlarm(this, alarmId, {
        alarmName: `${props.stateMachineName}-${what}`,
        alarmDescription: `BatCat trigger of ${props.stateMachineName}: ${description} See README.md "Operations".`,
        metric,
        topic: props.notificationTopic,
      });
    return {
      errors: alarm(
        'ErrorsAlarm',
        'trigger-errors',
        this.metricErrors(),
        'the function rejected an event or could not start a run; its log says why.',
      ),
      deadLetters: alarm(
        'DeadLettersAlarm',
        'trigger-dead-letters',
        this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        `events that started nothing wait in the queue ${triggerDeadLetterQueueName(props.stateMachineName)}.`,
      ),
    };
  }

  /** Failed invocations of the trigger function, per 5 minutes. */
  public metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum', ...props });
  }
}

function escapeWildcard(s: string): string {
  return s.replace(/[\\*]/g, (c) => `\\${c}`);
}
