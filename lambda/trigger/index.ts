import { SFNClient } from '@aws-sdk/client-sfn';
import { RUN_CONFIG_ENV } from '../../lib/contract/environment';
import { RunRequestError, type PurposeRunConfig } from '../../lib/contract/run-input';
import { startRuns, type TriggerResult } from '../../lib/runtime/trigger';

/*
 * The trigger of one purpose: every schedule tick, S3 arrival, upstream success and manual
 * request arrives here and leaves as one execution with a deterministic name. The logic is in
 * lib/runtime/trigger.ts. A rejected or failed event is thrown, so an asynchronous one ends in
 * the dead-letter queue after Lambda's retries.
 */

const config: PurposeRunConfig = JSON.parse(process.env[RUN_CONFIG_ENV] ?? 'null');
const sfn = new SFNClient({});

export async function handler(event: unknown): Promise<TriggerResult> {
  try {
    const result = await startRuns(event, config, { sfn });
    console.info({ message: result.started.status === 'started' ? 'run started' : 'run already started; nothing new started', ...result });
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
