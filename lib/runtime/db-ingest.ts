import * as fs from 'node:fs';
import * as path from 'node:path';
import * as hyparquetWriter from 'hyparquet-writer';
import { ParquetWriter } from 'hyparquet-writer';
import * as mysql from 'mysql2';
import * as pg from 'pg';
import Cursor from 'pg-cursor';
import {
  DB_DEFAULT_PORTS,
  DB_FETCH_ROWS,
  DB_ROWS_PER_FILE,
  dbSourceStatement,
  type DbColumnKind,
  type DbEngine,
  type DbIngestRequest,
  mysqlColumnKind,
  postgresColumnKind,
} from '../contract/db-source';

/*
 * The ingestion program of a database source purpose: it reads the window's rows of a table or
 * query in one read-only transaction (a consistent snapshot), a batch at a time, and writes them
 * as Parquet files of at most a million rows into the output folder, which SageMaker uploads to
 * the run's attempt folder. Every value is read as the database's text and converted here, so a
 * value is never rounded by a driver: exact decimals stay strings, timestamps keep microseconds.
 */

/** Where and as whom the program connects. */
export interface DbConnection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password?: string;
  readonly database: string;
  /** TLS to the server (RDS requires it by default); the server's certificate is not verified against a CA bundle. */
  readonly ssl: boolean;
}

/** A column as the program writes it. */
export interface DbColumn {
  readonly name: string;
  readonly kind: DbColumnKind;
}

export interface DbIngestResult {
  readonly rows: number;
  readonly files: readonly string[];
  readonly columns: readonly DbColumn[];
}

// Node's entry of the package has it; the types TypeScript resolves here are the browser entry's.
const { fileWriter } = hyparquetWriter as unknown as {
  fileWriter: (file: string) => ConstructorParameters<typeof ParquetWriter>[0]['writer'];
};

/** Rows a batch of column values holds before it is written as a row group. */
const ROW_GROUP_ROWS = 100_000;

/**
 * The connection a Secrets Manager secret describes, in the shape RDS and Secrets Manager's
 * rotation templates write (`host`, `port`, `username`, `password`, `dbname`).
 */
export function secretConnection(engine: DbEngine, secretId: string, text: string): DbConnection {
  let s: Record<string, unknown>;
  try {
    s = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`secret ${secretId} is not JSON; store host, port, username, password and dbname as JSON (the shape RDS writes)`);
  }
  const missing = ['host', 'username', 'password'].filter((k) => typeof s[k] !== 'string' || s[k] === '');
  if (missing.length > 0)
    throw new Error(
      `secret ${secretId} has no ${missing.join(', ')}; store host, port, username, password and dbname (the shape RDS writes)`,
    );
  return {
    host: s.host as string,
    port: Number(s.port ?? DB_DEFAULT_PORTS[engine]),
    user: s.username as string,
    password: s.password as string,
    database: typeof (s.dbname ?? s.database) === 'string' ? ((s.dbname ?? s.database) as string) : engine === 'postgres' ? 'postgres' : '',
    ssl: true,
  };
}

/**
 * The connection a URL names (`postgres://user@host:5432/db`, `mysql://user@host/db`), for
 * run-local; a password left out of the URL comes from PGPASSWORD or MYSQL_PWD, as the
 * databases' own clients take it. TLS only with `?sslmode=require`.
 */
export function urlConnection(engine: DbEngine, url: string, env: NodeJS.ProcessEnv = process.env): DbConnection {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`'${url}' is not a database URL; write e.g. ${engine}://user@127.0.0.1:${DB_DEFAULT_PORTS[engine]}/shop`);
  }
  const scheme = u.protocol.replace(/:$/, '');
  const schemes = engine === 'postgres' ? ['postgres', 'postgresql'] : ['mysql'];
  if (!schemes.includes(scheme))
    throw new Error(`'${url}' is a ${scheme} URL, but the source's engine is ${engine}; write ${schemes[0]}://...`);
  const password = u.password ? decodeURIComponent(u.password) : engine === 'postgres' ? env.PGPASSWORD : env.MYSQL_PWD;
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : DB_DEFAULT_PORTS[engine],
    user: decodeURIComponent(u.username) || (engine === 'postgres' ? (env.PGUSER ?? 'postgres') : 'root'),
    password,
    database: decodeURIComponent(u.pathname.replace(/^\//, '')),
    ssl: u.searchParams.get('sslmode') === 'require',
  };
}

/** A batch of rows, as the database's text (or bytes), with the columns they are in. */
interface Batch {
  readonly columns: readonly DbColumn[];
  readonly rows: ReadonlyArray<readonly unknown[]>;
}

/** `2026-12-05` as days since 1970-01-01. */
function days(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) throw new Error(`'${text}' is not a date the program can write (YYYY-MM-DD)`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 86_400_000;
}

