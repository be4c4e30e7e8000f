/** The Glue Data Catalog: what a table holds and which partitions a window covers. */
import { GetPartitionsCommand, GetTableCommand, GetTablesCommand, type GlueClient, type Table } from '@aws-sdk/client-glue';
import { addDays, windowProblem, type RunWindow } from '../contract/dates';
import { GlueTableNotFoundError } from './errors';

export interface GlueColumn {
  readonly name: string;
  readonly type: string;
  readonly comment?: string;
}

export interface GlueTableDescription {
  readonly database: string;
  readonly name: string;
  readonly columns: GlueColumn[];
  readonly partitionKeys: GlueColumn[];
  /** `s3://...`, or undefined for views. */
  readonly location?: string;
  readonly format: 'csv' | 'parquet' | 'json' | 'other';
  /** True when Athena computes partitions (partition projection) instead of reading them from Glue. */
  readonly projected: boolean;
  readonly parameters: Record<string, string>;
}

export interface GluePartition {
  readonly values: string[];
  readonly location?: string;
}

function isNotFound(err: unknown): boolean {
  return (err as { name?: string }).name === 'EntityNotFoundException';
}

function describe(database: string, t: Table): GlueTableDescription {
  const sd = t.StorageDescriptor;
  const serde = `${sd?.SerdeInfo?.SerializationLibrary ?? ''} ${sd?.InputFormat ?? ''}`.toLowerCase();
  const format = serde.includes('parquet')
    ? 'parquet'
    : serde.includes('csv') || serde.includes('lazysimple')
      ? 'csv'
      : serde.includes('json')
        ? 'json'
        : 'other';
  const column = (c: { Name?: string; Type?: string; Comment?: string }): GlueColumn => ({
    name: c.Name!,
    type: c.Type ?? 'string',
    comment: c.Comment,
  });
  return {
    database,
    name: t.Name!,
    columns: (sd?.Columns ?? []).map(column),
    partitionKeys: (t.PartitionKeys ?? []).map(column),
    location: sd?.Location,
    format,
    projected: t.Parameters?.['projection.enabled'] === 'true',
    parameters: t.Parameters ?? {},
  };
}

/** The table's columns, types, partition keys and location. @throws GlueTableNotFoundError */
export async function describeTable(glue: GlueClient, database: string, table: string): Promise<GlueTableDescription> {
  try {
    const { Table: t } = await glue.send(new GetTableCommand({ DatabaseName: database, Name: table }));
    return describe(database, t!);
  } catch (err) {
    if (isNotFound(err)) throw new GlueTableNotFoundError(database, [table], await tableNames(glue, database).catch(() => undefined));
    throw err;
  }
}

/** Checks that every table exists, naming all that are missing in one error. @throws GlueTableNotFoundError */
export async function requireTables(glue: GlueClient, database: string, tables: readonly string[]): Promise<GlueTableDescription[]> {
  const found: GlueTableDescription[] = [];
  const missing: string[] = [];
  for (const t of tables) {
    try {
      found.push(await describeTable(glue, database, t));
    } catch (err) {
      if (!(err instanceof GlueTableNotFoundError)) throw err;
      missing.push(t);
    }
  }
  if (missing.length > 0) throw new GlueTableNotFoundError(database, missing, await tableNames(glue, database).catch(() => undefined));
  return found;
}

/** The names of the tables in a database, every page. */
export async function tableNames(glue: GlueClient, database: string): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await glue.send(new GetTablesCommand({ DatabaseName: database, NextToken: token }));
    names.push(...(page.TableList ?? []).map((t) => t.Name!));
    token = page.NextToken;
  } while (token);
  return names.sort();
}

/**
 * The `dt` partitions of a table that fall in the window. For a table with partition
 * projection they are computed from its template (Glue stores none); otherwise they are read
 * from Glue, every page.
 */
export async function listPartitions(
  glue: GlueClient,
  database: string,
  table: string,
  window: RunWindow,
  partitionKey = 'dt',
): Promise<GluePartition[]> {
  const problem = windowProblem(window);
  if (problem) throw new Error(problem);
  if (!/^[a-z_][a-z0-9_]*$/.test(partitionKey)) throw new Error(`partition key '${partitionKey}' is not a valid column name`);
  const t = await describeTable(glue, database, table);
  if (!t.partitionKeys.some((k) => k.name === partitionKey)) {
    throw new Error(
      `table ${database}.${table} is not partitioned by '${partitionKey}'; its partition keys: ${t.partitionKeys.map((k) => k.name).join(', ') || 'none'}`,
    );
  }
  if (t.projected) {
    const template =
      t.parameters['storage.location.template'] ??
      `${t.location ?? ''}${t.location?.endsWith('/') ? '' : '/'}${partitionKey}=\${${partitionKey}}/`;
    const out: GluePartition[] = [];
    for (let d = window.start; d <= window.end; d = addDays(d, 1)) {
      out.push({ values: [d], location: template.replace(`\${${partitionKey}}`, d) });
    }
    return out;
  }
  const out: GluePartition[] = [];
  let token: string | undefined;
  do {
    // The dates are checked above, so the expression holds only our own literals.
    const page = await glue.send(
      new GetPartitionsCommand({
        DatabaseName: database,
        TableName: table,
        Expression: `${partitionKey} >= '${window.start}' AND ${partitionKey} <= '${window.end}'`,
        NextToken: token,
      }),
    );
    out.push(...(page.Partitions ?? []).map((p) => ({ values: p.Values ?? [], location: p.StorageDescriptor?.Location })));
    token = page.NextToken;
  } while (token);
  return out.sort((a, b) => (a.values.join('/') < b.values.join('/') ? -1 : 1));
}
