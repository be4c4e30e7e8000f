/*
 * The local Step Functions interpreter (aws-local-stepfunctions, vendored in ./vendor/ by
 * scripts/vendor-interpreter.ts: its package asks for Node.js 22), as run-local and the tests
 * use it. These fixes are applied when it is loaded:
 * - Node 20 lacks Promise.withResolvers, which version 3 uses;
 * - version 3.0.0 computes MD5 wrongly for inputs of 56 bytes or more (its padding of
 *   multi-block messages is off), so States.Hash($$.Execution.Id, 'MD5') gave equal job names
 *   for different long execution ids. Its MD5 is replaced with node:crypto's;
 * - it sets the execution's StartTime to the moment it starts, over the one the context gives,
 *   so a test could not run the same execution twice (job names hash the id and start time).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../contract/package-root';

const promise = Promise as unknown as { withResolvers?: unknown };
if (!promise.withResolvers) {
  promise.withResolvers = function withResolvers<T>() {
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

type Interpreter = typeof import('./vendor/aws-local-stepfunctions');

function loadInterpreter(): Interpreter {
  // Next to this file in lib/ and in dist/ (the build copies vendor/); bundled (the tests' CLI), from the source tree.
  const file = [__dirname, path.join(packageRoot(), 'lib', 'local')]
    .map((dir) => path.join(dir, 'vendor', 'aws-local-stepfunctions.cjs'))
    .find((f) => fs.existsSync(f))!;
  const copy = { exports: {} as Interpreter & { __MD5: { prototype: { getDigest(input: string): string } } } };
  // Compiled in the caller's realm (jest's, in tests), so errors thrown by task handlers stay `instanceof Error` for the interpreter.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  new Function(
    'module',
    'exports',
    'require',
    '__filename',
    '__dirname',
    `${withGivenStartTime(fs.readFileSync(file, 'utf8'))}\nmodule.exports.__MD5 = MD5;\n`,
  )(copy, copy.exports, require, file, path.dirname(file));
  copy.exports.__MD5.prototype.getDigest = (input: string) => createHash('md5').update(input, 'utf8').digest('hex');
  return copy.exports;
}

/** The interpreter's source, keeping the context's Execution.StartTime when one is given. */
function withGivenStartTime(source: string): string {
  const own = 'StartTime: (/* @__PURE__ */ new Date()).toISOString()';
  if (!source.includes(own))
    throw new Error(`the vendored aws-local-stepfunctions changed: '${own}' is not in its source; update lib/local/interpreter.ts`);
  return source.replace(own, 'StartTime: options.runOptions?.context?.Execution?.StartTime ?? new Date().toISOString()');
}

export const { StateMachine, ExecutionError } = loadInterpreter();

/** A Step Functions context object for an execution of `stateMachineName` named `name` (every state entered at its start). */
export function executionContext(
  stateMachineName: string,
  name: string,
  startTime = new Date().toISOString(),
  region = 'eu-west-1',
  account = '123456789012',
) {
  const stateMachineId = `arn:aws:states:${region}:${account}:stateMachine:${stateMachineName}`;
  return {
    Execution: {
      Id: `arn:aws:states:${region}:${account}:execution:${stateMachineName}:${name}`,
      Name: name,
      StartTime: startTime,
      RoleArn: `arn:aws:iam::${account}:role/sm`,
      Input: {},
      // A redrive (which the interpreter does not do) would count up; tests that re-run a failed state set it.
      RedriveCount: 0,
    },
    StateMachine: { Id: stateMachineId, Name: stateMachineName },
    // The interpreter keeps no per-state context; the run ledger's end records read this time.
    State: { EnteredTime: startTime, Name: '', RetryCount: 0 },
  };
}

/** An error as a Step Functions task reports it: `Error` is the name, `Cause` the message. */
export function taskError(error: string, cause: string): Error {
  const e = new Error(cause);
  e.name = error;
  return e;
}

/** `fn` as a Lambda task reports it: a thrown error's name is the `Error`, and `Cause` the JSON Lambda sends for it. */
export function asLambda<T, R>(fn: (request: T) => R | Promise<R>): (request: T) => Promise<R> {
  return async (request) => {
    try {
      return await fn(request);
    } catch (e) {
      const err = e as Error;
      throw taskError(err.name, JSON.stringify({ errorType: err.name, errorMessage: err.message }));
    }
  };
}