/** `2026-12-05 10:00:00.123456[+01[:30]]` as microseconds since the epoch; without an offset, as UTC. */
function micros(text: string): bigint {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(?:([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?|Z)?$/.exec(text);
  if (!m) throw new Error(`'${text}' is not a timestamp the program can write (YYYY-MM-DD HH:MM:SS[.ffffff][+HH:MM])`);
  const seconds = Date.parse(`${m[1]}T${m[2]}Z`) / 1000;
  const offset = m[4] ? (m[4] === '-' ? -1 : 1) * (Number(m[5]) * 3600 + Number(m[6] ?? 0) * 60 + Number(m[7] ?? 0)) : 0;
  return BigInt(seconds - offset) * 1_000_000n + BigInt((m[3] ?? '').padEnd(6, '0'));
}

/** A value as the column's kind is written; null stays null. */
export function convertValue(kind: DbColumnKind, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  const text = typeof value === 'string' ? value : undefined;
  // Drivers give strings, numbers, bigints, booleans or bytes; anything else as JSON.
  const scalar = text ?? (typeof value === 'object' ? JSON.stringify(value) : `${value as number}`);
  switch (kind) {
    case 'boolean':
      return text !== undefined ? ['t', 'true', '1'].includes(text) : Boolean(Number(value));
    case 'int':
      return Number(value);
    case 'bigint':
      return BigInt(value as string | number);
    case 'double':
      return Number(value);
    case 'date':
      return days(scalar);
    case 'timestamp':
      return micros(scalar);
    case 'binary':
      if (Buffer.isBuffer(value)) return new Uint8Array(value);
      // PostgreSQL's text form of bytea: \x and the bytes in hex.
      return new Uint8Array(Buffer.from(scalar.replace(/^\\x/, ''), 'hex'));
    default:
      return Buffer.isBuffer(value) ? value.toString('utf8') : scalar;
  }
}

const PARQUET_TYPES: Record<DbColumnKind, Record<string, unknown>> = {
  boolean: { type: 'BOOLEAN' },
  int: { type: 'INT32' },
  bigint: { type: 'INT64' },
  double: { type: 'DOUBLE' },
  string: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
  date: { type: 'INT32', converted_type: 'DATE' },
  timestamp: { type: 'INT64', converted_type: 'TIMESTAMP_MICROS' },
  binary: { type: 'BYTE_ARRAY' },
};

/** Parquet files of at most DB_ROWS_PER_FILE rows each in `folder`, `part-00000.parquet` on. */
class ParquetFiles {
  public readonly files: string[] = [];
  private writer?: ParquetWriter;
  private inFile = 0;
  private pending: unknown[][] = [];

  constructor(
    private readonly folder: string,
    private readonly columns: readonly DbColumn[],
  ) {}

  public add(rows: ReadonlyArray<readonly unknown[]>): void {
    for (const row of rows) {
      this.pending.push(row.map((v, i) => convertValue(this.columns[i].kind, v)));
      if (this.pending.length >= ROW_GROUP_ROWS || this.inFile + this.pending.length >= DB_ROWS_PER_FILE) this.flush();
    }
  }

  /** Writes what is pending and closes the last file; a window without rows still gets one file, with the columns and no rows. */
  public finish(): void {
    if (this.pending.length > 0 || this.files.length === 0) this.flush();
    // The file writer flushes synchronously: finish() returns no promise to wait for.
    void this.writer?.finish();
    this.writer = undefined;
  }

  private flush(): void {
    if (!this.writer) {
      const file = path.join(this.folder, `part-${String(this.files.length).padStart(5, '0')}.parquet`);
      this.files.push(file);
      this.writer = new ParquetWriter({
        writer: fileWriter(file),
        schema: [
          { name: 'root', num_children: this.columns.length },
          ...this.columns.map((c) => ({ name: c.name, repetition_type: 'OPTIONAL', ...PARQUET_TYPES[c.kind] })),
        ] as never,
        createdBy: 'batcat db-ingest',
      });
      this.inFile = 0;
    }
    const rows = this.pending;
    this.pending = [];
    if (rows.length > 0) {
      void this.writer.write({
        columnData: this.columns.map((c, i) => ({ name: c.name, data: rows.map((r) => r[i]) as never })),
        rowGroupSize: ROW_GROUP_ROWS,
      });
    }
    this.inFile += rows.length;
    if (this.inFile >= DB_ROWS_PER_FILE) {
      void this.writer.finish();
      this.writer = undefined;
    }
  }
}

/** Reads the statement's rows from PostgreSQL, a batch at a time, in a read-only snapshot of the window's time zone. */
async function* postgresRows(c: DbConnection, sql: string, values: string[], timezone: string): AsyncGenerator<Batch> {
  // Every value as PostgreSQL's text: converted by convertValue, never rounded by a parser.
  const types = { getTypeParser: () => (v: string) => v } as never;
  const client = new pg.Client({
    host: c.host,
    port: c.port,
    user: c.user,
    password: c.password,
    database: c.database,
    ssl: c.ssl ? { rejectUnauthorized: false } : undefined,
    types,
    application_name: 'batcat db-ingest',
  });
  await client.connect();
  try {
    await client.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    // The window's days begin at midnight in its time zone, for timestamptz columns; dates and timestamps compare as written.
    await client.query(`SELECT set_config('TimeZone', $1, true)`, [timezone]);
    const cursor = client.query(new Cursor(sql, values, { rowMode: 'array', types }));
    let columns: DbColumn[] | undefined;
    for (;;) {
      const { rows, fields } = await new Promise<{ rows: unknown[][]; fields: Array<{ name: string; dataTypeID: number }> }>(
        (resolve, reject) =>
          cursor.read(DB_FETCH_ROWS, (err, rows, result) =>
            err ? reject(err) : resolve({ rows: rows as unknown[][], fields: result.fields as [] }),
          ),
      );
      columns ??= fields.map((f) => ({ name: f.name, kind: postgresColumnKind(f.dataTypeID) }));
      yield { columns, rows };
      if (rows.length < DB_FETCH_ROWS) break;
    }
    await new Promise<void>((resolve) => cursor.close(() => resolve()));
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
}

/** Reads the statement's rows from MySQL, streamed, in a read-only consistent snapshot. */
async function* mysqlRows(c: DbConnection, sql: string, values: string[]): AsyncGenerator<Batch> {
  const conn = mysql.createConnection({
    host: c.host,
    port: c.port,
    user: c.user,
    password: c.password,
    database: c.database,
    ssl: c.ssl ? { rejectUnauthorized: false } : undefined,
    // As text: converted by convertValue, never rounded by the driver.
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    jsonStrings: true,
  });
  try {
    await conn.promise().query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    let columns: DbColumn[] = [];
    const query = conn.query({ sql, values, rowsAsArray: true });
    query.on('fields', (fields: Array<{ name: string; columnType: number; columnLength: number; characterSet: number }>) => {
      columns = fields.map((f) => ({
        name: f.name,
        kind: mysqlColumnKind(f.columnType, { length: f.columnLength, characterSet: f.characterSet }),
      }));
    });
    let rows: unknown[][] = [];
    for await (const row of query.stream({ highWaterMark: DB_FETCH_ROWS })) {
      rows.push(row as unknown[]);
      if (rows.length >= DB_FETCH_ROWS) {
        yield { columns, rows };
        rows = [];
      }
    }
    yield { columns, rows };
    await conn.promise().query('COMMIT');
  } finally {
    conn.destroy();
  }
}

/** Copies the window's rows of `request` into Parquet files in its output folder; `log` tells the progress. */
export async function runDbIngest(
  request: DbIngestRequest,
  connection: DbConnection,
  log: (line: string) => void,
): Promise<DbIngestResult> {
  const query = request.queryFile !== undefined ? fs.readFileSync(request.queryFile, 'utf8') : undefined;
  const statement = dbSourceStatement(request.engine, { table: request.table, query, incremental: request.incremental });
  const values = statement.parameters.map((p) => (p === 'start' ? request.start : request.end));
  const what = request.table ?? path.basename(request.queryFile!);
  log(
    `reading ${what} from ${request.engine} ${connection.host}:${connection.port}/${connection.database} as ${connection.user}` +
      (request.incremental !== undefined
        ? `: rows with ${request.start} <= ${request.incremental} < ${request.end} (${request.timezone})`
        : ': every row (a snapshot)'),
  );
  fs.mkdirSync(request.output, { recursive: true });
  const rows =
    request.engine === 'postgres'
      ? postgresRows(connection, statement.sql, values, request.timezone)
      : mysqlRows(connection, statement.sql, values);
  let files: ParquetFiles | undefined;
  let columns: readonly DbColumn[] = [];
  let count = 0;
  let reported = 0;
  for await (const batch of rows) {
    columns = batch.columns;
    files ??= new ParquetFiles(request.output, columns);
    files.add(batch.rows);
    count += batch.rows.length;
    if (count - reported >= 100_000) {
      log(`  ${count.toLocaleString('en-US')} rows so far`);
      reported = count;
    }
  }
  files!.finish();
  log(
    `wrote ${count.toLocaleString('en-US')} row(s) in ${files!.files.length} file(s) to ${request.output}: ` +
      columns.map((c) => `${c.name} ${c.kind}`).join(', '),
  );
  if (count === 0) log('warning: the window has no rows; its folder has one Parquet file with the columns and no rows');
  return { rows: count, files: files!.files, columns };
}
