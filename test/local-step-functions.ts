import { executionContext as context } from '../lib/local/interpreter';

export { ExecutionError, StateMachine, taskError } from '../lib/local/interpreter';

/** A Step Functions context object for an execution of `stateMachineName` named `name`, started at a fixed time. */
export function executionContext(stateMachineName: string, name: string, startTime = '2026-11-23T01:02:03.456Z') {
  return context(stateMachineName, name, startTime);
}
