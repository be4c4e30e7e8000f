import * as fs from 'node:fs';
import * as path from 'node:path';

/* The records of local runs (runs/<purpose>/<run id>/status.json), apart from the runner so that listing them loads no CDK. */

/** What `runs/<purpose>/<run id>/status.json` holds. */
export interface LocalRunStatus {
  readonly runId: string;
  readonly purpose: string;
  readonly status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  readonly window: { readonly start: string; readonly end: string };
  /** The run this one reproduced (`batcat reproduce`). */
  readonly reproduces?: string;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly durationMs?: number;
  readonly error?: string;
  readonly cause?: string;
}

/** The local runs of a purpose, newest first. */
export function localRuns(rootDir: string, purpose: string): LocalRunStatus[] {
  const dir = path.join(rootDir, 'runs', purpose);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((d) => path.join(dir, d, 'status.json'))
    .filter((f) => fs.existsSync(f))
    .map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as LocalRunStatus)
    .sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1));
}
