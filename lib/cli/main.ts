import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AthenaClient } from '@aws-sdk/client-athena';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { loadProjects, ProjectConfigError } from '../config/load-project';
import { AthenaQueryError, QueryTimeoutError, S3AccessDeniedError, S3IoError } from '../io/errors';
import { LocalRunError } from '../local/container-spec';
import { localRuns } from '../local/run-records';
import { REDRIVE_PERIOD_DAYS } from '../contract/redrive';
import { RunRequestError } from '../contract/run-input';
import { defaultDoctorEnv, doctorCommand, runEnvironmentReport, type DoctorEnv } from './doctor-command';
import { Asker, type PromptIO } from './prompts';
import { projectContext, purposeContext, UsageError } from './project-context';
import { addPurposeCommand, initCommand } from './scaffold-commands';
import { packageInfo } from './scaffold/package-info';

/** The AWS clients the commands use. */
export interface AwsClients {
  readonly lambda: LambdaClient;
  readonly sfn: SFNClient;
  readonly athena: AthenaClient;
  readonly s3: S3Client;
  readonly cloudformation: CloudFormationClient;
  readonly dynamodb: DynamoDBClient;
  readonly logs: CloudWatchLogsClient;
}

/** Where the CLI writes, and how it reaches AWS; tests replace these. */
export interface CliEnv {
  readonly cwd: string;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Clients to use instead of the default ones. */
  readonly clients?: (region?: string) => Partial<AwsClients>;
  readonly sleep?: (ms: number) => Promise<void>;
  /** The clock that goes with `sleep`. @default Date.now */
  readonly now?: () => number;
  /** Aborting stops a running query or copy (the bin wires Ctrl-C to it). */
  readonly signal?: AbortSignal;
  /** The terminal to prompt on; without it, commands take every answer from flags. */
  readonly prompt?: PromptIO;
  /** What doctor inspects. @default this machine */
  readonly doctor?: (rootDir: string) => DoctorEnv;
  /** Runs the CDK CLI in `cwd` (stage create and delete). @default npx cdk, its output on this terminal */
  readonly cdk?: (args: readonly string[], cwd: string) => Promise<number>;
}

async function awsClients(env: CliEnv, region?: string): Promise<AwsClients> {
  const given = env.clients?.(region) ?? {};
  return {
    lambda: given.lambda ?? new (await needsSdk(() => import('@aws-sdk/client-lambda'))).LambdaClient({ region }),
    sfn: given.sfn ?? new (await needsSdk(() => import('@aws-sdk/client-sfn'))).SFNClient({ region }),
    athena: given.athena ?? new (await needsSdk(() => import('@aws-sdk/client-athena'))).AthenaClient({ region }),
    s3: given.s3 ?? new (await needsSdk(() => import('@aws-sdk/client-s3'))).S3Client({ region }),
    cloudformation:
      given.cloudformation ?? new (await needsSdk(() => import('@aws-sdk/client-cloudformation'))).CloudFormationClient({ region }),
    dynamodb: given.dynamodb ?? new (await needsSdk(() => import('@aws-sdk/client-dynamodb'))).DynamoDBClient({ region }),
    logs: given.logs ?? new (await needsSdk(() => import('@aws-sdk/client-cloudwatch-logs'))).CloudWatchLogsClient({ region }),
  };
}

/**
 * Loads a module that needs the AWS SDK. The SDK is an optional peer dependency, so that teams
 * using only the constructs do not install it; a project made by `batcat init` lists it. Only
 * the commands that call AWS, or run the state machine locally, load it.
 */
async function needsSdk<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    const missing = /Cannot find module '(@aws-sdk\/[^'/]+)/.exec((e as Error).message)?.[1];
    if ((e as { code?: string }).code !== 'MODULE_NOT_FOUND' || missing === undefined) throw e;
    throw new UsageError(
      `this command needs the AWS SDK (${missing} is not installed); run npm install in the project (its package.json made by batcat init lists the SDK), or npm install ${missing}`,
    );
  }
}

