/*
 * A purpose's Athena query run on this machine with DuckDB (embedded, `@duckdb/node-api`): each
 * table of the project becomes a view over its local files, and the window is bound to the
 * query's `?` placeholders, as Athena's ExecutionParameters bind it. The SQL is run as DuckDB
 * SQL, not translated: what Athena (Trino) has and DuckDB lacks is refused with DuckDB's reason
 * and what to do (UNLOAD, Athena's own functions such as `date_parse` or `from_iso8601_date`,
 * `approx_percentile`, lambda expressions, `TABLESAMPLE BERNOULLI`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProjectConfig, ResultTableConfig } from '../config/load-project';
import { LocalRunError } from './container-spec';

/** A table of the project, as its files lie in the local data folder. */
export interface LocalTable {
  readonly name: string;
  /** The folder its purpose's results are in: `data/result/<purpose>/`. */
  readonly folder: string;
  /** A glob over the data folder. */
  readonly files: string;
  readonly format: 'csv' | 'parquet';
  readonly columns: ReadonlyArray<{ readonly name: string; readonly type: string }>;
}

/** The table of one output, where run-local writes it: `data/result/<purpose>/dt=<dt>/<output>/`, every day with `*`. */
export function outputTable(dataDir: string, purpose: string, output: string, table: ResultTableConfig, dt = '*'): LocalTable {
  const folder = path.join(dataDir, 'result', purpose);
  const ext = table.format === 'parquet' ? 'parquet' : 'csv';
  return {
    name: table.name,
    folder,
    files: path.join(folder, `dt=${dt}`, output, '**', `*.${ext}`),
    format: table.format,
    columns: table.columns,
  };
}

/** What one run attempt wrote to an output, before its commit: `data/result/<purpose>/<output>/_attempts/<attempt>/`. */
export function attemptTable(dataDir: string, purpose: string, output: string, table: ResultTableConfig, attempt: string): LocalTable {
  const folder = path.join(dataDir, 'result', purpose, output, '_attempts', attempt);
  return {
    name: table.name,
    folder,
    files: path.join(folder, '**', `*.${table.format === 'parquet' ? 'parquet' : 'csv'}`),
    format: table.format,
    columns: table.columns,
  };
}

/** The tables of the project's outputs, every day of each. */
export function localTables(project: ProjectConfig, dataDir: string): Map<string, LocalTable> {
  const out = new Map<string, LocalTable>();
  for (const p of project.purposes) {
    for (const o of p.outputs) if (o.table) out.set(o.table.name, outputTable(dataDir, p.name, o.name, o.table));
  }
  return out;
}

/** A name in double quotes, as DuckDB (and Athena) quote identifiers. */
export const quoteId = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** Glue (Hive) column types as DuckDB names them. */
export function duckType(type: string): string {
  const t = type.trim().toLowerCase();
  const simple: Record<string, string> = {
    string: 'VARCHAR',
    varchar: 'VARCHAR',
    char: 'VARCHAR',
    tinyint: 'TINYINT',
    smallint: 'SMALLINT',
    int: 'INTEGER',
    integer: 'INTEGER',
    bigint: 'BIGINT',
    float: 'FLOAT',
    double: 'DOUBLE',
    boolean: 'BOOLEAN',
    date: 'DATE',
    timestamp: 'TIMESTAMP',
  };
  if (simple[t]) return simple[t];
  const decimal = /^decimal\((\d+),\s*(\d+)\)$/.exec(t);
  if (decimal) return `DECIMAL(${decimal[1]},${decimal[2]})`;
  if (/^(var)?char\(\d+\)$/.test(t)) return 'VARCHAR';
  throw new LocalRunError(`column type '${type}' has no local equivalent; give query.local`);
}

const quoteText = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * The view that reads one table's files: CSV with its header and declared columns, or Parquet;
 * `dt` from the folders. As a `TABLE`, the files are read once into DuckDB, for many queries.
 */
