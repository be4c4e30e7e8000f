// aws-local-stepfunctions 3 uses Promise.withResolvers, which Node 20 lacks.
if (!(Promise as any).withResolvers) {
  (Promise as any).withResolvers = function withResolvers<T>() {
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export const { StateMachine, ExecutionError } = require('aws-local-stepfunctions') as typeof import('aws-local-stepfunctions');

/** A Step Functions context object for an execution of `stateMachineName` named `name`. */
export function executionContext(stateMachineName: string, name: string, startTime = '2026-11-23T01:02:03.456Z') {
  const stateMachineId = `arn:aws:states:eu-west-1:123456789012:stateMachine:${stateMachineName}`;
  return {
    Execution: { Id: `arn:aws:states:eu-west-1:123456789012:execution:${stateMachineName}:${name}`, Name: name, StartTime: startTime, RoleArn: 'arn:aws:iam::123456789012:role/sm', Input: {} },
    StateMachine: { Id: stateMachineId, Name: stateMachineName },
  };
}

/** An error as a Step Functions task reports it: `Error` is the name, `Cause` the message. */
export function taskError(error: string, cause: string): Error {
  const e = new Error(cause);
  e.name = error;
  return e;
}
