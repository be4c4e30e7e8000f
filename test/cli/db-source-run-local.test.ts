import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createProcessingJobProblems } from '../api-model';
import { tempDir } from '../helpers';
import { batcat } from './cli-process';

/*
 * A database source end to end on this machine: `batcat run-local` copies a window of a table
 * from a real PostgreSQL (.ci/run starts Debian's) into the data folder as Parquet, through the
 * synthesized state machine; then the purpose that runs after it reads that table with its query
 * (DuckDB over the Parquet files) and a SageMaker-style script, unmodified. Without a server the
 * test says so and is skipped.
 */

jest.setTimeout(180_000);

const URL = process.env.BATCAT_TEST_POSTGRES_URL ?? 'postgres://postgres:batcat@127.0.0.1:5432/postgres';
const psql = (sql: string) => spawnSync('psql', [URL, '-v', 'ON_ERROR_STOP=1', '-qc', sql], { encoding: 'utf8' });
const reachable = spawnSync('psql', [URL, '-qtc', 'select 1'], { encoding: 'utf8' }).status === 0;
if (!reachable) console.warn('no PostgreSQL answers: the database source run-local tests are skipped (.ci/run starts one)');
const withPostgres = reachable ? describe : describe.skip;

const parsed = new globalThis.URL(URL);
const schema = `batcat_e2e_${process.pid}`;
/** The project file's URL holds no password: run-local's connection takes it from PGPASSWORD, as psql does. */
const localUrl = `postgres://${parsed.username}@${parsed.host}${parsed.pathname}`;

const project = (local: string) => `project: shop
purposes:
  - name: orders
    description: Copies each day's changed orders
    source:
      engine: postgres
      secret: prod/shop-db
      table: ${schema}.orders
      incremental: updated_at
      local: ${local}
    vpc: { subnetIds: [subnet-0123456789abcdef0], securityGroupIds: [sg-0123456789abcdef0] }
    outputs:
      - name: orders
        table:
          format: parquet
          columns: { id: bigint, customer: string, amount: string, updated_at: timestamp }
  - name: revenue
    framework: sklearn:1.2-1
    script: scripts/revenue.py
    arguments: [--currency, EUR]
    query: { file: queries/revenue.sql, tables: [orders_orders] }
    outputs:
      - name: revenue
        localPath: /opt/ml/processing/revenue
    triggers: { after: orders }
`;

/** Written for SageMaker Processing: argparse, hard-coded /opt/ml/processing paths, the standard library only. */
const REVENUE_PY = `import argparse, csv, glob, os

parser = argparse.ArgumentParser()
parser.add_argument("--currency", required=True)
args = parser.parse_args()
rows = []
for f in sorted(glob.glob("/opt/ml/processing/input/query/*.csv")):
    with open(f) as fh:
        rows.extend(csv.DictReader(fh))
os.makedirs("/opt/ml/processing/revenue", exist_ok=True)
with open("/opt/ml/processing/revenue/revenue.csv", "w") as out:
    out.write("customer,revenue,currency\\n")
    for r in rows:
        out.write(f"{r['customer']},{r['revenue']},{args.currency}\\n")
print(f"revenue of {len(rows)} customer(s)")
`;