export function viewOf(t: LocalTable, kind: 'VIEW' | 'TABLE' = 'VIEW'): string {
  const source =
    t.format === 'parquet'
      ? `read_parquet(${quoteText(t.files)}, hive_partitioning = true, hive_types_autocast = false)`
      : `read_csv(${quoteText(t.files)}, header = true, hive_partitioning = true, hive_types_autocast = false, columns = {${t.columns
          .map((c) => `${quoteText(c.name)}: ${quoteText(duckType(c.type))}`)
          .join(', ')}})`;
  return `CREATE ${kind} ${quoteId(t.name)} AS SELECT * FROM ${source}`;
}

/** What the query needs that is not here, found before it runs. */
function missingTables(tables: readonly string[], known: ReadonlyMap<string, LocalTable>, sqlFile: string): void {
  const unknown = tables.filter((t) => !known.has(t));
  if (unknown.length > 0) {
    throw new LocalRunError(
      `${sqlFile} reads ${unknown.join(', ')}, which ${unknown.length > 1 ? 'are not tables' : 'is not a table'} of this project's outputs, ` +
        'so run-local cannot know where its files are or what its columns are (they are in Glue); give query.local: a CSV that stands in for the result',
    );
  }
}

/** Athena's ExecutionParameters are SQL literals ('2026-11-22'); DuckDB binds the values. */
function valueOf(literal: string): string {
  return /^'.*'$/s.test(literal) ? literal.slice(1, -1).replace(/''/g, "'") : literal;
}

function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export interface LocalQuery {
  readonly sql: string;
  /** The query file, for messages. */
  readonly sqlFile: string;
  /** The tables the project file says it reads; without them, every table of the project that has files here. */
  readonly tables?: readonly string[];
  /** Athena's ExecutionParameters, as the state machine renders them. */
  readonly parameters: readonly string[];
  readonly project: ProjectConfig;
  readonly dataDir: string;
  /** The CSV to write (with a header, as Athena writes its result). */
  readonly out: string;
}

/** Loads DuckDB, which run-local needs only for a query without query.local and for profiles. */
export async function duckdb(): Promise<typeof import('@duckdb/node-api')> {
  try {
    return await import('@duckdb/node-api');
  } catch (e) {
    if ((e as { code?: string }).code !== 'MODULE_NOT_FOUND' && (e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    throw new LocalRunError(
      'run-local runs queries and profiles outputs with DuckDB, which is not installed: npm install @duckdb/node-api (a project made by batcat init lists it)',
    );
  }
}

/** Runs the query over the local tables and writes its result as CSV; returns the rows written. */
export async function runLocalQuery(q: LocalQuery): Promise<{ rows: number; columns: string[] }> {
  const known = localTables(q.project, q.dataDir);
  const tables = q.tables ?? [...known.values()].filter((t) => fs.existsSync(t.folder)).map((t) => t.name);
  missingTables(tables, known, q.sqlFile);
  const { DuckDBInstance } = await duckdb();
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    for (const name of tables) {
      const t = known.get(name)!;
      const dir = t.folder;
      if (!fs.existsSync(dir)) {
        throw new LocalRunError(
          `table ${name} has no files here: ${path.relative(process.cwd(), dir)}/ does not exist; run the purpose that writes it first (batcat run-local), or give query.local`,
        );
      }
      await connection.run(viewOf(t));
    }
    let reader;
    try {
      reader = await connection.runAndReadAll(q.sql, q.parameters.map(valueOf));
    } catch (e) {
      throw new LocalRunError(
        `${q.sqlFile} cannot run here: DuckDB says: ${(e as Error).message.split('\n')[0]}. run-local runs the query as DuckDB SQL without translating it; ` +
          'what only Athena has (UNLOAD, date_parse, from_iso8601_date, approx_percentile, lambdas, TABLESAMPLE BERNOULLI) stops it. Give query.local: a CSV that stands in for the result (e.g. batcat query ... --out)',
      );
    }
    const columns = reader.columnNames();
    const rows = reader.getRowsJson() as unknown[][];
    fs.mkdirSync(path.dirname(q.out), { recursive: true });
    fs.writeFileSync(q.out, [columns.map(csvField).join(','), ...rows.map((r) => r.map(csvField).join(','))].join('\n') + '\n');
    return { rows: rows.length, columns };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
