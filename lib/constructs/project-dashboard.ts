import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { triggerDeadLetterQueueName, triggerFunctionName } from '../runtime/resource-names';

/** Properties of a ProjectDashboard. */
export interface ProjectDashboardProps {
  readonly dashboardName: string;
  /** The state machine name of each purpose, by purpose name, in display order. */
  readonly purposes: ReadonlyArray<{ readonly purposeName: string; readonly stateMachineName: string }>;
  /**
   * @default Duration.days(14)
   */
  readonly defaultInterval?: Duration;
}

/**
 * One CloudWatch dashboard for a project: a row per purpose with its runs (started,
 * succeeded, failed, timed out), their duration, and its trigger's errors and dead letters.
 *
 * Metrics are addressed by the physical names the purposes give their resources, so the
 * dashboard never references a purpose's nested stack.
 */
export class ProjectDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ProjectDashboardProps) {
    super(scope, id);
    this.dashboard = new cloudwatch.Dashboard(this, 'Resource', {
      dashboardName: props.dashboardName,
      defaultInterval: props.defaultInterval ?? Duration.days(14),
    });
    const stack = Stack.of(this);
    const period = Duration.hours(1);
    for (const p of props.purposes) {
      const stateMachineArn = stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: p.stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
      const states = (metricName: string, label: string, statistic = 'Sum') => new cloudwatch.Metric({
        namespace: 'AWS/States', metricName, label, statistic, period, dimensionsMap: { StateMachineArn: stateMachineArn },
      });
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: `${p.purposeName}: runs`,
          width: 8,
          left: [
            states('ExecutionsStarted', 'started'),
            states('ExecutionsSucceeded', 'succeeded'),
            states('ExecutionsFailed', 'failed'),
            states('ExecutionsTimedOut', 'timed out'),
          ],
        }),
        new cloudwatch.GraphWidget({
          title: `${p.purposeName}: duration (ms)`,
          width: 8,
          left: [states('ExecutionTime', 'average', 'Average'), states('ExecutionTime', 'longest', 'Maximum')],
        }),
        new cloudwatch.GraphWidget({
          title: `${p.purposeName}: trigger`,
          width: 8,
          left: [new cloudwatch.Metric({
            namespace: 'AWS/Lambda', metricName: 'Errors', label: 'errors', statistic: 'Sum', period,
            dimensionsMap: { FunctionName: triggerFunctionName(p.stateMachineName) },
          })],
          right: [new cloudwatch.Metric({
            namespace: 'AWS/SQS', metricName: 'ApproximateNumberOfMessagesVisible', label: 'dead letters', statistic: 'Maximum', period,
            dimensionsMap: { QueueName: triggerDeadLetterQueueName(p.stateMachineName) },
          })],
        }),
      );
    }
  }
}
