import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { dbIngestArguments, dbSourceStatement, parseDbIngestArguments } from '../../lib/contract/db-source';
import { bundleDbIngest } from '../../lib/constructs/private/db-ingest-image';
import { convertValue, secretConnection, urlConnection } from '../../lib/runtime/db-ingest';
import { tempDir } from '../helpers';

/*
 * The ingestion program of database sources, as its image runs it: the bundle (the file the
 * Dockerfile copies) run with node against a real PostgreSQL on 127.0.0.1 (.ci/run starts
 * Debian's), its Parquet files read back with DuckDB. Without a server the test says so and is
 * skipped. BATCAT_TEST_POSTGRES_URL names another server.
 */

const URL = process.env.BATCAT_TEST_POSTGRES_URL ?? 'postgres://postgres:batcat@127.0.0.1:5432/postgres';
const psql = (sql: string) => spawnSync('psql', [URL, '-v', 'ON_ERROR_STOP=1', '-qc', sql], { encoding: 'utf8' });
const reachable = spawnSync('psql', [URL, '-qtc', 'select 1'], { encoding: 'utf8' }).status === 0;
if (!reachable)
  console.warn(
    `no PostgreSQL answers at ${URL.replace(/:[^:@/]+@/, ':***@')}: the db-ingest end-to-end tests are skipped (.ci/run starts one)`,
  );
const withPostgres = reachable ? describe : describe.skip;

async function readParquet(glob: string, sql = 'SELECT * FROM t ORDER BY id'): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  await c.run(`CREATE VIEW t AS SELECT * FROM read_parquet('${glob}')`);
  const r = await c.runAndReadAll(sql);
  return r.getRowObjectsJS();
}

withPostgres('db-ingest against PostgreSQL', () => {
  const dir = tempDir('batcat-db-ingest-');
  const program = path.join(dir, 'db-ingest.js');
  const schema = `batcat_test_${process.pid}`;
  beforeAll(() => {
    bundleDbIngest(program);
    const setup = psql(`
      DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema};
      CREATE TABLE ${schema}.orders (id bigint PRIMARY KEY, customer text, amount numeric(12,2), paid boolean,
        day date, updated_at timestamptz, raw bytea, weight double precision, qty int);
      INSERT INTO ${schema}.orders VALUES
        (1, 'ann', 10.10, true, '2026-12-04', '2026-12-04 23:30:00+00', '\\x0102', 1.5, 3),
        (2, 'bob', 99999999.99, false, '2026-12-05', '2026-12-05 00:00:00.000001+00', NULL, NULL, NULL),
        (3, 'cy', NULL, NULL, NULL, '2026-12-05 23:59:59.5+00', NULL, 2.25, 7),
        (4, 'dee', 1, true, '2026-12-06', '2026-12-06 00:00:00+00', NULL, 0, 0);`);
    expect(setup.status).toBe(0);
  });
  afterAll(() => psql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));

  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync('node', [program, ...args], {
      encoding: 'utf8',
      env: { ...process.env, BATCAT_SOURCE_URL: URL, BATCAT_MESSAGE_FILE: path.join(dir, 'message'), ...env },
    });
  const args = (output: string, extra: { table?: string; queryFile?: string; incremental?: string } = {}) =>
    dbIngestArguments({
      engine: 'postgres',
      output,
      table: extra.queryFile ? undefined : `${schema}.orders`,
      ...extra,
    }).map((a) => ({ '{window.start}': '2026-12-05', '{window.endExclusive}': '2026-12-06', '{window.timezone}': 'UTC' })[a] ?? a);

  test("an incremental window: the rows of the window's day, every type exact, one Parquet file", async () => {
    const out = path.join(dir, 'incremental');
    const r = run(args(out, { incremental: 'updated_at' }));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('wrote 2 row(s) in 1 file(s)');
    expect(fs.readdirSync(out)).toEqual(['part-00000.parquet']);
    const rows = await readParquet(`${out}/*.parquet`);
    expect(rows.map((x) => x.id)).toEqual([2n, 3n]);
    expect(rows[0]).toMatchObject({ customer: 'bob', amount: '99999999.99', paid: false, raw: null, weight: null, qty: null });
    const ts = await readParquet(
      `${out}/*.parquet`,
      "SELECT id, strftime(updated_at, '%Y-%m-%d %H:%M:%S.%f') AS u, day::VARCHAR AS d FROM t ORDER BY id",
    );
    expect(ts).toEqual([
      { id: 2n, u: '2026-12-05 00:00:00.000001', d: '2026-12-05' },
      { id: 3n, u: '2026-12-05 23:59:59.500000', d: null },
    ]);
  });

  test("the window's days begin at midnight in its time zone", async () => {
    const out = path.join(dir, 'berlin');
    const r = run(args(out, { incremental: 'updated_at' }).map((a) => (a === 'UTC' ? 'Europe/Berlin' : a)));
    expect(r.status).toBe(0);
    // Berlin's 2026-12-05 is 2026-12-04 23:00 to 2026-12-05 23:00 UTC.
    expect((await readParquet(`${out}/*.parquet`)).map((x) => x.id)).toEqual([1n, 2n]);
  });

  test('a snapshot: every row, types as the table has them', async () => {
    const out = path.join(dir, 'snapshot');
    expect(run(args(out)).status).toBe(0);
    const rows = await readParquet(`${out}/*.parquet`);
    expect(rows.map((x) => x.id)).toEqual([1n, 2n, 3n, 4n]);
    expect(rows[0]).toMatchObject({ paid: true, weight: 1.5, qty: 3 });
    expect([...(rows[0].raw as Uint8Array)]).toEqual([1, 2]);
  });

  test('a query file with :start and :end; an empty window still writes the columns', async () => {
    const sql = path.join(dir, 'q.sql');
    fs.writeFileSync(
      sql,
      `SELECT id, customer, 'x::y' AS lit FROM ${schema}.orders WHERE day >= :start AND day < :end AND customer <> ':start';\n`,
    );
    const out = path.join(dir, 'query');
    expect(run(args(out, { queryFile: sql })).status).toBe(0);
    expect(await readParquet(`${out}/*.parquet`)).toEqual([{ id: 2n, customer: 'bob', lit: 'x::y' }]);
    const empty = path.join(dir, 'empty');
    const r = run(args(empty, { queryFile: sql }).map((a) => (a === '2026-12-05' ? '2020-01-01' : a === '2026-12-06' ? '2020-01-02' : a)));
    expect(r.stdout).toContain('warning: the window has no rows');
    expect(await readParquet(`${empty}/*.parquet`, 'SELECT count(*) AS n FROM t')).toEqual([{ n: 0n }]);
  });

  test("a failure: exit 1 and the reason where SageMaker takes the job's FailureReason from", () => {
    const r = run(args(path.join(dir, 'fail'), { table: `${schema}.nope` }));
    expect(r.status).toBe(1);
    expect(fs.readFileSync(path.join(dir, 'message'), 'utf8')).toMatch(/^db-ingest: relation ".*nope" does not exist/);
  });
});

