import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeExecutionCommand, type DescribeExecutionCommandOutput, type SFNClient } from '@aws-sdk/client-sfn';
import { ParameterError, parseParamOptions, resolveParameters } from '../contract/parameters';
import { parseDate } from '../contract/run-input';
import type { ManualRequest, TriggerResult, WindowOutcome } from '../runtime/trigger';
import { logTail } from './logs-command';
import { UsageError, type PurposeContext } from './project-context';

/** Options of `batcat run`. */
export interface RunOptions {
  readonly date?: string;
  readonly from?: string;
  readonly to?: string;
  readonly backfill?: boolean;
  readonly force?: boolean;
  /** `--param name=value`, as given. */
  readonly param?: readonly string[];
  readonly wait?: boolean;
  /** Seconds between status checks with `wait`. */
  readonly pollSeconds: number;
}

export interface RunDeps {
  readonly lambda: LambdaClient;
  readonly sfn: SFNClient;
  /** With `wait`, the job's log lines are printed as they come. */
  readonly logs: CloudWatchLogsClient;
  readonly out: (line: string) => void;
  readonly sleep: (ms: number) => Promise<void>;
}

/**
 * Asks the purpose's trigger function for a manual run (or backfill), prints what it started
 * or why not, and with `wait` follows the execution to its end. Returns the exit code.
 */
export async function runCommand(ctx: PurposeContext, opts: RunOptions, deps: RunDeps): Promise<number> {
  const request: ManualRequest = {
    trigger: 'manual',
    purpose: ctx.purpose.name,
    ...checkedDates(opts),
    ...(opts.backfill ? { backfill: true } : {}),
    ...(opts.force ? { force: true } : {}),
    ...(opts.param?.length ? { params: checkedParams(ctx, opts.param) } : {}),
  };
  deps.out(`asking ${ctx.triggerFunctionName} for ${describeRequest(request)}`);
  const response = await deps.lambda.send(
    new InvokeCommand({
      FunctionName: ctx.triggerFunctionName,
      InvocationType: 'RequestResponse',
      Payload: Buffer.from(JSON.stringify(request)),
    }),
  );
  const payload = response.Payload ? JSON.parse(Buffer.from(response.Payload).toString('utf8') || 'null') : null;
  if (response.FunctionError) {
    deps.out(`not started: ${payload?.errorMessage ?? `the trigger failed (${response.FunctionError})`}`);
    return 1;
  }
  const result = payload as TriggerResult;
  const started = result.windows.filter((w) => w.action === 'started' || w.action === 'already-started');
  if (result.backfill) {
    const verb = result.backfill.status === 'started' ? 'started backfill' : 'backfill already started:';
    deps.out(
      `${verb} ${result.backfill.name}: ${started.length} of ${result.windows.length} window(s) to run, at most ${ctx.purpose.backfillConcurrency} at a time`,
    );
  }
  for (const w of result.windows) deps.out(`${result.backfill ? '  ' : ''}${describeOutcome(w)}`);
  // Nothing to start: every window succeeded or is running.
  if (started.length === 0) return 0;
  const executionArn = result.backfill?.executionArn ?? started[0].executionArn!;
  deps.out(`  execution: ${executionArn}`);
  deps.out(`  console:   ${consoleUrl(executionArn)}`);
  if (opts.wait) {
    const code = await waitFor(executionArn, opts.pollSeconds, deps);
    return result.backfill ? windowOutcomes(started, deps) : code;
  }
  // "Already started" is not success: that attempt may have failed meanwhile.
  const status = result.backfill?.status ?? started[0].action;
  if (status === 'already-started') return endedRun(executionArn, deps);
  return 0;
}

/** `--param name=value` options checked against the purpose's parameters, before anything is asked of AWS. */
export function checkedParams(ctx: Pick<PurposeContext, 'purpose'>, options: readonly string[]): Record<string, string> {
  try {
    return resolveParameters(ctx.purpose.name, ctx.purpose.parameters, parseParamOptions(options));
  } catch (e) {
    if (e instanceof ParameterError) throw new UsageError(`${e.message}. Nothing was started.`);
    throw e;
  }
}

