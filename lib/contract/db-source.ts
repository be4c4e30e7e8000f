/*
 * A database source purpose: what the project file, the construct, the ingestion program in its
 * image and run-local agree on. The program copies a table or query of PostgreSQL or MySQL into
 * the purpose's output folder as Parquet, one window at a time: the rows whose incremental column
 * falls in the window, or everything (a snapshot of that window's day).
 */

/** The databases a source purpose reads, with the port their secrets default to. */
export const DB_ENGINES = ['postgres', 'mysql'] as const;
export type DbEngine = (typeof DB_ENGINES)[number];
export const DB_DEFAULT_PORTS: Readonly<Record<DbEngine, number>> = { postgres: 5432, mysql: 3306 };

/** Where the program lies in its image, and how it is started. */
export const DB_INGEST_PROGRAM = '/opt/batcat/db-ingest.js';
export const DB_INGEST_ENTRYPOINT = ['node', DB_INGEST_PROGRAM] as const;

/** Rows a file holds at most: a file is written (and its memory freed) when it has this many. */
export const DB_ROWS_PER_FILE = 1_000_000;
/** Rows fetched from the database at a time. */
export const DB_FETCH_ROWS = 10_000;

/** `schema.table` or `table`: letters, digits, '_' and '$', each part starting with a letter or '_'. */
export const DB_TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;
/** A column the program names in SQL. */
export const DB_COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/** What the program is asked to copy, as the purpose's arguments carry it. */
export interface DbIngestRequest {
  readonly engine: DbEngine;
  /** The table, or the query file (SQL with `:start` and `:end`) the program reads. */
  readonly table?: string;
  readonly queryFile?: string;
  /** The column whose value places a row in a window (`start <= column < end`); absent: everything. */
  readonly incremental?: string;
  /** The window, as `YYYY-MM-DD` (end exclusive), of days in `timezone` (an IANA name). */
  readonly start: string;
  readonly end: string;
  readonly timezone: string;
  /** The folder the Parquet files go to. */
  readonly output: string;
}

/**
 * The variable that holds the ARN of the secret the program connects with (host, port, username,
 * password and dbname): an ARN is a deploy-time value, which an argument's placeholders cannot hold.
 */
export const DB_SECRET_ENV = 'BATCAT_SOURCE_SECRET_ID';
/** Run-local's stand-in for the secret: the database's URL. */
export const DB_URL_ENV = 'BATCAT_SOURCE_URL';

/** The container arguments for `request`; the window's placeholders are rendered per run. */
export function dbIngestArguments(r: Omit<DbIngestRequest, 'start' | 'end' | 'timezone'>): string[] {
  return [
    '--engine',
    r.engine,
    ...(r.table !== undefined ? ['--table', r.table] : []),
    ...(r.queryFile !== undefined ? ['--query-file', r.queryFile] : []),
    ...(r.incremental !== undefined ? ['--incremental', r.incremental] : []),
    '--start',
    '{window.start}',
    '--end',
    '{window.endExclusive}',
    '--timezone',
    '{window.timezone}',
    '--output',
    r.output,
  ];
}

/** The request the arguments carry; an error names what is missing or unknown. */
export function parseDbIngestArguments(argv: readonly string[]): DbIngestRequest {
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (!flag.startsWith('--') || value === undefined) throw new Error(`unexpected argument '${flag}': give --<name> <value> pairs`);
    flags[flag.slice(2)] = value;
  }
  const known = ['engine', 'table', 'query-file', 'incremental', 'start', 'end', 'timezone', 'output'];
  const unknown = Object.keys(flags).filter((f) => !known.includes(f));
  if (unknown.length > 0) throw new Error(`unknown argument --${unknown[0]}; known: ${known.map((k) => `--${k}`).join(', ')}`);
  for (const f of ['engine', 'start', 'end', 'timezone', 'output']) if (!flags[f]) throw new Error(`--${f} is missing`);
  if (!(DB_ENGINES as readonly string[]).includes(flags.engine))
    throw new Error(`--engine '${flags.engine}' is not one of ${DB_ENGINES.join(', ')}`);
  if ((flags.table === undefined) === (flags['query-file'] === undefined)) throw new Error('give exactly one of --table and --query-file');
  for (const d of ['start', 'end'])
    if (!/^\d{4}-\d{2}-\d{2}$/.test(flags[d])) throw new Error(`--${d} '${flags[d]}' is not a date (YYYY-MM-DD)`);
  return {
    engine: flags.engine as DbEngine,
    table: flags.table,
    queryFile: flags['query-file'],
    incremental: flags.incremental,
    start: flags.start,
    end: flags.end,
    timezone: flags.timezone,
    output: flags.output,
  };
}

