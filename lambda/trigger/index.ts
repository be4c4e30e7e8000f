import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { RUN_CONFIG_ENV } from '../../lib/contract/environment';
import { RunRequestError, type PurposeRunConfig } from '../../lib/contract/run-input';
import { startRuns, type TriggerResult } from '../../lib/runtime/trigger';

/*
 * The trigger of one purpose: every schedule tick, S3 arrival, upstream success and manual
 * request arrives here, is checked against the run ledger, and leaves as the attempts that are
 * due (and runs of this purpose that ended without their failure path are recorded there). The
 * logic is in lib/runtime/trigger.ts. A rejected or failed event is thrown, so an asynchronous one ends in
 * the dead-letter queue after Lambda's retries.
 */

const config: PurposeRunConfig = JSON.parse(process.env[RUN_CONFIG_ENV] ?? 'null');
const sfn = new SFNClient({});
const ddb = new DynamoDBClient({});

export async function handler(event: unknown): Promise<TriggerResult> {
  try {
    const result = await startRuns(event, config, { sfn, ddb });
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
