import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeExecutionCommand, type DescribeExecutionCommandOutput, type SFNClient } from '@aws-sdk/client-sfn';
import { parseDate } from '../contract/run-input';
import type { ManualRequest, TriggerResult } from '../runtime/trigger';
import { UsageError, type PurposeContext } from './project-context';

/** Options of `batcat run`. */
export interface RunOptions {
  readonly date?: string;
  readonly from?: string;
  readonly to?: string;
  readonly backfill?: boolean;
  readonly force?: boolean;
  readonly wait?: boolean;
  /** Seconds between status checks with `wait`. */
  readonly pollSeconds: number;
}

export interface RunDeps {
  readonly lambda: LambdaClient;
  readonly sfn: SFNClient;
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
  const s = result.started;
  const window = `${s.window.start}..${s.window.end}`;
  if (result.backfillRuns) {
    const verb = s.status === 'started' ? 'started backfill' : 'backfill already started';
    deps.out(
      `${verb} ${s.runId}: ${result.backfillRuns.length} run(s) for ${window}, at most ${ctx.purpose.backfillConcurrency} at a time`,
    );
    for (const r of result.backfillRuns) deps.out(`  ${r.runId}  ${r.window.start}..${r.window.end}`);
  } else if (s.status === 'started') {
    deps.out(`started ${s.runId} for ${window}`);
  } else {
    deps.out(`already started: ${s.runId} for ${window} exists, so no second job was started; use --force for a new attempt`);
  }
  deps.out(`  execution: ${s.executionArn}`);
  deps.out(`  console:   ${consoleUrl(s.executionArn)}`);
  if (opts.wait) return waitFor(s.executionArn, opts.pollSeconds, deps);
  // "Already started" is not success: that run may have failed, and asking again does not rerun it.
  if (s.status === 'already-started') return endedRun(s.executionArn, deps);
  return 0;
}

/** How an existing run ended: exit 1, with its error, when it did not succeed. */
async function endedRun(executionArn: string, deps: RunDeps): Promise<number> {
  const e = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
  if (e.status === 'SUCCEEDED' || e.status === 'RUNNING' || e.status === 'PENDING_REDRIVE') {
    deps.out(`  that run ${e.status === 'SUCCEEDED' ? 'succeeded' : 'is still running'}`);
    return 0;
  }
  deps.out(`  that run ended ${e.status}: ${e.error ?? 'no error reported'}${e.cause ? `: ${e.cause}` : ''}`);
  deps.out('  it is not rerun by asking again: add --force to start a new attempt for this window');
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
  for (;;) {
    const e: DescribeExecutionCommandOutput = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
    const elapsed = Math.round((Date.now() - started) / 1000);
    if (e.status !== last) {
      deps.out(`${e.status?.toLowerCase()} after ${elapsed}s`);
      last = e.status;
    }
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