withPostgres('a database source in batcat run-local', () => {
  const root = tempDir('batcat-db-source-');
  const env = { PGPASSWORD: decodeURIComponent(parsed.password) };
  beforeAll(() => {
    const setup = psql(`
      DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema};
      CREATE TABLE ${schema}.orders (id bigint PRIMARY KEY, customer text, amount numeric(12,2), updated_at timestamptz);
      INSERT INTO ${schema}.orders VALUES
        (1, 'ann', 10.10, '2026-12-03 12:00:00+00'),
        (2, 'bob', 20.00, '2026-12-04 08:00:00+00'),
        (3, 'ann', 5.25, '2026-12-04 23:59:59+00'),
        (4, 'cy', 7.00, '2026-12-05 00:00:00+00');`);
    expect(setup.status).toBe(0);
    for (const [rel, text] of Object.entries({
      'projects/shop.yaml': project(localUrl),
      'scripts/revenue.py': REVENUE_PY,
      'queries/revenue.sql':
        'SELECT customer, CAST(SUM(CAST(amount AS DECIMAL(12,2))) AS VARCHAR) AS revenue FROM orders_orders WHERE dt = ? AND dt <= ? GROUP BY customer ORDER BY customer\n',
    })) {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), text);
    }
    fs.mkdirSync(path.join(root, 'data'));
  });
  afterAll(() => psql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));

  test("the window's rows land in the data folder as Parquet, and the next purpose reads them", () => {
    const r = batcat(['run-local', 'shop', 'orders', '--date', '2026-12-04'], root, env);
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
    expect(r.out).toContain('engine: the ingestion program in this process, reading postgres://postgres@127.0.0.1:5432/postgres');
    expect(r.out).toContain(
      `reading ${schema}.orders from postgres 127.0.0.1:5432/postgres as postgres: rows with 2026-12-04 <= updated_at < 2026-12-05 (UTC)`,
    );
    expect(r.out).toContain('wrote 2 row(s) in 1 file(s)');
    const result = path.join(root, 'data', 'result', 'orders', 'dt=2026-12-04', 'orders');
    expect(fs.readdirSync(result)).toEqual(['part-00000.parquet']);
    // The run record counts the rows, from the Parquet footers of what the commit wrote.
    expect(r.out).toContain('output file(s) (2 row(s) in Parquet)');
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'runs', 'orders', 'orders-20261204-a1', 'manifest.json'), 'utf8'));
    expect(manifest.outputs[0]).toMatchObject({ name: 'orders', rows: 2, objects: [expect.objectContaining({ rows: 2 })] });

    // What the state machine asked SageMaker for: the ingestion image's program, the window rendered, the secret by its ARN.
    const runDir = path.join(root, 'runs', 'orders', 'orders-20261204-a1');
    const job = JSON.parse(fs.readFileSync(path.join(runDir, 'job.json'), 'utf8')).job;
    expect(job.AppSpecification.ContainerEntrypoint).toEqual(['node', '/opt/batcat/db-ingest.js']);
    expect(job.AppSpecification.ContainerArguments).toEqual([
      '--engine',
      'postgres',
      '--table',
      `${schema}.orders`,
      '--incremental',
      'updated_at',
      '--start',
      '2026-12-04',
      '--end',
      '2026-12-05',
      '--timezone',
      'UTC',
      '--output',
      '/opt/ml/processing/output/orders',
    ]);
    expect(job.Environment.BATCAT_SOURCE_SECRET_ID).toMatch(/:secret:prod\/shop-db$/);
    expect(job.NetworkConfig.EnableNetworkIsolation).toBe(false);
    expect(job.NetworkConfig.VpcConfig).toEqual({ Subnets: ['subnet-0123456789abcdef0'], SecurityGroupIds: ['sg-0123456789abcdef0'] });
    expect(createProcessingJobProblems(job)).toEqual([]);

    const next = batcat(['run-local', 'shop', 'revenue', '--date', '2026-12-04', '--engine', 'namespace'], root, env);
    expect({ code: next.code, err: next.err }).toEqual({ code: 0, err: '' });
    expect(next.out).toContain('revenue of 2 customer(s)');
    expect(fs.readFileSync(path.join(root, 'data', 'result', 'revenue', 'dt=2026-12-04', 'revenue', 'revenue.csv'), 'utf8')).toBe(
      'customer,revenue,currency\nann,5.25,EUR\nbob,20.00,EUR\n',
    );
  });

  test("a database that refuses fails the run with the database's reason, and no result is made", () => {
    const file = path.join(root, 'projects', 'shop.yaml');
    const bad = tempDir('batcat-db-source-bad-');
    fs.cpSync(root, bad, { recursive: true });
    for (const d of ['data', 'runs']) fs.rmSync(path.join(bad, d), { recursive: true, force: true });
    fs.mkdirSync(path.join(bad, 'data'));
    fs.writeFileSync(path.join(bad, 'projects', 'shop.yaml'), fs.readFileSync(file, 'utf8').replace(`${schema}.orders`, `${schema}.nope`));
    const r = batcat(['run-local', 'shop', 'orders', '--date', '2026-12-04'], bad, env);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAILED: States\.TaskFailed: .*db-ingest: relation ".*\.nope" does not exist/);
    expect(fs.existsSync(path.join(bad, 'data', 'result', 'orders', 'dt=2026-12-04'))).toBe(false);
  });

  test('without source.local or BATCAT_SOURCE_URL, run-local says where to give the database, before anything runs', () => {
    const bare = tempDir('batcat-db-source-bare-');
    fs.cpSync(root, bare, { recursive: true });
    fs.rmSync(path.join(bare, 'runs'), { recursive: true, force: true });
    fs.writeFileSync(path.join(bare, 'projects', 'shop.yaml'), project(localUrl).replace(/\n\s+local: .*/, ''));
    const r = batcat(['run-local', 'shop', 'orders', '--date', '2026-12-04'], bare, { BATCAT_SOURCE_URL: '' });
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      "purpose 'orders' reads postgres through the secret prod/shop-db, which run-local does not read: add source.local to the project file",
    );
    expect(fs.existsSync(path.join(bare, 'runs'))).toBe(false);
  });
});