/** One window's line: what the trigger did with it, and what to do next if anything. */
function describeOutcome(w: WindowOutcome): string {
  const window = `${w.window.start}..${w.window.end}`;
  switch (w.action) {
    case 'started':
      return `started ${w.runId} for ${window} (attempt ${w.attempt})`;
    case 'already-started':
      return `already started: ${w.runId} for ${window} exists, so no second job was started`;
    case 'succeeded':
      return `${window} already succeeded (${w.runId ?? 'see the run ledger'}); add --force to replace its result with a new attempt`;
    case 'running':
      return `${window} is running (${w.runId ?? 'see the run ledger'}); nothing new started`;
    case 'gave-up':
      return `${window} failed ${w.attempt} times (${w.runId}); not started again`;
    case 'not-due':
    case 'waiting':
      return `${window} not started: ${w.reason}`;
    case 'joined':
    case 'follow-up':
      return `${window}: ${w.reason}`;
  }
}

/** After a backfill: how each of its runs ended, one line each; exit 1 if any did not succeed. */
async function windowOutcomes(runs: readonly WindowOutcome[], deps: RunDeps): Promise<number> {
  let failed = 0;
  deps.out('windows:');
  for (const w of runs) {
    const e = await deps.sfn.send(new DescribeExecutionCommand({ executionArn: w.executionArn }));
    if (e.status !== 'SUCCEEDED') failed++;
    const why = e.status === 'SUCCEEDED' ? '' : `: ${e.error ?? 'no error reported'}${e.cause ? `: ${e.cause}` : ''}`;
    deps.out(`  ${w.window.start}..${w.window.end}  ${e.status?.toLowerCase()}  ${w.runId}${why}`);
  }
  if (failed > 0) deps.out(`${failed} of ${runs.length} window(s) did not succeed; ask again to start new attempts at them`);
  return failed > 0 ? 1 : 0;
}

/** How an existing run ended: exit 1, with its error, when it did not succeed. */
async function endedRun(executionArn: string, deps: RunDeps): Promise<number> {
  const e = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
  if (e.status === 'SUCCEEDED' || e.status === 'RUNNING' || e.status === 'PENDING_REDRIVE') {
    deps.out(`  that run ${e.status === 'SUCCEEDED' ? 'succeeded' : 'is still running'}`);
    return 0;
  }
  deps.out(`  that run ended ${e.status}: ${e.error ?? 'no error reported'}${e.cause ? `: ${e.cause}` : ''}`);
  deps.out('  ask again (without --force) to start a new attempt at a failed window');
  return 1;
}

/** The dates of --date or --from/--to, checked as flags (exit code 2 on a mistake). */
export function checkedDates(opts: Pick<RunOptions, 'date' | 'from' | 'to' | 'backfill'>): Pick<ManualRequest, 'date' | 'from' | 'to'> {
  try {
    if (opts.date !== undefined && (opts.from !== undefined || opts.to !== undefined))
      throw new UsageError('give either --date, or --from and --to, not both');
    if ((opts.from === undefined) !== (opts.to === undefined)) throw new UsageError('--from and --to go together');
    if (opts.backfill && opts.from === undefined) throw new UsageError('--backfill needs --from and --to');
    if (opts.date !== undefined) return { date: parseDate(opts.date, '--date') };
    if (opts.from !== undefined) return { from: parseDate(opts.from, '--from'), to: parseDate(opts.to, '--to') };
    return {};
  } catch (e) {
    throw e instanceof UsageError ? e : new UsageError((e as Error).message);
  }
}

function describeRequest(r: ManualRequest): string {
  const what = r.date ? `the window starting ${r.date}` : r.from ? `${r.from}..${r.to}` : 'the window that ended yesterday';
  return `${r.backfill ? 'a backfill of' : 'a run of'} ${r.purpose} for ${what}${r.force ? ' (forced: a new attempt)' : ''}`;
}

/** Polls the execution until it ends, printing each status change. */
async function waitFor(executionArn: string, pollSeconds: number, deps: RunDeps): Promise<number> {
  let last: string | undefined;
  const started = Date.now();
  // As the SageMaker SDK's wait=True, logs=True: the job's lines as they come, every instance.
  const tail = logTail(executionArn, deps);
  for (;;) {
    const e: DescribeExecutionCommandOutput = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
    const elapsed = Math.round((Date.now() - started) / 1000);
    if (e.status !== last) {
      deps.out(`${e.status?.toLowerCase()} after ${elapsed}s`);
      last = e.status;
    }
    await tail();
    if (e.status !== 'RUNNING' && e.status !== 'PENDING_REDRIVE') {
      if (e.status === 'SUCCEEDED') return 0;
      deps.out(`  error: ${e.error ?? 'none reported'}`);
      if (e.cause) deps.out(`  cause: ${e.cause}`);
      return 1;
    }
    await deps.sleep(pollSeconds * 1000);
  }
}

/** The Step Functions console page of an execution. */
export function consoleUrl(executionArn: string): string {
  const region = executionArn.split(':')[3];
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}