/** Runs `batcat <argv>` and resolves to the exit code. */
export async function runCli(argv: readonly string[], env: CliEnv): Promise<number> {
  const line = (s: string) => env.out(`${s}\n`);
  const clients = (region?: string) => awsClients(env, region);
  // The commands that call AWS load the SDK when they run: init, doctor and help work without it.
  const commands = {
    run: () => needsSdk(() => import('./run-command')),
    runs: () => needsSdk(() => import('./runs-command')),
    logs: () => needsSdk(() => import('./logs-command')),
    redrive: () => needsSdk(() => import('./redrive-command')),
    data: () => needsSdk(() => import('./data-commands')),
    query: () => needsSdk(() => import('./query-command')),
    external: () => needsSdk(() => import('./external-command')),
    lineage: () => needsSdk(() => import('./lineage-command')),
    rules: () => needsSdk(() => import('./rules-command')),
    // It runs run-local, which builds the stack with aws-cdk-lib.
    reproduce: () => needsSdk(() => import('./reproduce-command')),
    stage: () => needsSdk(() => import('./stage-command')),
    reproduceRemote: () => needsSdk(() => import('./reproduce-remote')),
  };
  let code = 0;
  const program = new Command('batcat')
    .description(
      'BatCat CDK: create projects and purposes, run them locally, run and inspect them on AWS, and move data. Run it in the folder that holds projects/.',
    )
    .option('--root <dir>', 'the folder that holds projects/ and containers/', env.cwd)
    .option('--region <region>', "the AWS region (default: AWS_REGION or your profile's region)")
    .option('--stage <stage>', "the stage to work on, e.g. a branch's (default: BATCAT_STAGE, else the project file's stage)")
    .version(packageInfo().version, '-V, --version', 'print the version of batcat-cdk')
    .exitOverride()
    .configureOutput({ writeOut: env.out, writeErr: env.err })
    .showHelpAfterError('(run batcat --help for usage)')
    .addHelpText(
      'after',
      `
Exit codes: 0 done, 1 the work failed (a run, a query, a copy), 2 a usage or project-file error.
Example:
  batcat run-local 2022-rnd-battery usage-analysis --date 2026-11-22`,
    );

  program
    .command('run')
    .description('Start a run of a purpose through its trigger. The same window never starts a second job unless --force is given.')
    .argument('<project>', 'the project name (projects/<project>.yaml)')
    .argument('<purpose>', 'the purpose to run')
    .option('--date <YYYY-MM-DD>', 'run the window starting on this day')
    .option('--from <YYYY-MM-DD>', 'first day of a window or backfill (with --to)')
    .option('--to <YYYY-MM-DD>', 'last day, included')
    .option('--backfill', 'start one run per window from --from to --to, a few at a time')
    .option('--force', 'start a new attempt even if a run for this window exists')
    .option(
      '--param <name=value>',
      "a value of one of the purpose's parameters (repeat for more); the others take their defaults",
      collect,
      [],
    )
    .option('--wait', 'follow the run until it ends; exit 1 if it fails')
    .option('--poll-seconds <n>', 'seconds between status checks with --wait', positiveInt, 15)
    .addHelpText(
      'after',
      `
Without dates, the window that ended yesterday is run (as the schedule would).
Examples:
  batcat run 2022-rnd-battery usage-analysis --date 2026-11-22 --wait
  batcat run 2022-rnd-battery usage-analysis --from 2026-11-01 --to 2026-11-30 --backfill
  batcat run 2022-rnd-battery usage-analysis --date 2026-11-22 --force
  batcat run 2022-rnd-battery usage-analysis --date 2026-11-22 --force --param threshold=0.7`,
    )
    .action(async (project: string, purpose: string, opts) => {
      const g = program.opts();
      const ctx = purposeContext(g.root, project, purpose, stageOf(g));
      const { runCommand } = await commands.run();
      code = await runCommand(
        ctx,
        { ...opts, pollSeconds: opts.pollSeconds },
        {
          ...(await clients(g.region)),
          out: line,
          sleep: env.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
        },
      );
    });

  program
    .command('runs')
    .description('List the recent runs of a purpose: status, trigger, window and duration.')
    .argument('<project>', 'the project name (projects/<project>.yaml)')
    .argument('<purpose>', 'the purpose')
    .option('--limit <n>', 'how many runs to show', positiveInt, 20)
    .option('--local', 'list the runs of batcat run-local (runs/<purpose>/) instead of AWS')
    .addHelpText(
      'after',
      `
Example:
  batcat runs 2022-rnd-battery usage-analysis --limit 5
  batcat runs 2022-rnd-battery usage-analysis --local`,
    )
    .action(async (project: string, purpose: string, opts) => {
      const g = program.opts();
      const ctx = purposeContext(g.root, project, purpose, stageOf(g));
      if (opts.local) {
        code = localRunsTable(g.root, ctx.purpose.name, opts.limit, line);
        return;
      }
      const { runsCommand } = await commands.runs();
      code = await runsCommand(ctx, opts.limit, { ...(await clients(g.region)), out: line });
    });

  program
    .command('logs')
    .description(
      "Print a run's processing job logs (every instance, interleaved by time, the instance named) and, if it failed, the run's error and cause.",
    )
    .argument('<project>', 'the project name (projects/<project>.yaml)')
    .argument('<purpose>', 'the purpose')
    .argument('[run-id]', 'the run (its execution name, as batcat runs lists it); default: the newest run')
    .option('--date <YYYY-MM-DD>', 'the newest attempt at the window starting on this day')
    .option('--follow', 'keep printing new lines until the run ends')
    .option('--poll-seconds <n>', 'seconds between polls with --follow', positiveInt, 5)
    .addHelpText(
      'after',
      `
Exit code 1 when the run failed. The logs are in the log group /aws/sagemaker/ProcessingJobs, one stream per instance.
Examples:
  batcat logs 2022-rnd-battery usage-analysis usage-analysis-20261122-a1
  batcat logs 2022-rnd-battery usage-analysis --date 2026-11-22 --follow`,
    )
    .action(async (project: string, purpose: string, runId: string | undefined, opts) => {
      const g = program.opts();
      const ctx = purposeContext(g.root, project, purpose, stageOf(g));
      const dates = (await commands.run()).checkedDates({ date: opts.date });
      const { logsCommand } = await commands.logs();
      code = await logsCommand(
        ctx,
        { runId, date: dates.date, follow: opts.follow === true, pollSeconds: opts.pollSeconds },
        { ...(await clients(g.region)), out: line, sleep: env.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))) },
      );
    });

  program
    .command('redrive')
    .description(
      'Restart a failed run at the step it failed in (Step Functions RedriveExecution): a failed job runs again under a new job name, a failed commit commits again.',
    )
    .argument('<project>', 'the project name (projects/<project>.yaml)')
    .argument('<purpose>', 'the purpose')
    .argument('<run-id>', 'the failed run (its execution name, as batcat runs lists it)')
    .option('--wait', 'follow the redriven run, its job logs included, until it ends; exit 1 if it fails again')
    .option('--poll-seconds <n>', 'seconds between polls with --wait', positiveInt, 15)
    .addHelpText(
      'after',
      `
Only a run that failed in the last ${REDRIVE_PERIOD_DAYS} days can be redriven, and only while it is its window's newest attempt;
a run that succeeded, is running, timed out or was stopped is refused with what to do instead. Nothing runs twice:
steps that succeeded are not run again.
Example:
  batcat redrive 2022-rnd-battery usage-analysis usage-analysis-20261122-a1 --wait`,
    )
    .action(async (project: string, purpose: string, runId: string, opts) => {
      const g = program.opts();
      const ctx = purposeContext(g.root, project, purpose, stageOf(g));
      const { redriveCommand } = await commands.redrive();
      code = await redriveCommand(
        ctx,
        { runId, wait: opts.wait === true, pollSeconds: opts.pollSeconds },
        { ...(await clients(g.region)), out: line, sleep: env.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))) },
      );
    });

  program
    .command('lineage')
    .description(
      "Show where a purpose's result for a day came from: the runs that wrote it, what each read and wrote (object versions, from their run manifests), and upstream through from: inputs and after: triggers.",
    )
    .argument('<project>', 'the project name (projects/<project>.yaml)')
    .argument('<purpose>', 'the purpose')
    .requiredOption('--date <YYYY-MM-DD>', 'a day of the window whose result to trace')
    .addHelpText(
      'after',
      `
Example:
  batcat lineage 2022-rnd-battery fleet-report --date 2026-11-22`,
    )
    .action(async (project: string, purpose: string, opts) => {
      const g = program.opts();
      const ctx = purposeContext(g.root, project, purpose, stageOf(g));
      const { lineageCommand } = await commands.lineage();
      const c = await clients(g.region);
      code = await lineageCommand(ctx.project, ctx.purpose.name, opts.date, { s3: c.s3, cloudformation: c.cloudformation, out: line });
    });

  program
    .command('profile')
    .description(
      "Show the profiles of a purpose's table outputs: rows, and per column nulls, distinct values, min, max, mean, median and a histogram (or the top values). Profiles are made by every run: with DuckDB in batcat run-local, with Athena on AWS.",
    )
    .argument('<project>', 'the project name (projects/<project>.yaml)')
    .argument('<purpose>', 'the purpose')
    .option('--date <YYYY-MM-DD>', 'the newest run whose window holds this day (default: the newest run)')
    .option('--local', "the profiles of batcat run-local's runs (runs/<purpose>/) instead of the runs on AWS (the purpose's bucket)")
    .option(
      '--html <file>',
      'write one self-contained HTML page (charts, null and distinct bars, rules and their state) instead of printing',
    )
    .option('--compare <YYYY-MM-DD>', 'with --html: the run whose window holds this day, side by side')
    .addHelpText(
      'after',
      `
Examples:
  batcat profile 2022-rnd-battery usage-analysis --local --date 2026-11-22
  batcat profile 2022-rnd-battery usage-analysis --local --date 2026-11-22 --html profile.html --compare 2026-11-21`,
    )
    .action(async (project: string, purpose: string, opts) => {
      const g = program.opts();
      const ctx = purposeContext(g.root, project, purpose, stageOf(g));
      const { profileCommand, localProfiles, bucketProfiles } = await import('./profile-command');
      let source;
      if (opts.local) source = localProfiles(g.root, ctx.purpose.name);
      else {
        const { s3Store } = await import('../runtime/s3-store');
        const { dataBucketOf } = await commands.data();
        const c = await clients(g.region);
        const bucket = await dataBucketOf(c.cloudformation, ctx.project, ctx.purpose.outputs[0].prefix);
        source = bucketProfiles(s3Store(c.s3, bucket), bucket, ctx.purpose.name);
      }
      code = await profileCommand(
        ctx.purpose,
        source,
        { date: opts.date, html: opts.html && path.resolve(env.cwd, opts.html), compare: opts.compare },
        line,
      );
    });

  const rules = program
    .command('rules')
    .description('Data rules of a purpose\'s table outputs: what every run\'s profile must show (README, "Profiles, rules and samples")')
    .addHelpText(
      'after',
      `
Example:
  batcat rules suggest 2022-rnd-battery usage-analysis --local`,
    );
  rules
    .command('suggest')
    .description(
      "Suggest rules from the profiles of recent successful runs (expected row count, not-null, unique, value ranges, allowed values, row drift) and write them into the project file under each table output, comments kept. Profiles come from the runs on AWS (the purpose's bucket), or with --local from batcat run-local's.",
    )
    .argument('<project>', 'the project name (projects/<project>.yaml)')
    .argument('<purpose>', 'the purpose')
    .option('--output <name>', 'only this table output (default: every one)')
    .option('--runs <n>', 'learn from the newest n windows', '10')
    .option('--local', 'learn from local runs (runs/<purpose>/) instead of the runs on AWS')
    .option('--print', 'print the rules, do not write them')
    .option('--replace', 'replace rules an output already has (otherwise those are left as they are)')
    .addHelpText(
      'after',
      `
Example:
  batcat rules suggest 2022-rnd-battery usage-analysis --local --runs 14`,
    )
    .action(async (project: string, purpose: string, opts) => {
      const g = program.opts();
      const ctx = purposeContext(g.root, project, purpose, stageOf(g));
      const m = await commands.rules();
      let source;
      if (opts.local) source = m.localProfileSource(g.root);
      else {
        const { s3Store } = await import('../runtime/s3-store');
        const { dataBucketOf } = await commands.data();
        const c = await clients(g.region);
        source = m.storedProfileSource(async (p) => {
          const first = ctx.project.purposes.find((x) => x.name === p)!.outputs[0];
          return s3Store(c.s3, await dataBucketOf(c.cloudformation, ctx.project, first.prefix));
        });
      }
      const file = path.join(g.root, 'projects', `${project}.yaml`);
      code = await m.rulesSuggestCommand(
        file,
        ctx.purpose,
        source,
        { runs: Number(opts.runs), output: opts.output, print: opts.print === true, replace: opts.replace === true },
        line,
      );
    });

  program
    .command('reproduce')
    .description(
      'Re-run a past run on this machine on the exact object versions its run manifest recorded, with its arguments, and compare the outputs with the ones it wrote. The versions are fetched into runs/<purpose>/reproduce-<run id>/data/; the run is recorded in runs/<purpose>/ as a reproduction.',
    )
    .argument('<project>', 'the project name (projects/<project>.yaml)')
    .argument('<run-id>', 'the run, e.g. usage-analysis-20261122-a1 (batcat runs lists them)')
    .option('--local-run', 'reproduce a run of batcat run-local (runs/<purpose>/<run id>/manifest.json) instead of a run on AWS')
    .addOption(
      new Option(
        '--remote',
        "reproduce on AWS: stage the versions in the purpose's bucket, run the deployed state machine on them (no ledger, no commit) and compare its outputs",
      ).conflicts('localRun'),
    )
    .option('--data <dir>', 'with --local-run: the folder the local run read', 'data')
    .addOption(pythonOption())
    .addOption(engineOption())
    .addHelpText(
      'after',
      `
Exit code 0 when every output is byte for byte the recorded one, 1 when the run failed or an output differs,
2 when the run cannot be reproduced (a recorded version expired, the code changed since): the message names why.
Examples:
  batcat reproduce 2022-rnd-battery usage-analysis-20261122-a1
  batcat reproduce 2022-rnd-battery usage-analysis-20261122-a1 --remote
  batcat reproduce 2022-rnd-battery usage-analysis-20261122-a2 --local-run`,
    )
    .action(async (project: string, runId: string, opts) => {
      const g = program.opts();
      const config = projectContext(g.root, project, stageOf(g));
      const r = await commands.reproduce();
      if (opts.remote) {
        const c = await clients(g.region);
        const { reproduceRemote } = await commands.reproduceRemote();
        code = await reproduceRemote({
          project: config,
          found: await r.awsRunManifest(config, runId, c),
          aws: c,
          out: line,
          sleep: env.sleep,
          now: env.now && (() => new Date(env.now!())),
        });
        return;
      }
      let found;
      let fetch;
      if (opts.localRun) {
        found = r.localRunManifest(g.root, config, runId);
        if (!found)
          throw new UsageError(
            `no local run ${runId}: runs/${r.purposeOfRun(config, runId).name}/${runId}/manifest.json does not exist (batcat runs --local lists the local runs)`,
          );
        fetch = r.localFetcher(config, path.resolve(g.root, opts.data));
      } else {
        const c = await clients(g.region);
        found = await r.awsRunManifest(config, runId, c);
        fetch = r.s3Fetcher(c.s3, config.keepVersionsDays);
      }
      code = await r.reproduceRun({ rootDir: g.root, project: config, found, fetch, python: opts.python, engine: opts.engine, out: line });
    });

  /** What the stage commands need: the clients, a yes-or-no (or --yes), and the CDK CLI in the project root. */
  async function stageDeps(root: string, region: string | undefined, yes: boolean) {
    const c = await clients(region);
    const asker = new Asker(env.prompt);
    return {
      cloudformation: c.cloudformation,
      s3: c.s3,
      dynamodb: c.dynamodb,
      out: line,
      confirm: (question: string) => asker.confirm(question, { flag: '--yes', yes }),
      cdk: (args: readonly string[]) => (env.cdk ?? runCdk)(args, root),
    };
  }

  const stage = program
    .command('stage')
    .description(
      "Branch stages: an isolated copy of a project (its own stack, buckets, roles and alarms) that reads its parent stage's data where it has none of its own and never writes it.",
    )
    .addHelpText(
      'after',
      `
Examples:
  batcat stage create 2022-rnd-battery feat1 --from dev
  batcat stage diff 2022-rnd-battery feat1
  batcat stage promote 2022-rnd-battery feat1 --prefix results/usage-analysis/summary/
  batcat stage delete 2022-rnd-battery feat1 [--delete-data]`,
    );
  stage
    .command('create')
    .description(
      "Record <branch> as a branch of --from (the parent's buckets and key, from its deployed stack, in cdk.context.json) and deploy it with cdk deploy.",
    )
    .argument('<project>', 'the project name (projects/<project>.yaml)')
    .argument('<branch>', "the branch stage's name: 1-8 lowercase letters or digits, e.g. feat1")
    .requiredOption('--from <stage>', 'the parent stage, deployed, e.g. dev')
    .option('--no-deploy', 'only record the branch; deploy it later with npx cdk deploy -c batcat:stage=<branch>')
    .addHelpText('after', '\nExample:\n  batcat stage create 2022-rnd-battery feat1 --from dev')
    .action(async (project: string, branch: string, opts) => {
      const g = program.opts();
      const { createStage } = await commands.stage();
      code = await createStage(g.root, project, branch, opts.from, opts.deploy !== false, await stageDeps(g.root, g.region, true));
    });
  stage
    .command('diff')
    .description(
      "List the prefixes (dt= partitions, or whole folders) where the branch's data differs from its parent's: new in the branch, or changed.",
    )
    .argument('<project>', 'the project name (projects/<project>.yaml)')
    .argument('<branch>', 'the branch stage')
    .addHelpText('after', '\nExample:\n  batcat stage diff 2022-rnd-battery feat1')
    .action(async (project: string, branch: string) => {
      const g = program.opts();
      const { diffStage } = await commands.stage();
      code = await diffStage(g.root, project, branch, await stageDeps(g.root, g.region, true));
    });
  stage
    .command('promote')
    .description(
      "Copy result prefixes of the branch to its parent after a confirmation: each chosen parent prefix becomes the branch's (the versions it replaces are kept keepVersions days).",
    )
    .argument('<project>', 'the project name (projects/<project>.yaml)')
    .argument('<branch>', 'the branch stage')
    .option('--prefix <prefix...>', 'only the differing results below these prefixes (default: every result that differs)')
    .option('--yes', 'do not ask for a confirmation')
    .addHelpText(
      'after',
      '\nExample:\n  batcat stage promote 2022-rnd-battery feat1 --prefix results/usage-analysis/summary/dt=2026-11-22/',
    )
    .action(async (project: string, branch: string, opts) => {
      const g = program.opts();
      const { promoteStage } = await commands.stage();
      code = await promoteStage(g.root, project, branch, opts.prefix ?? [], await stageDeps(g.root, g.region, opts.yes === true));
    });
  stage
    .command('delete')
    .description("Destroy a branch's stack (cdk destroy) and forget the branch; its buckets, key and ledger are kept unless --delete-data.")
    .argument('<project>', 'the project name (projects/<project>.yaml)')
    .argument('<branch>', 'the branch stage')
    .option('--delete-data', "also empty and delete the branch's buckets (every version) and its run ledger")
    .option('--yes', 'do not ask for a confirmation')
    .addHelpText('after', '\nExample:\n  batcat stage delete 2022-rnd-battery feat1 --delete-data')
    .action(async (project: string, branch: string, opts) => {
      const g = program.opts();
      const { deleteStage } = await commands.stage();
      code = await deleteStage(g.root, project, branch, opts.deleteData === true, await stageDeps(g.root, g.region, opts.yes === true));
    });

  program
    .command('run-local')
    .description(
      'Run a purpose on this machine through its synthesized state machine, as SageMaker would run its job: the same /opt/ml paths, environment, entrypoint and arguments, with files from data/; the outputs land in data/result/<purpose>/dt=.../. No AWS. Uses docker or podman when one answers, else (Linux) the local python3 in a private mount namespace.',
    )
    .argument('<project>', 'the project name (projects/<project>.yaml)')
    .argument('<purpose>', 'the purpose to run')
    .option('--date <YYYY-MM-DD>', 'run the window starting on this day (default: the window that ended yesterday)')
    .option('--from <YYYY-MM-DD>', 'first day of a longer window (with --to)')
    .option('--to <YYYY-MM-DD>', 'last day, included')
    .option('--data <dir>', 'the folder that stands in for the project bucket', 'data')
    .option(
      '--param <name=value>',
      "a value of one of the purpose's parameters (repeat for more); the others take their defaults",
      collect,
      [],
    )
    .addOption(pythonOption())
    .addOption(engineOption())
    .addHelpText(
      'after',
      `
Inputs are read from the data folder by their S3 key: raw/usage/dt=2026-11-22/ is data/raw/usage/dt=2026-11-22/,
another purpose's output is data/result/<purpose>/dt=.../<output>/, an object of another bucket is data/s3/<bucket>/<key>.
A query step reads the CSV named by query.local. Inputs in Pipe mode cannot run here (no named pipes).
Each run is recorded in runs/<purpose>/<run id>/ (input, job parameters, logs, outputs, status); list them with
batcat runs <project> <purpose> --local.
Examples:
  batcat run-local 2022-rnd-battery usage-analysis --date 2026-11-22
  batcat run-local 2022-rnd-battery usage-analysis --date 2026-11-22 --engine namespace --python .venv/bin/python`,
    )
    .action(async (project: string, purpose: string, opts) => {
      const g = program.opts();
      const ctx = purposeContext(g.root, project, purpose, stageOf(g));
      const { checkedDates, checkedParams } = await commands.run();
      const dates = checkedDates(opts);
      const params = opts.param.length > 0 ? checkedParams(ctx, opts.param) : undefined;
      const dataDir = path.resolve(g.root, opts.data);
      if (!fs.existsSync(dataDir)) throw new UsageError(`data folder ${dataDir} does not exist; create it, or pass --data <dir>`);
      // Loaded here: it builds the stack with aws-cdk-lib, which no other command needs at start-up.
      const { runLocal } = await needsSdk(() => import('../local/local-run'));
      const r = await runLocal({
        rootDir: g.root,
        project: ctx.project,
        purpose: ctx.purpose,
        ...dates,
        params,
        dataDir,
        python: opts.python,
        engine: opts.engine,
        print: line,
      });
      code = r.status === 'SUCCEEDED' ? 0 : 1;
    });

  program
    .command('init')
    .description(
      'Create a data-science project folder: data/, notebook/, report/, doc/, model/, log/, test/, a project file with a first purpose, its container folder, and a package.json for npx cdk synth.',
    )
    .argument('[name]', 'the project name: lowercase letters, digits and hyphens, e.g. 2026-rnd-battery')
    .option('--purpose <name>', 'the first purpose (default: analysis)')
    .option('--description <text>', 'one line about the project')
    .option('--dir <dir>', 'where to create it (default: ./<name>)')
    .option('--force', 'write into a folder that is not empty (files of the same name are replaced)')
    .option(
      '--batcat-version <spec>',
      'the batcat-cdk dependency of package.json: a version range (default: ^this version), or a packed batcat-cdk (.tgz) to copy into vendor/',
    )
    .addHelpText(
      'after',
      `
Example:
  batcat init 2026-rnd-battery --purpose usage-analysis --description 'Battery usage analytics'`,
    )
    .action(async (name: string | undefined, opts) => {
      code = await initCommand(program.opts().root, name, opts, new Asker(env.prompt), line);
    });

  const add = program
    .command('add')
    .description('Add to a project.')
    .addHelpText('after', `\nExample:\n  batcat add purpose 2022-rnd-battery cell-health`);
  add
    .command('purpose')
    .description("Add a purpose to a project file (keeping the file's comments and layout) and create its container folder.")
    .argument('<project>', 'the project name (projects/<project>.yaml)')
    .argument('[purpose]', 'the new purpose: lowercase letters, digits and hyphens')
    .option('--description <text>', 'what the purpose does')
    .option('--instance <type>', 'the SageMaker Processing instance type (default ml.m5.large)')
    .option('--schedule <cron>', "an EventBridge Scheduler cron, e.g. '0 2 * * ? *' (02:00 daily)")
    .option('--timezone <zone>', 'the time zone of the schedule (default UTC)')
    .option('--query <file.sql>', 'read an Athena query result instead of raw files (the file is created if missing)')
    .option('--tables <names>', 'with --query: the Glue tables it reads, comma-separated')
    .addHelpText(
      'after',
      `
Examples:
  batcat add purpose 2022-rnd-battery cell-health --schedule '0 3 * * ? *' --timezone Europe/Berlin
  batcat add purpose 2022-rnd-battery weekly-report --query queries/weekly-report.sql --tables usage_analysis_summary`,
    )
    .action(async (project: string, purpose: string | undefined, opts) => {
      const g = program.opts();
      code = await addPurposeCommand(g.root, project, purpose, opts, new Asker(env.prompt), line);
    });

  program
    .command('doctor')
    .description(
      "Check this machine and the project before a first deploy: Node.js, python3, AWS credentials (without calling AWS), project files, the account's bucket quota and container folders.",
    )
    .option('--stages <n>', 'how many stages of each project deploy to one account', positiveInt, 3)
    .option('--bucket-share <percent>', "the share of the account's bucket quota the projects may need before a warning", percent, 10)
    .option(
      '--external',
      "also print the bucket-policy and key-policy statements other teams must add for the project's inputs in their buckets (with the job roles' ARNs once deployed), and probe those buckets with your credentials",
    )
    .option('--run <run-id>', "instead: compare a Python interpreter with the packages a run's image had (from its run manifest)")
    .option('--project <project>', 'with --run: the project of the run (needed when several projects have a purpose of that name)')
    .option('--python <command>', 'with --run: the interpreter to compare', 'python3')
    .addHelpText(
      'after',
      `
Exit code 0 when nothing blocks a synth or a local run, 2 when something does (each with its fix).
With --run: 0 when the interpreter has the run's packages, 2 when some differ (each named, with the pip command).
The manifest is read from runs/<purpose>/<run id>/ for a local run, else from the purpose's bucket on AWS.
Examples:
  batcat doctor --stages 2
  batcat doctor --external --region eu-west-1
  batcat doctor --run usage-analysis-20261122-a1 --python .venv/bin/python`,
    )
    .action(async (opts) => {
      const g = program.opts();
      if (opts.run !== undefined) {
        code = await doctorRun(g.root, opts.run, opts.project, opts.python, g.region, stageOf(g));
        return;
      }
      code = doctorCommand((env.doctor ?? defaultDoctorEnv)(g.root), line, { stages: opts.stages, bucketShare: opts.bucketShare });
      if (!opts.external) return;
      const { externalReport } = await commands.external();
      const c = await clients(g.region);
      const region = await c.cloudformation.config.region();
      line('');
      line(`Data from elsewhere (account and stack as your credentials see them in ${region}):`);
      await externalReport(loadProjects(g.root, stageOf(g)), { cloudformation: c.cloudformation, s3: c.s3, region }, line);
    });

  program
    .command('query')
    .description(
      "Run a SQL file in the project's Athena workgroup and database, with the window bound to its ? placeholders, and save the result as CSV.",
    )
    .argument('<project>', 'the project name (projects/<project>.yaml)')
    .requiredOption('--sql <file>', 'the query file; each ? is bound in order to the window start and end')
    .option('--date <YYYY-MM-DD>', 'a one-day window')
    .option('--from <YYYY-MM-DD>', 'first day of the window')
    .option('--to <YYYY-MM-DD>', 'last day of the window, included (default: --from)')
    .option('--out <file>', 'write the CSV here (default: standard output)')
    .option('--timeout-minutes <n>', 'stop the query after this long', positiveInt, 30)
    .option('--local [dir]', "run it here with DuckDB over the project's tables in the data folder (default data), instead of Athena")
    .addHelpText(
      'after',
      `
Values are sent to Athena as ExecutionParameters, never pasted into the SQL. Progress goes to standard error.
With --local, the tables are the project's output tables as run-local wrote them, and the SQL runs as DuckDB SQL.
Examples:
  batcat query 2022-rnd-battery --sql queries/fleet-report.sql --from 2026-11-01 --to 2026-11-07 --out data/result/fleet.csv
  batcat query 2022-rnd-battery --sql queries/fleet-report.sql --date 2026-11-22 --local`,
    )
    .action(async (project: string, opts) => {
      const g = program.opts();
      const c = await clients(g.region);
      const { queryCommand } = await commands.query();
      code = await queryCommand(
        projectContext(g.root, project, stageOf(g)),
        g.root,
        { ...opts, local: opts.local === true ? 'data' : opts.local },
        {
          athena: c.athena,
          s3: c.s3,
          write: env.out,
          progress: (s) => env.err(`${s}\n`),
          signal: env.signal,
          sleep: env.sleep ? (ms) => env.sleep!(ms) : undefined,
          now: env.now,
        },
      );
    });

  program
    .command('pull')
    .description(
      "Copy a folder of the project's data (from the bucket that holds it) to a local folder. Unchanged files are skipped; an interrupted pull resumes where it stopped.",
    )
    .argument('<project>', 'the project name (projects/<project>.yaml)')
    .argument('<prefix>', "a folder of the project's data, e.g. results/usage-analysis/summary/")
    .argument('[dir]', 'the local folder (default: data/<prefix>)')
    .option('--force', 'overwrite local files that were changed since they were pulled')
    .option('--bucket <name>', "the bucket (default: the deployed stack's output for the bucket that holds the folder)")
    .option(
      '--sample',
      'the second argument is a purpose: pull the newest sample and profile of each of its table outputs instead of the full data, into data/ where run-local and query --local read them',
    )
    .addHelpText(
      'after',
      `
Examples:
  batcat pull 2022-rnd-battery results/usage-analysis/summary/
  batcat pull 2022-rnd-battery usage-analysis --sample`,
    )
    .action(async (project: string, prefix: string, dir: string | undefined, opts) => {
      const g = program.opts();
      if (opts.sample) {
        if (dir !== undefined)
          throw new UsageError('pull --sample takes no local folder: samples go where run-local reads the outputs (data/result/...)');
        const ctx = purposeContext(g.root, project, prefix, stageOf(g));
        const { dataBucketOf, pullSampleCommand } = await commands.data();
        const c = await clients(g.region);
        const bucket = await dataBucketOf(c.cloudformation, ctx.project, ctx.purpose.outputs[0].prefix, opts.bucket, line);
        code = await pullSampleCommand(g.root, ctx.purpose, bucket, { s3: c.s3, out: line });
        return;
      }
      const config = projectContext(g.root, project, stageOf(g));
      const { dataBucketOf, folderPrefix, pullCommand } = await commands.data();
      const folder = folderPrefix(prefix);
      const c = await clients(g.region);
      const bucket = await dataBucketOf(c.cloudformation, config, folder, opts.bucket, line);
      code = await pullCommand(bucket, folder, path.resolve(g.root, dir ?? path.join('data', folder)), opts.force === true, {
        s3: c.s3,
        out: line,
        signal: env.signal,
      });
    });

  program
    .command('push')
    .description(
      "Copy a local folder to a folder of the project's data (in the bucket that holds it). Unchanged files are skipped; an interrupted push resumes where it stopped.",
    )
    .argument('<project>', 'the project name (projects/<project>.yaml)')
    .argument('<dir>', 'the local folder, e.g. data/raw/usage')
    .argument('<prefix>', "a folder of the project's data, e.g. raw/usage/")
    .option('--bucket <name>', "the bucket (default: the deployed stack's output for the bucket that holds the folder)")
    .addHelpText(
      'after',
      `
Example:
  batcat push 2022-rnd-battery data/raw/usage raw/usage/`,
    )
    .action(async (project: string, dir: string, prefix: string, opts) => {
      const g = program.opts();
      const config = projectContext(g.root, project, stageOf(g));
      const { dataBucketOf, folderPrefix, pushCommand } = await commands.data();
      const folder = folderPrefix(prefix);
      const c = await clients(g.region);
      const bucket = await dataBucketOf(c.cloudformation, config, folder, opts.bucket, line);
      code = await pushCommand(bucket, path.resolve(g.root, dir), folder, { s3: c.s3, out: line, signal: env.signal });
    });

  /** `doctor --run`: the run's manifest (local first, then AWS) against the interpreter. */
  async function doctorRun(
    root: string,
    runId: string,
    projectName: string | undefined,
    python: string,
    region: string | undefined,
    stage: string | undefined,
  ): Promise<number> {
    const projects = projectName ? [projectContext(root, projectName, stage)] : loadProjects(root, stage);
    const owners = projects.filter((p) => p.purposes.some((x) => runId.startsWith(`${x.name}-`)));
    if (owners.length !== 1) {
      throw new UsageError(
        owners.length === 0
          ? `no purpose of ${projectName ? `project '${projectName}'` : 'the projects here'} has a run '${runId}'; a run id is <purpose>-<YYYYMMDD>-a<attempt> (batcat runs lists them)`
          : `run '${runId}' may belong to projects ${owners.map((p) => p.project).join(' and ')}; pass --project`,
      );
    }
    const r = await commands.reproduce();
    const found = r.localRunManifest(root, owners[0], runId) ?? (await r.awsRunManifest(owners[0], runId, await clients(region)));
    return runEnvironmentReport(
      { runId, source: found.source, requirements: found.manifest.requirements },
      python,
      (env.doctor ?? defaultDoctorEnv)(root),
      line,
    );
  }

  try {
    // `batcat` alone asks what it can do: the help, not a usage error.
    if (argv.length === 0) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (
      e instanceof UsageError ||
      e instanceof RunRequestError ||
      e instanceof LocalRunError ||
      (e as Error).name === 'NotReproducibleError'
    ) {
      env.err(`batcat: ${(e as Error).message}\n`);
      return 2;
    }
    if (e instanceof ProjectConfigError) {
      env.err(`batcat: invalid project file ${e.message}\n`);
      return 2;
    }
    if ((e as Error).name === 'Interrupted') {
      env.err('batcat: interrupted; nothing half-written was kept, run the command again to resume\n');
      return 130;
    }
    env.err(`batcat: ${describeAwsError(e as Error)}\n`);
    return 1;
  }
}

