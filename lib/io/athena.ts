/*
 * Athena queries with bound parameters: values travel as `ExecutionParameters`, never
 * formatted into the SQL, so a value cannot change the query.
 */
import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type AthenaClient,
  type ColumnInfo,
} from '@aws-sdk/client-athena';
import { AthenaQueryError, QueryTimeoutError } from './errors';
import type { RunWindow } from '../contract/dates';
import { executionParameters, type SqlValue } from './sql';
import { pollUntil, type PollOptions } from './wait';

export interface AthenaQueryOptions extends PollOptions {
  /** The query, with a `?` for each parameter. */
  readonly sql: string;
  /**
   * Binds `?` 1 and 2 to the window's start and end, as `'YYYY-MM-DD'` strings (compare them to
   * a `dt` partition, or wrap them in `DATE(?)`). `parameters` follow.
   *
   * @default - no window
   */
  readonly window?: RunWindow;
  /**
   * Values of the remaining `?`, in order: strings become quoted literals, numbers and booleans
   * stay as they are, dates become `TIMESTAMP '...'`.
   *
   * @default - none
   */
  readonly parameters?: readonly SqlValue[];
  /** @default 'primary' */
  readonly workgroup?: string;
  /**
   * Where Athena writes the result (`s3://bucket/prefix/`). A workgroup that enforces its
   * settings overrides it.
   *
   * @default - the workgroup's
   */
  readonly outputLocation?: string;
  /** @default - the query names its tables with their database */
  readonly database?: string;
  /** @default 'AwsDataCatalog' */
  readonly catalog?: string;
  /** Called at each poll with the query's state and bytes scanned so far. */
  readonly onProgress?: (progress: AthenaQueryProgress) => void;
}

export interface AthenaQueryResult {
  readonly queryExecutionId: string;
  /** The result CSV: `s3://.../<queryExecutionId>.csv`. */
  readonly outputLocation?: string;
  readonly dataScannedBytes: number;
  readonly engineExecutionTimeMs: number;
}

/**
 * Starts a query and waits for it with backoff. A failed or cancelled query throws
 * AthenaQueryError with Athena's reason; a timeout or an abort stops the query.
 */
export async function runAthenaQuery(athena: AthenaClient, options: AthenaQueryOptions): Promise<AthenaQueryResult> {
  const params = executionParameters(options.sql, options.window, options.parameters);
  const started = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: options.sql,
      ExecutionParameters: params,
      WorkGroup: options.workgroup ?? 'primary',
      QueryExecutionContext:
        options.database || options.catalog ? { Database: options.database, Catalog: options.catalog ?? 'AwsDataCatalog' } : undefined,
      ResultConfiguration: options.outputLocation ? { OutputLocation: options.outputLocation } : undefined,
    }),
    { abortSignal: options.signal },
  );
  const id = started.QueryExecutionId!;
  return waitForAthenaQuery(athena, id, options);
}

/** How a running query is doing, reported at each poll. */
export interface AthenaQueryProgress {
  readonly queryExecutionId: string;
  readonly state: string;
  readonly dataScannedBytes: number;
  readonly elapsedMs: number;
}

/** Waits for a query that is already running; see `runAthenaQuery`. */
export async function waitForAthenaQuery(
  athena: AthenaClient,
  queryExecutionId: string,
  options: PollOptions & { readonly onProgress?: (p: AthenaQueryProgress) => void } = {},
): Promise<AthenaQueryResult> {
  return pollUntil(
    async () => {
      const { QueryExecution: q } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: queryExecutionId }));
      const state = q?.Status?.State;
      options.onProgress?.({
        queryExecutionId,
        state: state ?? 'UNKNOWN',
        dataScannedBytes: q?.Statistics?.DataScannedInBytes ?? 0,
        elapsedMs: q?.Statistics?.TotalExecutionTimeInMillis ?? 0,
      });
      if (state === 'SUCCEEDED') {
        return {
          queryExecutionId,
          outputLocation: q?.ResultConfiguration?.OutputLocation,
          dataScannedBytes: q?.Statistics?.DataScannedInBytes ?? 0,
          engineExecutionTimeMs: q?.Statistics?.EngineExecutionTimeInMillis ?? 0,
        };
      }
      if (state === 'FAILED' || state === 'CANCELLED') {
        throw new AthenaQueryError(
          queryExecutionId,
          state,
          q?.Status?.StateChangeReason ?? q?.Status?.AthenaError?.ErrorMessage ?? 'no reason given',
          q?.Status?.AthenaError?.ErrorType?.toString(),
        );
      }
      return undefined;
    },
    () => athena.send(new StopQueryExecutionCommand({ QueryExecutionId: queryExecutionId })),
    (ms) => new QueryTimeoutError(queryExecutionId, ms),
    options,
  );
}

/** A result value: numbers for numeric types, booleans, `null` for NULL, strings for the rest (dates stay `YYYY-MM-DD`). */
export type AthenaValue = string | number | boolean | null;

const NUMERIC = new Set(['tinyint', 'smallint', 'integer', 'int', 'bigint', 'float', 'real', 'double', 'decimal']);

function converter(c: ColumnInfo): (text: string | undefined) => AthenaValue {
  const type = (c.Type ?? 'varchar').toLowerCase();
  if (NUMERIC.has(type)) return (t) => (t === undefined ? null : Number(t));
  if (type === 'boolean') return (t) => (t === undefined ? null : t === 'true');
  return (t) => (t === undefined ? null : t);
}

export interface AthenaRowsOptions {
  /** Rows per request (at most 1000). @default 1000 */
  readonly pageSize?: number;
  readonly signal?: AbortSignal;
}

/** The rows of a finished query, page by page, typed by the result's column types. */
export async function* readAthenaRows(
  athena: AthenaClient,
  queryExecutionId: string,
  options: AthenaRowsOptions = {},
): AsyncIterable<Record<string, AthenaValue>> {
  let token: string | undefined;
  let first = true;
  let columns: Array<{ name: string; convert: (t: string | undefined) => AthenaValue }> = [];
  do {
    if (options.signal?.aborted) throw options.signal.reason;
    const page = await athena.send(
      new GetQueryResultsCommand({ QueryExecutionId: queryExecutionId, NextToken: token, MaxResults: options.pageSize ?? 1000 }),
      { abortSignal: options.signal },
    );
    let rows = page.ResultSet?.Rows ?? [];
    if (first) {
      columns = (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => ({ name: c.Name!, convert: converter(c) }));
      // A SELECT's first row repeats the column names.
      const head = rows[0]?.Data?.map((d) => d.VarCharValue);
      if (head && head.length === columns.length && head.every((v, k) => v === columns[k].name)) rows = rows.slice(1);
      first = false;
    }
    for (const r of rows) {
      const record: Record<string, AthenaValue> = {};
      columns.forEach((c, k) => {
        record[c.name] = c.convert(r.Data?.[k]?.VarCharValue);
      });
      yield record;
    }
    token = page.NextToken;
  } while (token);
}

/** Runs a query and streams its typed rows. */
export async function* queryAthena(athena: AthenaClient, options: AthenaQueryOptions): AsyncIterable<Record<string, AthenaValue>> {
  const result = await runAthenaQuery(athena, options);
  yield* readAthenaRows(athena, result.queryExecutionId, { signal: options.signal });
}
