import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { dbIngestArguments } from '../../lib/contract/db-source';
import { bundleDbIngest } from '../../lib/constructs/private/db-ingest-image';
import { tempDir } from '../helpers';

/*
 * The ingestion program against MySQL's protocol: the bundle run with node against Debian's
 * MariaDB on 127.0.0.1 (.ci/run starts it, user batcat), its Parquet read back with DuckDB.
 * Without a server the test says so and is skipped. BATCAT_TEST_MYSQL_URL names another server.
 */

const URL = process.env.BATCAT_TEST_MYSQL_URL ?? 'mysql://batcat:batcat@127.0.0.1:3306/';
const u = new globalThis.URL(URL);
const client = (sql: string) =>
  spawnSync('mysql', ['-h', u.hostname, '-P', u.port || '3306', '-u', decodeURIComponent(u.username), '-e', sql], {
    encoding: 'utf8',
    env: { ...process.env, MYSQL_PWD: decodeURIComponent(u.password) },
  });
const reachable = spawnSync('mysql', ['--version']).status === 0 && client('SELECT 1').status === 0;
if (!reachable)
  console.warn(`no MySQL answers at ${u.hostname}:${u.port || 3306}: the db-ingest MySQL tests are skipped (.ci/run starts MariaDB)`);
const withMysql = reachable ? describe : describe.skip;

withMysql('db-ingest against MySQL (MariaDB)', () => {
  const dir = tempDir('batcat-db-ingest-mysql-');
  const program = path.join(dir, 'db-ingest.js');
  const database = `batcat_test_${process.pid}`;
  beforeAll(() => {
    bundleDbIngest(program);
    const setup = client(`
      DROP DATABASE IF EXISTS ${database}; CREATE DATABASE ${database};
      CREATE TABLE ${database}.orders (id BIGINT PRIMARY KEY, customer VARCHAR(20), amount DECIMAL(12,2), paid BOOLEAN,
        day DATE, updated_at DATETIME(6), raw BLOB, weight DOUBLE, qty INT, note TEXT);
      INSERT INTO ${database}.orders VALUES
        (1, 'ann', 10.10, TRUE, '2026-12-04', '2026-12-04 23:30:00', x'0102', 1.5, 3, 'a'),
        (2, 'bob', 99999999.99, FALSE, '2026-12-05', '2026-12-05 00:00:00.000001', NULL, NULL, NULL, NULL),
        (3, 'cy', NULL, NULL, NULL, '2026-12-05 23:59:59.5', NULL, 2.25, 7, 'c'),
        (4, 'dee', 1, TRUE, '2026-12-06', '2026-12-06 00:00:00', NULL, 0, 0, 'd');`);
    expect(setup.stderr).toBe('');
  });
  afterAll(() => client(`DROP DATABASE IF EXISTS ${database}`));

  test("an incremental window: the window's rows, every type exact, booleans, decimals as text, blobs as bytes", async () => {
    const out = path.join(dir, 'incremental');
    const args = dbIngestArguments({ engine: 'mysql', table: `${database}.orders`, incremental: 'updated_at', output: out }).map(
      (a) => ({ '{window.start}': '2026-12-05', '{window.endExclusive}': '2026-12-06', '{window.timezone}': 'UTC' })[a] ?? a,
    );
    const r = spawnSync('node', [program, ...args], {
      encoding: 'utf8',
      env: { ...process.env, BATCAT_SOURCE_URL: `mysql://${u.username}@${u.host}/${database}`, MYSQL_PWD: decodeURIComponent(u.password) },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('wrote 2 row(s) in 1 file(s)');
    expect(r.stdout).toContain(
      'id bigint, customer string, amount string, paid boolean, day date, updated_at timestamp, raw binary, weight double, qty int, note string',
    );
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    const rows = (
      await c.runAndReadAll(
        `SELECT id, customer, amount, paid, day::VARCHAR AS day, strftime(updated_at, '%Y-%m-%d %H:%M:%S.%f') AS u, weight, qty, note
         FROM read_parquet('${out}/*.parquet') ORDER BY id`,
      )
    ).getRowObjectsJS();
    expect(rows).toEqual([
      {
        id: 2n,
        customer: 'bob',
        amount: '99999999.99',
        paid: false,
        day: '2026-12-05',
        u: '2026-12-05 00:00:00.000001',
        weight: null,
        qty: null,
        note: null,
      },
      { id: 3n, customer: 'cy', amount: null, paid: null, day: null, u: '2026-12-05 23:59:59.500000', weight: 2.25, qty: 7, note: 'c' },
    ]);
    expect(fs.readdirSync(out)).toEqual(['part-00000.parquet']);
  });
});
