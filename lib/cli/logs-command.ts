import { FilterLogEventsCommand, type CloudWatchLogsClient, type FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { GetFunctionConfigurationCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  type DescribeExecutionCommandOutput,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { RUN_CONFIG_ENV } from '../contract/environment';
import type { PurposeRunConfig } from '../contract/run-input';
import { UsageError, type PurposeContext } from './project-context';
import { redriven } from './runs-command';

/*
 * `batcat logs`: a run's processing job logs without the console. SageMaker writes each
 * instance's output to its own stream `<job name>/algo-<n>-<epoch>` in one log group; this
 * reads every stream of the run's jobs (a redriven or followed run has more than one), prints
 * them interleaved by time with the instance named, and ends with the run's failure cause.
 * `--follow` and `batcat run --wait` tail a running job the way the SageMaker SDK's
 * `wait=True, logs=True` does.
 */

/** Where SageMaker Processing writes its jobs' logs. */
export const PROCESSING_LOG_GROUP = '/aws/sagemaker/ProcessingJobs';

export interface LogsDeps {
  readonly lambda: LambdaClient;
  readonly sfn: SFNClient;
  readonly logs: CloudWatchLogsClient;
  readonly out: (line: string) => void;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface LogsOptions {
  /** A run id (the execution name); without it and `date`, the newest run. */
  readonly runId?: string;
  /** The newest run of the window starting on this day. */
  readonly date?: string;
  readonly follow?: boolean;
  /** Seconds between polls with `follow`. */
  readonly pollSeconds: number;
}

/** Prints the logs of one run of the purpose; exit 1 when the run failed, 0 otherwise. */
export async function logsCommand(ctx: PurposeContext, opts: LogsOptions, deps: LogsDeps): Promise<number> {
  if (opts.runId !== undefined && opts.date !== undefined) throw new UsageError('give a run id or --date, not both');
  const stateMachineArn = await stateMachineOf(ctx, deps);
  const executionArn = await findRun(stateMachineArn, ctx, opts, deps);
  deps.out(`run ${executionArn.split(':').pop()}`);
  return streamRunLogs(executionArn, { follow: opts.follow === true, pollSeconds: opts.pollSeconds }, deps);
}

/**
 * Prints the job logs of the execution, and with `follow` keeps printing new lines until the
 * execution ends; then its status and, if it did not succeed, its error and cause.
 */
export async function streamRunLogs(
  executionArn: string,
  opts: { follow: boolean; pollSeconds: number },
  deps: Pick<LogsDeps, 'sfn' | 'logs' | 'out' | 'sleep'>,
): Promise<number> {
  const tail = logTail(executionArn, deps);
  for (;;) {
    const execution = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
    const jobs = await tail();
    const running = execution.status === 'RUNNING' || execution.status === 'PENDING_REDRIVE';
    if (!opts.follow || !running) return ending(execution, jobs, deps.out);
    await deps.sleep(opts.pollSeconds * 1000);
  }
}

/**
 * A tail of the execution's job logs: each call prints the jobs started and the lines written
 * since the last call (each line once), and resolves to the jobs so far.
 */
export function logTail(executionArn: string, deps: Pick<LogsDeps, 'sfn' | 'logs' | 'out'>): () => Promise<string[]> {
  const seen = new Set<string>();
  let since: number | undefined;
  let printedJobs = 0;
  return async () => {
    const jobs = await jobNames(executionArn, deps.sfn);
    for (const job of jobs.slice(printedJobs)) deps.out(`job ${job} (log group ${PROCESSING_LOG_GROUP})`);
    printedJobs = jobs.length;
    for (const e of await jobEvents(deps.logs, jobs, since)) {
      if (seen.has(e.eventId!)) continue;
      seen.add(e.eventId!);
      since = Math.max(since ?? 0, e.timestamp ?? 0);
      deps.out(formatEvent(e));
    }
    return jobs;
  };
}

function ending(e: DescribeExecutionCommandOutput, jobs: readonly string[], out: (line: string) => void): number {
  if (jobs.length === 0) out('(no processing job was started in this run)');
  out(`run ${String(e.status).toLowerCase()}${redriven(e.redriveCount)}`);
  if (e.status === 'SUCCEEDED' || e.status === 'RUNNING' || e.status === 'PENDING_REDRIVE') return 0;
  out(`  error: ${e.error ?? 'none reported'}`);
  if (e.cause) out(`  cause: ${causeText(e.cause)}`);
  return 1;
}

/**
 * An execution's cause as a reader wants it. A failed run ends in AwaitRedrive, a function, so
 * its cause is the JSON Lambda reports for the error; the message in it is the run's reason.
 */
export function causeText(cause: string): string {
  try {
    const reported = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof reported?.errorMessage === 'string') return reported.errorMessage;
  } catch {
    // Not JSON: a Fail state's cause, as it is.
  }
  return cause;
}

/** `2026-11-23T01:02:03.456Z [algo-1] the line`: the instance is the stream name's part after the job name. */
export function formatEvent(e: FilteredLogEvent): string {
  const instance = (e.logStreamName ?? '').split('/')[1]?.replace(/-\d{9,}$/, '') ?? '?';
  const time = e.timestamp !== undefined ? new Date(e.timestamp).toISOString() : '-';
  return `${time} [${instance}] ${(e.message ?? '').replace(/\n$/, '')}`;
}

/** Every event of the jobs' streams from `since` on, all pages, ordered by time (stable for equal times). */
async function jobEvents(logs: CloudWatchLogsClient, jobs: readonly string[], since?: number): Promise<FilteredLogEvent[]> {
  const all: FilteredLogEvent[] = [];
  for (const job of jobs) {
    let nextToken: string | undefined;
    do {
      let page;
      try {
        page = await logs.send(
          new FilterLogEventsCommand({ logGroupName: PROCESSING_LOG_GROUP, logStreamNamePrefix: `${job}/`, startTime: since, nextToken }),
        );
      } catch (e) {
        // The group appears with the first job of the account and region that logs anything.
        if ((e as Error).name === 'ResourceNotFoundException') return all;
        throw e;
      }
      all.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
  }
  return all
    .map((e, i) => ({ e, i }))
    .sort((a, b) => (a.e.timestamp ?? 0) - (b.e.timestamp ?? 0) || a.i - b.i)
    .map((x) => x.e);
}

/** The processing jobs the execution asked SageMaker for, oldest first, from its history. */
export async function jobNames(executionArn: string, sfn: SFNClient): Promise<string[]> {
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000, includeExecutionData: true }));
    for (const ev of page?.events ?? []) {
      const s = ev.taskScheduledEventDetails;
      if (s?.resourceType !== 'sagemaker' || !s.resource?.startsWith('createProcessingJob')) continue;
      const name = (JSON.parse(s.parameters ?? '{}') as { ProcessingJobName?: string }).ProcessingJobName;
      if (name && !names.includes(name)) names.push(name);
    }
    nextToken = page?.nextToken;
  } while (nextToken);
  return names;
}

