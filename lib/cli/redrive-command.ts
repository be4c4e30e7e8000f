import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  RedriveExecutionCommand,
  type DescribeExecutionCommandOutput,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { REDRIVE_PERIOD_DAYS, UNREDRIVABLE_ERRORS } from '../contract/redrive';
import { executionArnOf, runName, shortHash, type RunInput } from '../contract/run-input';
import { causeText, stateMachineOf, streamRunLogs } from './logs-command';
import { UsageError, type PurposeContext } from './project-context';

/*
 * `batcat redrive`: restarts a failed run with Step Functions' RedriveExecution. The run goes on
 * at the step it failed in (see lib/runtime/redrive.ts): a failed job runs again under a new job
 * name, a failed commit commits again. Everything that makes a redrive pointless or unsafe is
 * refused here, before anything starts; the state machine refuses again (RedriveRefused) if a
 * newer attempt of the window starts in between.
 */

export interface RedriveDeps {
  readonly lambda: LambdaClient;
  readonly sfn: SFNClient;
  readonly logs: CloudWatchLogsClient;
  readonly out: (line: string) => void;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface RedriveOptions {
  /** The run (its execution name, as `batcat runs` lists it). */
  readonly runId: string;
  /** Follow the redriven run, its job logs included, until it ends. */
  readonly wait: boolean;
  readonly pollSeconds: number;
}

/** Redrives the failed run `runId` of the purpose; with `wait`, exit 1 when it fails again. */
export async function redriveCommand(
  ctx: PurposeContext,
  opts: RedriveOptions,
  deps: RedriveDeps,
  now: () => Date = () => new Date(),
): Promise<number> {
  const stateMachineArn = await stateMachineOf(ctx, deps);
  const executionArn = executionArnOf(stateMachineArn, opts.runId);
  const run = await describe(deps.sfn, executionArn);
  if (!run) {
    throw new UsageError(
      `${ctx.purpose.name} has no run ${opts.runId}; batcat runs ${ctx.project.project} ${ctx.purpose.name} lists its runs`,
    );
  }
  const input = parseInput(run.input);
  const refusal =
    redriveRefusal(ctx, opts.runId, run, input, now()) ?? (await newerAttempt(ctx, stateMachineArn, opts.runId, input, deps.sfn));
  if (refusal) throw new UsageError(refusal);

  const failedIn = await failedStep(executionArn, deps.sfn);
  const redrive = (run.redriveCount ?? 0) + 1;
  try {
    // The same token for the same redrive of the same run: a repeated command does not redrive twice.
    const clientToken = `batcat-redrive-${redrive}-${shortHash(24, executionArn)}`;
    await deps.sfn.send(new RedriveExecutionCommand({ executionArn, clientToken }));
  } catch (e) {
    // Its state changed since it was described (someone else redrove it), or the check above missed a reason.
    if ((e as Error).name === 'ExecutionNotRedrivable')
      throw new UsageError(`Step Functions cannot redrive run ${opts.runId}: ${(e as Error).message}`);
    throw e;
  }
  deps.out(`redriving run ${opts.runId} (redrive ${redrive}) of ${ctx.purpose.name}`);
  deps.out(`  it failed with ${run.error ?? 'no error reported'}${run.cause ? `: ${causeText(run.cause)}` : ''}`);
  if (failedIn) deps.out(`  it resumes at ${failedIn}${failedIn === 'RunProcessingJob' ? ', with a new job name' : ''}`);
  if (!opts.wait) {
    deps.out(`follow it with: batcat logs ${ctx.project.project} ${ctx.purpose.name} ${opts.runId} --follow`);
    return 0;
  }
  return streamRunLogs(executionArn, { follow: true, pollSeconds: opts.pollSeconds }, deps);
}

/** Why the run cannot or need not be redriven, from its description; undefined if it can. */
export function redriveRefusal(
  ctx: PurposeContext,
  runId: string,
  run: DescribeExecutionCommandOutput,
  input: (RunInput & { readonly reproduction?: unknown }) | undefined,
  now: Date,
): string | undefined {
  const again = input?.window
    ? `start a new attempt of its window instead: batcat run ${ctx.project.project} ${ctx.purpose.name} --date ${input.window.start} --force`
    : `start a new run with batcat run ${ctx.project.project} ${ctx.purpose.name}`;
  switch (run.status) {
    case 'RUNNING':
    case 'PENDING_REDRIVE':
      return `run ${runId} is still running: only a run that failed can be redriven. Follow it with batcat logs ${ctx.project.project} ${ctx.purpose.name} ${runId} --follow`;
    case 'SUCCEEDED':
      return `run ${runId} succeeded: there is nothing to redrive. To make its window's result again, ${again}`;
    case 'TIMED_OUT':
    case 'ABORTED':
      return (
        `run ${runId} ${run.status === 'ABORTED' ? 'was stopped' : 'timed out'}: a redrive resumes a run at the step it failed in, ` +
        `and this one did not fail in a step (what it was doing may still be running or half done); ${again}`
      );
  }
  if (input?.reproduction !== undefined) {
    return `run ${runId} is a reproduction: run batcat reproduce ${ctx.project.project} ${ctx.purpose.name} --remote again instead`;
  }
  const pointless = run.error !== undefined ? UNREDRIVABLE_ERRORS[run.error] : undefined;
  if (pointless) return `run ${runId} failed with ${run.error}: ${pointless}, so a redrive would end the same way; ${again}`;
  if (run.redriveStatus === 'NOT_REDRIVABLE') {
    const ended = run.stopDate ?? run.redriveDate;
    const old = ended && now.getTime() - ended.getTime() > REDRIVE_PERIOD_DAYS * 86_400_000;
    return old || /redrivable period/i.test(run.redriveStatusReason ?? '')
      ? `run ${runId} ended ${ended ? ended.toISOString().slice(0, 10) : 'long ago'}, more than ${REDRIVE_PERIOD_DAYS} days ago: ` +
          `Step Functions redrives runs for ${REDRIVE_PERIOD_DAYS} days after they end; ${again}`
      : `Step Functions cannot redrive run ${runId}: ${run.redriveStatusReason ?? 'it gives no reason'}; ${again}`;
  }
  return undefined;
}

/** A refusal when the window's next attempt exists: the redrive would stop at RedriveRefused. */
async function newerAttempt(
  ctx: PurposeContext,
  stateMachineArn: string,
  runId: string,
  input: RunInput | undefined,
  sfn: SFNClient,
): Promise<string | undefined> {
  if (!input?.window || typeof input.attempt !== 'number') return undefined;
  const next = runName(ctx.purpose.name, input.window, input.attempt + 1);
  const newer = await describe(sfn, executionArnOf(stateMachineArn, next));
  if (!newer) return undefined;
  return (
    `run ${runId} is attempt ${input.attempt} of its window, and attempt ${input.attempt + 1} (${next}, ${String(newer.status).toLowerCase()}) ` +
    `started after it: the window's result is the newer attempt's business, so this one is not redriven. See batcat logs ${ctx.project.project} ${ctx.purpose.name} ${next}`
  );
}

/** The step a failed run will resume at: AwaitRedrive's input records it (`failedAt.step`). */
async function failedStep(executionArn: string, sfn: SFNClient): Promise<string | undefined> {
  const page = await sfn.send(
    new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 50, includeExecutionData: true }),
  );
  for (const e of page?.events ?? []) {
    const entered = e.stateEnteredEventDetails;
    if (entered?.name !== 'AwaitRedrive') continue;
    try {
      const step = (JSON.parse(entered.input ?? '{}') as { failedAt?: { step?: unknown } }).failedAt?.step;
      return typeof step === 'string' ? step : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

async function describe(sfn: SFNClient, executionArn: string): Promise<DescribeExecutionCommandOutput | undefined> {
  try {
    return await sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch (e) {
    if ((e as Error).name === 'ExecutionDoesNotExist') return undefined;
    throw e;
  }
}

function parseInput(text: string | undefined): (RunInput & { readonly reproduction?: unknown }) | undefined {
  try {
    const input = JSON.parse(text ?? 'null') as (RunInput & { readonly reproduction?: unknown }) | null;
    return input && typeof input === 'object' ? input : undefined;
  } catch {
    return undefined;
  }
}
