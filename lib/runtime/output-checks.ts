/*
 * The data check of a run, before its commit: each table output's profile (computed by Athena on
 * AWS, by DuckDB in a local run), kept with the run, checked against the output's rules. The
 * state machine reads only the verdict, so a profile of any size never passes through its payload.
 */
import {
  CHECKS_NOT_RUN_ERROR,
  checkRules,
  violationText,
  type OnViolation,
  type OutputRules,
  type RuleColumn,
  type Violation,
} from '../contract/data-rules';
import { GetQueryResultsCommand, type GetQueryResultsCommandOutput } from '@aws-sdk/client-athena';
import { historyKey, historyWindows, profileHistoryPrefix, runProfileKey, type TableProfile } from '../contract/profile';
import type { ObjectStore } from './commit';

/** The longest reason the verdict carries: the state machine's payload and the ledger's item stay small. */
export const MAX_REASON_LENGTH = 4000;

/** One table output to check. */
export interface CheckedOutput {
  readonly name: string;
  readonly table: string;
  readonly columns: readonly RuleColumn[];
  readonly rules?: OutputRules;
  readonly onViolation: OnViolation;
  /** The Athena query that profiled it (on AWS). */
  readonly queryExecutionId?: string;
  /** The Athena query that drew its sample (on AWS); none when the output keeps no sample. */
  readonly sampleQueryExecutionId?: string;
}

/** The check's request: the run and its table outputs. */
export interface OutputChecksRequest {
  readonly bucket: string;
  readonly purpose: string;
  readonly runId: string;
  readonly window: { readonly start: string; readonly end: string };
  readonly outputs: readonly CheckedOutput[];
  /** Where the workgroup keeps query results: a sample query's is `<prefix><id>.csv` there. */
  readonly queryResults?: { readonly bucket: string; readonly prefix: string };
}

/** The verdict the state machine reads. */
export interface OutputChecksResult {
  /** A rule of an output with `onViolation: fail` was broken. */
  readonly failed: boolean;
  /** A rule of an output with `onViolation: warn` was broken. */
  readonly warned: boolean;
  /** Every broken rule, one per line (empty when none was). */
  readonly reason: string;
  /** Broken rules of outputs with `onViolation: fail`, and of those with `warn`. */
  readonly violations: number;
  readonly warnings: number;
  /** Where each profile was kept. */
  readonly profiles: Readonly<Record<string, string>>;
  /** Where each sample was kept (a run that counts only). */
  readonly samples: Readonly<Record<string, string>>;
}

/** Where profiles come from and go to: Athena and S3 on AWS, DuckDB and the runs folder locally. */
export interface ProfileStore {
  /** The output's profile for this run. */
  profile(output: CheckedOutput): Promise<TableProfile>;
  /** The profile of the newest counted run of a window before `before`. */
  previous(output: CheckedOutput, before: string): Promise<TableProfile | undefined>;
  /** Keeps the profile with the run, and in the output's history when the run counts (`counted`). Returns where. */
  save(output: CheckedOutput, profile: TableProfile, counted: boolean): Promise<string>;
  /** Keeps the run's sample of the output (CSV with a header) in its history, if it drew one. Returns where. */
  keepSample(output: CheckedOutput): Promise<string | undefined>;
}

/** An output with rules whose profile could not be made: the run cannot count. */
export class ChecksNotRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = CHECKS_NOT_RUN_ERROR;
  }
}

/**
 * Profiles and checks each output. An output without rules is profiled to inform: a profile that
 * cannot be made is reported, not fatal. With rules it is fatal (ChecksNotRunError), since a run
 * whose checks did not run must not be reported as successful.
 */
