import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

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

/*
 * aws-local-stepfunctions 3.0.0 computes MD5 wrongly for inputs of 56 bytes or more (its
 * padding of multi-block messages is off), so States.Hash($$.Execution.Id, 'MD5') gave equal
 * job names for different long execution ids. We load our own copy of the interpreter and give
 * its MD5 node's implementation; everything else is the interpreter as published.
 */
function loadInterpreter(): typeof import('aws-local-stepfunctions') {
  const file = require.resolve('aws-local-stepfunctions');
  const copy = { exports: {} as any };
  // Compiled in this realm (jest's), so errors thrown by task handlers stay `instanceof Error` for the interpreter.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  new Function('module', 'exports', 'require', '__filename', '__dirname', `${fs.readFileSync(file, 'utf8')}\nmodule.exports.__MD5 = MD5;\n`)(
    copy, copy.exports, require, file, path.dirname(file));
  copy.exports.__MD5.prototype.getDigest = (input: string) => createHash('md5').update(input, 'utf8').digest('hex');
  return copy.exports;
}

export const { StateMachine, ExecutionError } = loadInterpreter();

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