/** The purpose's state machine, from the configuration its deployed trigger carries. */
export async function stateMachineOf(ctx: PurposeContext, deps: Pick<LogsDeps, 'lambda'>): Promise<string> {
  const fn = await deps.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: ctx.triggerFunctionName }));
  const config = JSON.parse(fn.Environment?.Variables?.[RUN_CONFIG_ENV] ?? 'null') as PurposeRunConfig | null;
  if (!config?.stateMachineArn) throw new UsageError(`${ctx.triggerFunctionName} has no BatCat run configuration; is it a BatCat trigger?`);
  return config.stateMachineArn;
}

/** The run asked for: by id, the newest attempt at the window of `date`, or the newest run. */
async function findRun(stateMachineArn: string, ctx: PurposeContext, opts: LogsOptions, deps: Pick<LogsDeps, 'sfn'>): Promise<string> {
  const executionArn = (name: string) => `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  if (opts.runId !== undefined) return executionArn(opts.runId);
  const prefix = opts.date !== undefined ? `${ctx.purpose.name}-${opts.date.replace(/-/g, '')}-` : undefined;
  let nextToken: string | undefined;
  let best: { name: string; attempt: number } | undefined;
  do {
    const page = await deps.sfn.send(new ListExecutionsCommand({ stateMachineArn, nextToken, maxResults: 1000 }));
    for (const e of page.executions ?? []) {
      if (prefix === undefined) return e.executionArn!;
      const attempt = Number(/-a(\d+)$/.exec(e.name ?? '')?.[1]);
      if (e.name?.startsWith(prefix) && attempt > (best?.attempt ?? 0)) best = { name: e.name, attempt };
    }
    nextToken = page.nextToken;
  } while (nextToken);
  if (best) return executionArn(best.name);
  throw new UsageError(
    prefix === undefined
      ? `no runs of ${ctx.purpose.name} yet (${stateMachineArn})`
      : `no run of ${ctx.purpose.name} for the window starting ${opts.date}; batcat runs ${ctx.project.project} ${ctx.purpose.name} lists its runs`,
  );
}
