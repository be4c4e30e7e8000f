import { executionContext as context } from '../lib/local/interpreter';

import { asLambda } from '../lib/local/interpreter';
import { awaitRedrive } from '../lib/runtime/redrive';

export { asLambda, ExecutionError, StateMachine, taskError } from '../lib/local/interpreter';

/** The handler of AwaitRedrive, the state a failed run ends in: the real gate, as Lambda reports its error. */
export const awaitRedriveHandler = asLambda(awaitRedrive) as (input: any) => Promise<any>;

/** A Step Functions context object for an execution of `stateMachineName` named `name`, started at a fixed time. */
export function executionContext(stateMachineName: string, name: string, startTime = '2026-11-23T01:02:03.456Z') {
  return context(stateMachineName, name, startTime);
}
