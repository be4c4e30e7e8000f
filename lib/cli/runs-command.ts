import { GetFunctionConfigurationCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeExecutionCommand, ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { RUN_CONFIG_ENV } from '../contract/environment';
import type { PurposeRunConfig } from '../contract/run-input';
import type { PurposeContext } from './project-context';

export interface RunsDeps {
  readonly lambda: LambdaClient;
  readonly sfn: SFNClient;
  readonly out: (line: string) => void;
}

/** One row of `batcat runs`. */
export interface RunRow {
  readonly name: string;
  readonly status: string;
  readonly trigger: string;
  readonly window: string;
  readonly started: string;
  readonly duration: string;
}

/**
 * Lists the most recent runs of a purpose with their status (and how often each was redriven),
 * trigger, window and duration.
 * The state machine is found through the trigger's configuration, which the stack wrote.
 */
export async function runsCommand(ctx: PurposeContext, limit: number, deps: RunsDeps, now: () => Date = () => new Date()): Promise<number> {
  const fn = await deps.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: ctx.triggerFunctionName }));
  const config = JSON.parse(fn.Environment?.Variables?.[RUN_CONFIG_ENV] ?? 'null') as PurposeRunConfig | null;
  if (!config?.stateMachineArn) {
    deps.out(`${ctx.triggerFunctionName} has no BatCat run configuration; is it a BatCat trigger?`);
    return 1;
  }
  const list = await deps.sfn.send(new ListExecutionsCommand({ stateMachineArn: config.stateMachineArn, maxResults: limit }));
  const executions = list.executions ?? [];
  if (executions.length === 0) {
    deps.out(`no runs of ${ctx.purpose.name} yet (${config.stateMachineArn})`);
    return 0;
  }
  const rows = await mapLimited(executions, 5, async (e): Promise<RunRow> => {
    const d = await deps.sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
    let input: { trigger?: { kind?: string }; window?: { start: string; end: string } } | null;
    try {
      input = JSON.parse(d.input ?? 'null');
    } catch {
      input = null;
    }
    const stop = e.stopDate ?? now();
    return {
      name: e.name ?? '',
      status: `${e.status ?? ''}${redriven(e.redriveCount)}`,
      trigger: input?.trigger?.kind ?? '-',
      window: input?.window ? `${input.window.start}..${input.window.end}` : '-',
      started: e.startDate ? e.startDate.toISOString().replace('T', ' ').slice(0, 19) : '-',
      duration: e.startDate ? formatDuration(stop.getTime() - e.startDate.getTime()) : '-',
    };
  });
  for (const line of table(rows)) deps.out(line);
  return 0;
}

/** ` (redriven 2 times)` for a run `batcat redrive` restarted; nothing for one that never was. */
export function redriven(count: number | undefined): string {
  return count ? ` (redriven ${count} time${count > 1 ? 's' : ''})` : '';
}

/** `1h 02m`, `4m 05s`, `12s`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  return `${s}s`;
}

function table(rows: RunRow[]): string[] {
  const header: RunRow = {
    name: 'RUN',
    status: 'STATUS',
    trigger: 'TRIGGER',
    window: 'WINDOW',
    started: 'STARTED (UTC)',
    duration: 'DURATION',
  };
  const keys = Object.keys(header) as Array<keyof RunRow>;
  const widths = keys.map((k) => Math.max(...[header, ...rows].map((r) => r[k].length)));
  return [header, ...rows].map((r) =>
    keys
      .map((k, i) => r[k].padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]);
      }
    }),
  );
  return results;
}