export async function checkOutputs(
  request: OutputChecksRequest,
  store: ProfileStore,
  log: (line: string) => void = () => undefined,
): Promise<OutputChecksResult> {
  const failing: Violation[] = [];
  const warning: Violation[] = [];
  const kept: Record<string, string> = {};
  const samples: Record<string, string> = {};
  for (const output of request.outputs) {
    let profile: TableProfile;
    try {
      profile = await store.profile(output);
    } catch (e) {
      const why = (e as Error).message.split('\n')[0];
      if (output.rules)
        throw new ChecksNotRunError(
          `the profile of output ${output.name} (table ${output.table}) could not be made, so its rules were not checked and run ${request.runId} does not count: ${why}`,
        );
      log(`warning: no profile of ${output.name}: ${why}`);
      continue;
    }
    const previous = output.rules?.drift ? await store.previous(output, request.window.start) : undefined;
    const broken = output.rules ? checkRules(output.rules, profile, previous) : [];
    (output.onViolation === 'fail' ? failing : warning).push(...broken);
    const counted = broken.length === 0 || output.onViolation === 'warn';
    kept[output.name] = await store.save(output, profile, counted);
    if (counted) {
      try {
        const at = await store.keepSample(output);
        if (at !== undefined) samples[output.name] = at;
      } catch (e) {
        // A sample is for working locally: the run counts without one.
        log(`warning: no sample of ${output.name}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    log(`profile of ${output.name}: ${profile.rows} row(s), ${profile.columns.length} column(s), ${broken.length} rule(s) broken`);
  }
  const text = [
    ...(failing.length > 0 ? [violationText(failing, 'fail')] : []),
    ...(warning.length > 0 ? [violationText(warning, 'warn')] : []),
  ].join('\n');
  return {
    failed: failing.length > 0,
    warned: warning.length > 0,
    reason:
      text.length > MAX_REASON_LENGTH ? `${text.slice(0, MAX_REASON_LENGTH - 60)}\n… (cut; every violation is in the run's log)` : text,
    violations: failing.length,
    warnings: warning.length,
    profiles: kept,
    samples,
  };
}

/** Keeping and finding profiles in the purpose's bucket (S3 on AWS, the data folder locally). */
export function storedProfiles(
  store: ObjectStore,
  request: OutputChecksRequest,
  profile: (output: CheckedOutput) => Promise<TableProfile>,
  sample: (output: CheckedOutput) => Promise<string | undefined> = () => Promise.resolve(undefined),
): ProfileStore {
  return {
    profile,
    async keepSample(output) {
      const body = await sample(output);
      if (body === undefined) return undefined;
      const key = historyKey('sample', request.purpose, output.name, request.window.start);
      await store.write(key, body);
      return key;
    },
    async previous(output, before) {
      const listed = (await store.list(profileHistoryPrefix(request.purpose, output.name))).map((o) => o.key);
      const key = historyWindows('profile', listed).find((w) => w.day < before)?.key;
      const body = key === undefined ? undefined : await store.read(key);
      return body === undefined ? undefined : (JSON.parse(body) as TableProfile);
    },
    async save(output, p, counted) {
      const body = JSON.stringify(p, null, 2);
      const key = runProfileKey(request.purpose, request.runId, output.name);
      await store.write(key, body);
      if (counted) await store.write(historyKey('profile', request.purpose, output.name, request.window.start), body);
      return key;
    },
  };
}

/** The one row an output's profile query returned, by column alias (a null missing). */
export async function athenaProfileRow(
  athena: { send(command: GetQueryResultsCommand): Promise<GetQueryResultsCommandOutput> },
  queryExecutionId: string,
): Promise<Record<string, string | undefined>> {
  const r = await athena.send(new GetQueryResultsCommand({ QueryExecutionId: queryExecutionId, MaxResults: 2 }));
  const names = (r.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? '');
  // The first row of a SELECT's results is its header.
  const values = r.ResultSet?.Rows?.[1]?.Data;
  if (!values) throw new Error(`the profile query ${queryExecutionId} returned no row`);
  return Object.fromEntries(names.map((n, k) => [n, values[k]?.VarCharValue]));
}