function localRunsTable(rootDir: string, purpose: string, limit: number, line: (s: string) => void): number {
  const runs = localRuns(rootDir, purpose).slice(0, limit);
  if (runs.length === 0) {
    line(`no local runs of ${purpose} yet (runs/${purpose}/); start one with batcat run-local`);
    return 0;
  }
  const rows = runs.map((r) => [
    r.runId,
    r.status,
    `${r.window.start}..${r.window.end}`,
    r.startedAt.replace('T', ' ').slice(0, 19),
    r.durationMs !== undefined ? `${(r.durationMs / 1000).toFixed(1)}s` : '-',
    r.status === 'FAILED' ? (r.cause ?? '').slice(0, 80) : '',
  ]);
  const head = ['RUN', 'STATUS', 'WINDOW', 'STARTED (UTC)', 'DURATION', 'REASON'];
  const width = head.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k].length)));
  for (const r of [head, ...rows])
    line(
      r
        .map((c, k) => c.padEnd(width[k]))
        .join('  ')
        .trimEnd(),
    );
  return 0;
}

/** `npx cdk <args>` in `cwd`, its output on this terminal. */
function runCdk(args: readonly string[], cwd: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['cdk', ...args], { cwd, stdio: 'inherit' });
    child.on('error', () => resolve(127));
    child.on('exit', (c) => resolve(c ?? 1));
  });
}

