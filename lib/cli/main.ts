#!/usr/bin/env node
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ProjectConfigError } from '../config/load-project';
import { purposeContext, UsageError } from './project-context';
import { runCommand } from './run-command';
import { runsCommand } from './runs-command';

/** Where the CLI writes, and how it reaches AWS; tests replace these. */
export interface CliEnv {
  readonly cwd: string;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly clients?: (region?: string) => { lambda: LambdaClient; sfn: SFNClient };
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultClients = (region?: string) => ({ lambda: new LambdaClient({ region }), sfn: new SFNClient({ region }) });

/** Runs `batcat <argv>` and resolves to the exit code. */
export async function runCli(argv: readonly string[], env: CliEnv): Promise<number> {
  const line = (s: string) => env.out(`${s}\n`);
  const clients = env.clients ?? defaultClients;
  let code = 0;
  const program = new Command('batcat')
    .description('BatCat CDK: run and inspect the purposes of your projects. Run it in the folder that holds projects/.')
    .option('--root <dir>', 'the folder that holds projects/ and containers/', env.cwd)
    .option('--region <region>', 'the AWS region (default: AWS_REGION or your profile\'s region)')
    .exitOverride()
    .configureOutput({ writeOut: env.out, writeErr: env.err })
    .showHelpAfterError('(run batcat --help for usage)');

  program.command('run')
    .description('Start a run of a purpose through its trigger. The same window never starts a second job unless --force is given.')
    .argument('<project>', 'the project name (projects/<project>.yaml)')
    .argument('<purpose>', 'the purpose to run')
    .option('--date <YYYY-MM-DD>', 'run the window starting on this day')
    .option('--from <YYYY-MM-DD>', 'first day of a window or backfill (with --to)')
    .option('--to <YYYY-MM-DD>', 'last day, included')
    .option('--backfill', 'start one run per window from --from to --to, a few at a time')
    .option('--force', 'start a new attempt even if a run for this window exists')
    .option('--wait', 'follow the run until it ends; exit 1 if it fails')
    .option('--poll-seconds <n>', 'seconds between status checks with --wait', positiveInt, 15)
    .addHelpText('after', `
Without dates, the window that ended yesterday is run (as the schedule would).
Examples:
  batcat run 2022-rnd-battery usage-analysis --date 2026-11-22 --wait
  batcat run 2022-rnd-battery usage-analysis --from 2026-11-01 --to 2026-11-30 --backfill
  batcat run 2022-rnd-battery usage-analysis --date 2026-11-22 --force`)
    .action(async (project: string, purpose: string, opts) => {
      const g = program.opts();
      const ctx = purposeContext(g.root, project, purpose);
      code = await runCommand(ctx, { ...opts, pollSeconds: opts.pollSeconds }, {
        ...clients(g.region), out: line, sleep: env.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
      });
    });

  program.command('runs')
    .description('List the recent runs of a purpose: status, trigger, window and duration.')
    .argument('<project>', 'the project name (projects/<project>.yaml)')
    .argument('<purpose>', 'the purpose')
    .option('--limit <n>', 'how many runs to show', positiveInt, 20)
    .action(async (project: string, purpose: string, opts) => {
      const g = program.opts();
      code = await runsCommand(purposeContext(g.root, project, purpose), opts.limit, { ...clients(g.region), out: line });
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError) {
      env.err(`batcat: ${e.message}\n`);
      return 2;
    }
    if (e instanceof ProjectConfigError) {
      env.err(`batcat: invalid project file ${e.message}\n`);
      return 2;
    }
    env.err(`batcat: ${describeAwsError(e as Error)}\n`);
    return 1;
  }
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

/** AWS errors with the hint a user needs most often. */
function describeAwsError(e: Error): string {
  if (e.name === 'ResourceNotFoundException') return `${e.message}\n  Is the project deployed (cdk deploy) in this account and region?`;
  if (e.name === 'CredentialsProviderError' || /credential/i.test(e.message)) return `${e.message}\n  Set AWS credentials (AWS_PROFILE, aws sso login, or environment variables).`;
  if (/ENOTFOUND|ECONNREFUSED|ETIMEDOUT/.test(e.message)) return `${e.message}\n  Cannot reach AWS from this machine; check the network, proxy and region.`;
  if (/region is missing/i.test(e.message)) return `${e.message}\n  Set AWS_REGION or pass --region.`;
  if (e.name === 'AccessDeniedException') return `${e.message}\n  Your identity needs lambda:InvokeFunction and lambda:GetFunctionConfiguration on the trigger, and states:ListExecutions and states:DescribeExecution.`;
  return `${e.name}: ${e.message}`;
}

if (require.main === module) {
  runCli(process.argv.slice(2), {
    cwd: process.cwd(),
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
  }).then((code) => {
    process.exitCode = code;
  });
}