/** `name` quoted as `engine` quotes identifiers, each part of `schema.table` on its own. */
export function quoteDbName(engine: DbEngine, name: string): string {
  const q = engine === 'postgres' ? '"' : '`';
  return name
    .split('.')
    .map((part) => `${q}${part.split(q).join(q + q)}${q}`)
    .join('.');
}

/**
 * The statement that reads the window, with positional parameters as the driver takes them
 * (`$1` for pg, `?` for mysql2) and what each binds. A query file names them `:start` and
 * `:end`; a table is read whole, or the window's rows by its incremental column.
 */
export function dbSourceStatement(
  engine: DbEngine,
  source: { readonly table?: string; readonly query?: string; readonly incremental?: string },
): { readonly sql: string; readonly parameters: ReadonlyArray<'start' | 'end'> } {
  const parameters: Array<'start' | 'end'> = [];
  const bind = (name: 'start' | 'end') => {
    parameters.push(name);
    return engine === 'postgres' ? `$${parameters.length}` : '?';
  };
  if (source.query !== undefined) {
    // Named parameters outside quotes only; '::' is PostgreSQL's cast.
    const sql = source.query.replace(/('(?:[^']|'')*'|"(?:[^"]|"")*"|::)|:(start|end)\b/g, (m, quoted, name) =>
      quoted !== undefined ? m : bind(name as 'start' | 'end'),
    );
    return { sql: sql.trim().replace(/;\s*$/, ''), parameters };
  }
  const from = `SELECT * FROM ${quoteDbName(engine, source.table!)}`;
  if (source.incremental === undefined) return { sql: from, parameters };
  const c = quoteDbName(engine, source.incremental);
  return { sql: `${from} WHERE ${c} >= ${bind('start')} AND ${c} < ${bind('end')}`, parameters };
}

/** The kinds of column the program writes, each as Parquet stores it and Athena reads it. */
export type DbColumnKind = 'boolean' | 'int' | 'bigint' | 'double' | 'string' | 'date' | 'timestamp' | 'binary';

/**
 * A PostgreSQL type (its OID, as the wire protocol reports it) as a column kind. Exact decimals
 * (numeric) stay strings: a double would change them without a word.
 */
export function postgresColumnKind(oid: number): DbColumnKind {
  const kinds: Record<number, DbColumnKind> = {
    16: 'boolean',
    20: 'bigint',
    21: 'int',
    23: 'int',
    26: 'bigint',
    700: 'double',
    701: 'double',
    1082: 'date',
    1114: 'timestamp',
    1184: 'timestamp',
    17: 'binary',
  };
  return kinds[oid] ?? 'string';
}

/**
 * A MySQL column type (mysql2's `columnType`, the protocol's type code) as a column kind; the
 * blob codes hold TEXT too, which only its binary character set (63) tells apart.
 */
export function mysqlColumnKind(type: number, field: { readonly length?: number; readonly characterSet?: number } = {}): DbColumnKind {
  if (type === 1 && field.length === 1) return 'boolean'; // tinyint(1), MySQL's BOOLEAN
  if (type >= 249 && type <= 252) return field.characterSet === 63 ? 'binary' : 'string';
  const kinds: Record<number, DbColumnKind> = {
    1: 'int',
    2: 'int',
    3: 'int',
    9: 'int',
    8: 'bigint',
    13: 'int',
    4: 'double',
    5: 'double',
    10: 'date',
    7: 'timestamp',
    12: 'timestamp',
  };
  return kinds[type] ?? 'string';
}
