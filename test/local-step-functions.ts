import { asLambda, executionContext as context, StateMachine } from '../lib/local/interpreter';
import { awaitRedrive } from '../lib/runtime/redrive';

export { asLambda, ExecutionError, StateMachine, taskError } from '../lib/local/interpreter';

/** The handler of AwaitRedrive, the state a failed run ends in: the real gate, as Lambda reports its error. */
export const awaitRedriveHandler = asLambda(awaitRedrive) as (input: any) => Promise<any>;

/** A Step Functions context object for an execution of `stateMachineName` named `name`, started at a fixed time. */
export function executionContext(stateMachineName: string, name: string, startTime = '2026-11-23T01:02:03.456Z') {
  return context(stateMachineName, name, startTime);
}

/** Where an execution ended, and the input of every state it entered, in order. */
export interface LocalExecution {
  readonly output?: any;
  /** The error the execution failed with: `name` is its Error, `message` its Cause. */
  readonly error?: Error;
  readonly entered: ReadonlyArray<{ readonly state: string; readonly input: any }>;
}

/**
 * Runs `definition` in the local interpreter. With `redrive`, it does what RedriveExecution does,
 * which the interpreter cannot: it runs the failed state again with the input it had, in the
 * same execution (name and start time), with the context's RedriveCount counted up.
 */
export async function runLocally(
  definition: any,
  options: {
    readonly stateMachineName: string;
    readonly executionName: string;
    readonly input: any;
    readonly handlers: Record<string, (input: any) => any>;
    readonly redrive?: { readonly failed: LocalExecution; readonly count: number };
    readonly retryIntervalOverrides?: Record<string, number>;
    readonly waitTimeOverrides?: Record<string, number>;
  },
): Promise<LocalExecution> {
  let start = definition.StartAt;
  let input = options.input;
  if (options.redrive) {
    const last = options.redrive.failed.entered.at(-1);
    if (!last || !options.redrive.failed.error) throw new Error('only a failed execution can be redriven');
    ({ state: start, input } = last);
  }
  const ctx = executionContext(options.stateMachineName, options.executionName);
  ctx.Execution.RedriveCount = options.redrive?.count ?? 0;
  // A redrive starts at a state the validator finds unreachable from the definition's start.
  const machine = new StateMachine(
    { ...definition, StartAt: start },
    { validationOptions: { checkArn: false, noValidate: !!options.redrive } },
  );
  const execution = machine.run(input, {
    context: ctx,
    overrides: {
      taskResourceLocalHandlers: options.handlers,
      retryIntervalOverrides: options.retryIntervalOverrides,
      waitTimeOverrides: options.waitTimeOverrides,
    },
  });
  const entered: Array<{ state: string; input: any }> = [];
  const logging = (async () => {
    for await (const e of execution.eventLogs) {
      // A branch's states are the Parallel state's business: a redrive re-runs the Parallel state.
      if (e.type === 'StateEntered' && !('parentState' in e)) entered.push({ state: e.state.name, input: e.state.input });
    }
  })();
  try {
    const output = await execution.result;
    return { output, entered };
  } catch (e) {
    // The interpreter wraps the execution's error in an ExecutionError.
    const error = ((e as Error).cause ?? e) as Error;
    return { error, entered };
  } finally {
    await logging.catch(() => undefined);
  }
}
