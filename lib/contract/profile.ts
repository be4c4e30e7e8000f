/*
 * The profile of a table output for one run (`profile.json`): its row count and, per column, what
 * its values look like. run-local computes it with DuckDB over the run's output files
 * (lib/local/local-profile.ts) and keeps it with the run; on AWS a state of the run computes it
 * with Athena over the window's partition (lib/contract/profile-sql.ts). A change that readers must know about
 * bumps PROFILE_VERSION.
 */

import type { RuleCounts } from './data-rules';
import { partitionDateOf } from './dates';
import { runManifestsPrefix } from './run-manifest';

/** The profile's format. */
export const PROFILE_VERSION = 1;

/** The quantiles a numeric column's profile gives. */
export const PROFILE_QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95] as const;

/** How many equal-width bins a numeric column's histogram has. */
export const PROFILE_HISTOGRAM_BINS = 10;

/** How many of a string column's most frequent values are kept. */
export const PROFILE_TOP_VALUES = 10;

/** One column: every kind has nulls, distinct and (for ordered types) min and max. */
export interface ColumnProfile {
  readonly name: string;
  /** The column's type as the table declares it (Glue's names). */
  readonly type: string;
  readonly nulls: number;
  /** Approximate (HyperLogLog). */
  readonly distinct: number;
  readonly min?: number | string;
  readonly max?: number | string;
  /** Numbers only. */
  readonly mean?: number;
  readonly stddev?: number;
  /** `"p50": 3.7`, for each of PROFILE_QUANTILES (continuous, interpolated). */
  readonly quantiles?: Readonly<Record<string, number>>;
  /** Equal-width bins from min to max; the last includes max. */
  readonly histogram?: ReadonlyArray<{ readonly lower: number; readonly upper: number; readonly count: number }>;
  /** Strings only: the most frequent values, most frequent first. */
  readonly top?: ReadonlyArray<{ readonly value: string; readonly count: number }>;
}

/** `profile.json`. */
export interface TableProfile {
  readonly version: typeof PROFILE_VERSION;
  readonly purpose: string;
  readonly output: string;
  readonly table: string;
  readonly runId: string;
  readonly window: { readonly start: string; readonly end: string };
  /** What computed it: DuckDB in a local run, Athena on AWS. */
  readonly engine: 'duckdb' | 'athena';
  readonly rows: number;
  readonly columns: readonly ColumnProfile[];
  /** What the output's rules need beyond the profile, per column (lib/contract/data-rules.ts). */
  readonly ruleCounts?: Readonly<Record<string, RuleCounts>>;
}

/** Glue types whose profile has numbers: mean, deviation, quantiles, histogram. */
export function isNumericType(type: string): boolean {
  return /^(tinyint|smallint|int|integer|bigint|float|double|decimal\(\d+,\s*\d+\))$/i.test(type.trim());
}

/** Where a run's profile of an output is kept, next to its manifest. */
export function runProfileKey(purpose: string, runId: string, output: string): string {
  return `${runManifestsPrefix(purpose)}${runId}/profiles/${output}.json`;
}

/** The folder of an output's profiles of counted runs, one per window: `dt=<window start>/profile.json`. */
export function profileHistoryPrefix(purpose: string, output: string): string {
  return `_batcat/profiles/${purpose}/${output}/`;
}

/** How many rows of each table output a run keeps as its sample, unless the output's `sample:` says otherwise. */
export const DEFAULT_SAMPLE_ROWS = 1000;

/** The most rows a sample may have: it is read whole into memory to be kept. */
export const MAX_SAMPLE_ROWS = 100_000;

/** The folder of an output's samples of counted runs, one per window: `dt=<window start>/sample.csv`. */
export function sampleHistoryPrefix(purpose: string, output: string): string {
  return `_batcat/samples/${purpose}/${output}/`;
}

/** The file each window of a profile or sample history has. */
const HISTORY_FILES = { profile: 'profile.json', sample: 'sample.csv' } as const;

/** Where a counted run of the window starting on `day` keeps its profile or sample of `output`. */
export function historyKey(kind: keyof typeof HISTORY_FILES, purpose: string, output: string, day: string): string {
  const prefix = kind === 'profile' ? profileHistoryPrefix(purpose, output) : sampleHistoryPrefix(purpose, output);
  return `${prefix}dt=${day}/${HISTORY_FILES[kind]}`;
}

/** The windows among `keys` (a listing of a profile or sample history), newest first. */
export function historyWindows(kind: keyof typeof HISTORY_FILES, keys: readonly string[]): Array<{ key: string; day: string }> {
  return keys
    .map((key) => ({ key, day: partitionDateOf(key) }))
    .filter((w): w is { key: string; day: string } => w.day !== undefined && w.key.endsWith(`dt=${w.day}/${HISTORY_FILES[kind]}`))
    .sort((a, b) => (a.day < b.day ? 1 : -1));
}
