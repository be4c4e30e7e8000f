import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { triggerDeadLetterQueueName, triggerFunctionName } from '../contract/names';
import { PurposeMetrics, RunOutcome } from './purpose-metrics';

/** Properties of a ProjectDashboard. */
export interface ProjectDashboardProps {
  /**
   * The dashboard's name.
   *
   * @default - one CloudFormation generates
   */
  readonly dashboardName?: string;
  /** The state machine name of each purpose, by purpose name, in display order. */
  readonly purposes: ReadonlyArray<{ readonly purposeName: string; readonly stateMachineName: string }>;
  /**
   * The time range the dashboard opens with.
   *
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
      const metrics = new PurposeMetrics({
        stateMachineArn: stack.formatArn({
          service: 'states',
          resource: 'stateMachine',
          resourceName: p.stateMachineName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
        triggerFunctionName: triggerFunctionName(p.stateMachineName),
        deadLetterQueueName: triggerDeadLetterQueueName(p.stateMachineName),
        stateMachineName: p.stateMachineName,
      });
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: `${p.purposeName}: runs`,
          width: 8,
          left: [
            metrics.metricRuns(RunOutcome.STARTED, { label: 'started', period }),
            metrics.metricRuns(RunOutcome.SUCCEEDED, { label: 'succeeded', period }),
            metrics.metricRuns(RunOutcome.FAILED, { label: 'failed', period }),
            metrics.metricRuns(RunOutcome.TIMED_OUT, { label: 'timed out', period }),
          ],
        }),
        new cloudwatch.GraphWidget({
          title: `${p.purposeName}: duration (ms)`,
          width: 8,
          left: [
            metrics.metricDuration({ label: 'average', period }),
            metrics.metricDuration({ label: 'longest', period, statistic: 'Maximum' }),
          ],
        }),
        new cloudwatch.GraphWidget({
          title: `${p.purposeName}: trigger`,
          width: 8,
          left: [metrics.metricTriggerErrors({ label: 'errors', period })],
          right: [metrics.metricDeadLetters({ label: 'dead letters', period })],
        }),
      );
    }
  }
}
