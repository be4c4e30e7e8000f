import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { RUN_CONFIG_ENV } from '../../lib/contract/environment';
import { RunRequestError, type PurposeRunConfig } from '../../lib/contract/run-input';
import { checkFreshness, isFreshnessCheck, type FreshnessResult } from '../../lib/runtime/freshness';
import { startRuns, type TriggerResult } from '../../lib/runtime/trigger';

/*
 * The trigger of one purpose: every schedule tick, S3 arrival, upstream success and manual
 * request arrives here, is checked against the run ledger, and leaves as the attempts that are
 * due (and runs of this purpose that ended without their failure path are recorded there). The
 * hourly freshness check arrives here too. The logic is in lib/runtime/trigger.ts and freshness.ts. A rejected or failed event is thrown, so an asynchronous one ends in
 * the dead-letter queue after Lambda's retries.
 */

const config: PurposeRunConfig = JSON.parse(process.env[RUN_CONFIG_ENV] ?? 'null');
const sfn = new SFNClient({});
const ddb = new DynamoDBClient({});
const cloudwatch = new CloudWatchClient({});
const sns = new SNSClient({});
const events = new EventBridgeClient({});

export async function handler(event: unknown): Promise<TriggerResult | FreshnessResult> {
  try {
    if (isFreshnessCheck(event, config)) {
      const checked = await checkFreshness(config, { ddb, cloudwatch, sns, now: new Date() });
      console.info({ message: checked.late ? 'purpose is late' : 'purpose is fresh', purpose: config.purpose, ...checked });
      return checked;
    }
    const result = await startRuns(event, config, { sfn, ddb, events });
    console.info({ message: summary(result), ...result });
    return result;
  } catch (e) {
    const rejected = e instanceof RunRequestError;
    console.error({
      message: rejected ? 'request rejected; nothing started' : 'could not start the run',
      purpose: config?.purpose,
      reason: (e as Error).message,
      errorName: (e as Error).name,
      event,
    });
    throw e;
  }
}

function summary(result: TriggerResult): string {
  if (result.trigger === 'run-ended') return result.recorded ? 'ended run recorded as failed in the ledger' : 'ended run already recorded';
  const started = result.windows.filter((w) => w.action === 'started').length;
  return started > 0 ? `${started} run(s) started` : 'nothing due; nothing started';
}