describe('db-ingest without a database', () => {
  test('statements: a table whole or by its incremental column, a query with named parameters outside quotes', () => {
    expect(dbSourceStatement('postgres', { table: 'public.orders', incremental: 'updated_at' })).toEqual({
      sql: 'SELECT * FROM "public"."orders" WHERE "updated_at" >= $1 AND "updated_at" < $2',
      parameters: ['start', 'end'],
    });
    expect(dbSourceStatement('mysql', { table: 'shop.orders' })).toEqual({ sql: 'SELECT * FROM `shop`.`orders`', parameters: [] });
    expect(dbSourceStatement('mysql', { query: "SELECT a::int, ':end' FROM t WHERE d < :end AND d >= :start;" })).toEqual({
      sql: "SELECT a::int, ':end' FROM t WHERE d < ? AND d >= ?",
      parameters: ['end', 'start'],
    });
  });

  test('arguments round-trip, and a bad one is named', () => {
    const a = dbIngestArguments({ engine: 'mysql', table: 't', output: '/o' });
    expect(
      parseDbIngestArguments(a.map((x) => (x.startsWith('{') ? (x === '{window.timezone}' ? 'UTC' : '2026-01-01') : x))),
    ).toMatchObject({
      engine: 'mysql',
      table: 't',
      timezone: 'UTC',
    });
    expect(() => parseDbIngestArguments([...a.slice(0, -2), '--outptu', '/o'])).toThrow(/unknown argument --outptu/);
  });

  test('connections from a secret (the RDS shape) and from a URL with the password from the environment', () => {
    expect(secretConnection('postgres', 's', '{"host":"db","username":"u","password":"p","dbname":"shop"}')).toEqual({
      host: 'db',
      port: 5432,
      user: 'u',
      password: 'p',
      database: 'shop',
      ssl: true,
    });
    expect(() => secretConnection('mysql', 'prod/shop', '{"host":"db"}')).toThrow(/secret prod\/shop has no username, password/);
    expect(urlConnection('mysql', 'mysql://app@127.0.0.1/shop', { MYSQL_PWD: 'pw' })).toMatchObject({
      port: 3306,
      user: 'app',
      password: 'pw',
    });
    expect(() => urlConnection('postgres', 'mysql://x/y')).toThrow(/is a mysql URL, but the source's engine is postgres/);
  });

  test('values as the database wrote them: MySQL booleans, big numbers, timestamps with offsets', () => {
    expect(convertValue('boolean', 1)).toBe(true);
    expect(convertValue('bigint', '9007199254740993')).toBe(9007199254740993n);
    expect(convertValue('timestamp', '1970-01-01 01:00:00.25+01:00')).toBe(250000n);
    expect(() => convertValue('date', 'infinity')).toThrow(/not a date/);
  });
});
