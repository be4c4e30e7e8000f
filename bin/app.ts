#!/usr/bin/env node
/*
 * The CDK entry (`cdk synth`, `cdk deploy`). Exit codes as the batcat command's: 0 done, 1 a
 * check failed, 2 the project file is invalid. CDK prints each failed check with its rule,
 * resource and fix; this adds one line on why synth stopped, and a summary when it did not.
 */
import { ProjectConfigError } from '../lib/config/load-project';
import { createBatCatApp } from '../lib/app/batcat-app';
import { checksFailedMessage, synthSummary } from '../lib/app/synth-summary';

let outdir: string | undefined;
try {
  const { app, stacks, checks, warnings } = createBatCatApp({ rootDir: process.cwd() });
  outdir = app.outdir;
  for (const w of warnings) process.stderr.write(`batcat: warning: ${w}\n`);
  const assembly = app.synth();
  process.stderr.write(
    synthSummary(assembly, stacks, checks)
      .map((l) => `batcat: ${l}\n`)
      .join(''),
  );
} catch (e) {
  if (e instanceof ProjectConfigError) {
    process.stderr.write(`batcat: invalid project file ${e.message}\n`);
    process.exit(2);
  }
  if ((e as Error).name !== 'ValidationFailed' || outdir === undefined) throw e;
  process.stderr.write(`batcat: ${checksFailedMessage(outdir)}\n`);
  process.exit(1);
}
