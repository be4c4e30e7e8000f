import { awaitRedrive, type AwaitRedriveRequest, type AwaitRedriveResult } from '../../lib/runtime/redrive';

/*
 * AwaitRedrive, the last state of a failed run (lib/runtime/redrive.ts): fails with the run's
 * own error, and lets a redriven execution go on to the step that failed.
 */

export function handler(event: AwaitRedriveRequest): Promise<AwaitRedriveResult> {
  const result = awaitRedrive(event);
  console.info({ message: 'redriven: resuming the run at the step that failed', ...result });
  return Promise.resolve(result);
}
