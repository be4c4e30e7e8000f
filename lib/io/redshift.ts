/*
 * Redshift through the Data API, authenticated by a Secrets Manager secret: no host, port or
 * password in code or configuration, and no driver or network path to the cluster.
 */
import {
  CancelStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  type Field,
  type RedshiftDataClient,
  type SqlParameter,
} from '@aws-sdk/client-redshift-data';
import { QueryTimeoutError, RedshiftStatementError } from './errors';
import { pollUntil, type PollOptions } from './wait';

export interface RedshiftQueryOptions extends PollOptions {
  /** The query; parameters are named, `:name`. */
  readonly sql: string;
  /** Values of the `:name` parameters, sent separately from the SQL. @default - none */
  readonly parameters?: Record<string, string | number | boolean>;
  /** The Secrets Manager secret holding the database user's credentials. */
  readonly secretArn: string;
  readonly database: string;
  /** A provisioned cluster; give this or `workgroupName`. */
  readonly clusterIdentifier?: string;
  /** A Redshift Serverless workgroup; give this or `clusterIdentifier`. */
  readonly workgroupName?: string;
}

export type RedshiftValue = string | number | boolean | null;

function value(f: Field): RedshiftValue {
  if (f.isNull) return null;
  if (f.stringValue !== undefined) return f.stringValue;
  if (f.longValue !== undefined) return f.longValue;
  if (f.doubleValue !== undefined) return f.doubleValue;
  if (f.booleanValue !== undefined) return f.booleanValue;
  if (f.blobValue !== undefined) return Buffer.from(f.blobValue).toString('base64');
  return null;
}

/** Runs a statement and waits for it; a failed or aborted statement throws with Redshift's reason. Returns the statement id. */
export async function runRedshiftStatement(
  client: RedshiftDataClient,
  options: RedshiftQueryOptions,
): Promise<{ statementId: string; hasResultSet: boolean; resultRows: number }> {
  if ((options.clusterIdentifier === undefined) === (options.workgroupName === undefined)) {
    throw new Error('a Redshift query needs exactly one of clusterIdentifier (provisioned) or workgroupName (Serverless)');
  }
  const parameters: SqlParameter[] | undefined =
    options.parameters && Object.keys(options.parameters).length > 0
      ? Object.entries(options.parameters).map(([name, v]) => ({ name, value: String(v) }))
      : undefined;
  const started = await client.send(
    new ExecuteStatementCommand({
      Sql: options.sql,
      Parameters: parameters,
      SecretArn: options.secretArn,
      Database: options.database,
      ClusterIdentifier: options.clusterIdentifier,
      WorkgroupName: options.workgroupName,
    }),
    { abortSignal: options.signal },
  );
  const id = started.Id!;
  return pollUntil(
    async () => {
      const s = await client.send(new DescribeStatementCommand({ Id: id }));
      if (s.Status === 'FINISHED') return { statementId: id, hasResultSet: s.HasResultSet === true, resultRows: s.ResultRows ?? 0 };
      if (s.Status === 'FAILED' || s.Status === 'ABORTED') throw new RedshiftStatementError(id, s.Status, s.Error ?? 'no reason given');
      return undefined;
    },
    () => client.send(new CancelStatementCommand({ Id: id })),
    (ms) => new QueryTimeoutError(id, ms),
    options,
  );
}

/** The rows of a finished statement, every page, as objects keyed by column label. */
export async function* readRedshiftRows(
  client: RedshiftDataClient,
  statementId: string,
  signal?: AbortSignal,
): AsyncIterable<Record<string, RedshiftValue>> {
  let token: string | undefined;
  let names: string[] | undefined;
  do {
    if (signal?.aborted) throw signal.reason;
    const page = await client.send(new GetStatementResultCommand({ Id: statementId, NextToken: token }), { abortSignal: signal });
    names ??= (page.ColumnMetadata ?? []).map((c) => c.label ?? c.name ?? '');
    for (const record of page.Records ?? []) {
      const row: Record<string, RedshiftValue> = {};
      record.forEach((f, k) => {
        row[names![k]] = value(f);
      });
      yield row;
    }
    token = page.NextToken;
  } while (token);
}

/** Runs a query through the Data API and streams its rows. */
export async function* queryRedshift(
  client: RedshiftDataClient,
  options: RedshiftQueryOptions,
): AsyncIterable<Record<string, RedshiftValue>> {
  const { statementId, hasResultSet } = await runRedshiftStatement(client, options);
  if (hasResultSet) yield* readRedshiftRows(client, statementId, options.signal);
}
