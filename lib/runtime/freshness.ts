import { PutMetricDataCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { addDays, startOfDay } from '../contract/dates';
import { FRESHNESS_METRIC } from '../contract/ledger';
import { RunRequestError, type PurposeRunConfig } from '../contract/run-input';
import { newestSuccess } from './ledger';

/*
 * The freshness check (the anchors: Airflow's SLA misses, Dagster's freshness policies): every
 * hour the trigger publishes how old the purpose's newest successful window is, which an alarm
 * watches, and notifies once, naming that window, when the age passes the allowed lateness.
 */

/** The input of the hourly freshness schedule. */
export interface FreshnessCheck {
  readonly trigger: 'freshness';
  readonly purpose: string;
}

/** True for the freshness schedule's input, for this purpose; a check for another purpose is refused. */
export function isFreshnessCheck(event: unknown, config: PurposeRunConfig): event is FreshnessCheck {
  const e = event as Partial<FreshnessCheck> | null;
  if (typeof e !== 'object' || e === null || e.trigger !== 'freshness') return false;
  if (e.purpose !== config.purpose)
    throw new RunRequestError(`freshness check for ${JSON.stringify(e.purpose)}; this trigger checks '${config.purpose}' only`);
  if (!config.freshness)
    throw new RunRequestError(`'${config.purpose}' has no freshness allowance; set freshness on the purpose to check it`);
  return true;
}

export interface FreshnessDeps {
  readonly ddb: DynamoDBClient;
  readonly cloudwatch: CloudWatchClient;
  readonly sns: SNSClient;
  readonly now: Date;
}

/** What one check found. */
export interface FreshnessResult {
  /** The newest window that succeeded, or undefined if none ever did. */
  readonly newestSuccess?: { readonly start: string; readonly end: string };
  /** Hours from the end of that window (midnight after its last day, in the purpose's time zone) to now. */
  readonly ageHours?: number;
  /** The age above which the purpose is late: one window plus the allowed lateness. */
  readonly lateAfterHours: number;
  readonly late: boolean;
  /** True if this check sent the notification (the first check after the age passed the limit). */
  readonly notified: boolean;
}

export async function checkFreshness(config: PurposeRunConfig, deps: FreshnessDeps): Promise<FreshnessResult> {
  const f = config.freshness!;
  const lateAfterHours = config.windowDays * 24 + f.hours;
  const entry = await newestSuccess(deps.ddb, config.ledgerTable, config.purpose);
  const newest = entry && { start: entry.window, end: entry.windowEnd ?? addDays(entry.window, config.windowDays - 1) };
  if (!newest) {
    // No metric: the alarm treats missing data as late, so a purpose that never succeeded is late too.
    return { lateAfterHours, late: true, notified: false };
  }
  // The window ended when the day after its last day began, in its time zone.
  const ended = startOfDay(addDays(newest.end, 1), config.timezone);
  const ageHours = Math.round(((deps.now.getTime() - ended.getTime()) / 3_600_000) * 100) / 100;
  await deps.cloudwatch.send(
    new PutMetricDataCommand({
      Namespace: FRESHNESS_METRIC.namespace,
      MetricData: [
        {
          MetricName: FRESHNESS_METRIC.name,
          Dimensions: [{ Name: FRESHNESS_METRIC.dimension, Value: f.stateMachineName }],
          Value: ageHours,
          Unit: 'None',
          Timestamp: deps.now,
        },
      ],
    }),
  );
  const late = ageHours > lateAfterHours;
  // Checks run hourly, so exactly one of them sees the age within its first hour past the limit: it notifies, the others do not.
  const notified = late && ageHours - lateAfterHours <= 1;
  if (notified) {
    await deps.sns.send(
      new PublishCommand({
        TopicArn: f.topicArn,
        Subject: `BatCat purpose late: ${f.stateMachineName}`,
        Message: JSON.stringify({
          purpose: config.purpose,
          stateMachine: f.stateMachineName,
          newestSuccessfulWindow: newest,
          ageHours,
          lateAfterHours,
          reason:
            `no window of '${config.purpose}' after ${newest.start}..${newest.end} has succeeded, and that one ended ${ageHours} hours ago ` +
            `(allowed: one ${config.windowDays}-day window plus ${f.hours} hours). See batcat runs and the run ledger for what ran since.`,
        }),
      }),
    );
  }
  return { newestSuccess: newest, ageHours, lateAfterHours, late, notified };
}
