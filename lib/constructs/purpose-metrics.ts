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

  /** Runs started. */
  public metricStarted(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.states('ExecutionsStarted', 'Sum', options);
  }

  /** Runs that succeeded. */
  public metricSucceeded(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.states('ExecutionsSucceeded', 'Sum', options);
  }

  /** Runs that failed. */
  public metricFailed(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.states('ExecutionsFailed', 'Sum', options);
  }

  /** Runs that timed out. */
  public metricTimedOut(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.states('ExecutionsTimedOut', 'Sum', options);
  }

  /** Runs that were aborted. */
  public metricAborted(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.states('ExecutionsAborted', 'Sum', options);
  }

  /** Executions Step Functions throttled. */
  public metricThrottled(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.states('ExecutionThrottled', 'Sum', options);
  }

  /** Run duration in milliseconds (average unless `statistic` says otherwise). */
  public metricDuration(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.states('ExecutionTime', 'Average', options);
  }

  /** Failed invocations of the trigger function: rejected events or failed starts. */
  public metricTriggerErrors(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/Lambda',
      metricName: 'Errors',
      dimensionsMap: { FunctionName: this.props.triggerFunctionName },
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...options,
    });
  }

  /** Events waiting in the trigger's dead-letter queue (the most in the period). */
  public metricDeadLetters(options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/SQS',
      metricName: 'ApproximateNumberOfMessagesVisible',
      dimensionsMap: { QueueName: this.props.deadLetterQueueName },
      statistic: 'Maximum',
      period: Duration.minutes(5),
      ...options,
    });
  }

  private states(metricName: string, statistic: string, options?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/States',
      metricName,
      dimensionsMap: { StateMachineArn: this.props.stateMachineArn },
      statistic,
      period: Duration.minutes(5),
      ...options,
    });
  }
}
