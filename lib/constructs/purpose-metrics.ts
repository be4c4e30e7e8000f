import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/** What PurposeMetrics needs to address a purpose's metrics: names or tokens. */
export interface PurposeMetricsProps {
  /** The ARN of the purpose's state machine. */
  readonly stateMachineArn: string;
  /** The name of the purpose's trigger function. */
  readonly triggerFunctionName: string;
  /** The name of the trigger's dead-letter queue. */
  readonly deadLetterQueueName: string;
  /** The state machine's name (the dimension of the BatCat metrics). */
  readonly stateMachineName: string;
}

/** The metric a run counts its broken `onViolation: warn` rules in. */
export const RULE_WARNINGS_METRIC = { namespace: 'BatCat', name: 'RuleWarnings' } as const;

/** The Step Functions execution counts a purpose's runs are measured by. */
export enum RunOutcome {
  /** Runs started. */
  STARTED = 'ExecutionsStarted',
  /** Runs that succeeded. */
  SUCCEEDED = 'ExecutionsSucceeded',
  /** Runs that failed. */
  FAILED = 'ExecutionsFailed',
  /** Runs that timed out. */
  TIMED_OUT = 'ExecutionsTimedOut',
  /** Runs that were aborted. */
  ABORTED = 'ExecutionsAborted',
  /** Executions Step Functions throttled. */
  THROTTLED = 'ExecutionThrottled',
}

/**
 * The metrics of one purpose, made in one place for its alarms and the project dashboard (the
 * cdk-monitoring-constructs pattern: metric factories apart from alarms). Each metric defaults
 * to 5-minute periods; pass `period`, `statistic` or `label` to change that.
 *
 * Built from names, it never references the purpose's resources, so a dashboard in the parent
 * stack can show a purpose that lives in a nested stack.
 */
export class PurposeMetrics {
  constructor(private readonly props: PurposeMetricsProps) {}

  /** Runs that ended (or started) the way `outcome` says, summed per period. */
  public metricRuns(outcome: RunOutcome, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.states(outcome, 'Sum', options);
  }

  /** Run duration in milliseconds (average unless `statistic` says otherwise). */
  public metricDuration(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.states('ExecutionTime', 'Average', options);
  }

  /** Failed invocations of the trigger function: rejected events or failed starts. */
  public metricTriggerErrors(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return metric('AWS/Lambda', 'Errors', { FunctionName: this.props.triggerFunctionName }, 'Sum', options);
  }

  /** Events waiting in the trigger's dead-letter queue (the most in the period). */
  public metricDeadLetters(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return metric('AWS/SQS', 'ApproximateNumberOfMessagesVisible', { QueueName: this.props.deadLetterQueueName }, 'Maximum', options);
  }

  /** Broken data rules with `onViolation: warn`, summed per period. */
  public metricRuleWarnings(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return metric(RULE_WARNINGS_METRIC.namespace, RULE_WARNINGS_METRIC.name, { StateMachine: this.props.stateMachineName }, 'Sum', options);
  }

  private states(metricName: string, statistic: string, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return metric('AWS/States', metricName, { StateMachineArn: this.props.stateMachineArn }, statistic, options);
  }
}

function metric(
  namespace: string,
  metricName: string,
  dimensionsMap: Record<string, string>,
  statistic: string,
  options?: cloudwatch.MetricOptions,
): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace, metricName, dimensionsMap, statistic, period: Duration.minutes(5), ...options });
}