/** Commander's way of taking an option more than once. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** How run-local and reproduce run the job: the container engine, and the Python that stands in for the image's. */
function engineOption(): Option {
  return new Option('--engine <engine>', 'what runs the container (default: docker or podman if one answers, else namespace)').choices([
    'docker',
    'podman',
    'namespace',
  ]);
}

function pythonOption(): Option {
  return new Option('--python <command>', "the Python that stands in for the image's python3 (without docker or podman)").default(
    'python3',
  );
}

/** The stage a command works on: --stage, else BATCAT_STAGE, else (undefined) the project file's. */
function stageOf(global: { stage?: string }): string | undefined {
  return global.stage ?? (process.env.BATCAT_STAGE || undefined);
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

function percent(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 100) throw new InvalidArgumentError('expected a percentage above 0, at most 100');
  return n;
}

/** Why a person is refused the project's data although their IAM policies allow it. */
export const DATA_ACCESS_HINT =
  "A project's data bucket and key let only the stage's own roles and the principals under dataAccess in the project file read and write its data; add your role's ARN there (a '*' may stand for the random part of an AWS SSO role name) and deploy.";

/** AWS errors with the hint a user needs most often. */
function describeAwsError(e: Error): string {
  if (e.name === 'ResourceNotFoundException') return `${e.message}\n  Is the project deployed (cdk deploy) in this account and region?`;
  if (e.name === 'CredentialsProviderError' || /credential/i.test(e.message))
    return `${e.message}\n  Set AWS credentials (AWS_PROFILE, aws sso login, or environment variables).`;
  if (/ENOTFOUND|ECONNREFUSED|ETIMEDOUT/.test(e.message))
    return `${e.message}\n  Cannot reach AWS from this machine; check the network, proxy and region.`;
  if (/region is missing/i.test(e.message)) return `${e.message}\n  Set AWS_REGION or pass --region.`;
  if (e.name === 'AccessDeniedException')
    return `${e.message}\n  Your identity needs lambda:InvokeFunction and lambda:GetFunctionConfiguration on the trigger, and states:ListExecutions and states:DescribeExecution.`;
  if (e instanceof S3AccessDeniedError || (e instanceof AthenaQueryError && /access denied/i.test(e.reason)))
    return `${e.message}\n  ${DATA_ACCESS_HINT}`;
  // Our IO errors already name the object or query and the reason (S3IoError covers its subclasses).
  if (e instanceof S3IoError || e instanceof AthenaQueryError || e instanceof QueryTimeoutError) return e.message;
  return `${e.name}: ${e.message}`;
}
