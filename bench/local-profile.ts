/*
 * The local profile (lib/local/local-profile.ts): DuckDB over a run's output files, with the
 * rules' extra counts (unique, values), for a table shaped like the example's summary (a string
 * key, a low-cardinality string, five numbers). Reports the median time per million rows and
 * per GB of files, as CSV and as Parquet, for 1 and 4 million rows. Medians of 3 runs.
 *
 *   npm run bench
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { profileTable } from '../lib/local/local-profile';
import { duckdb, type LocalTable } from '../lib/local/local-sql';

const RUNS = 3;
const COLUMNS = [
  { name: 'vin', type: 'string' },
  { name: 'status', type: 'string' },
  { name: 'records', type: 'bigint' },
  { name: 'total_usage', type: 'double' },
  { name: 'mean_usage', type: 'double' },
  { name: 'max_usage', type: 'double' },
  { name: 'cycles', type: 'int' },
];
const RULES = { columns: { vin: { notNull: true, unique: true }, status: { values: ['ok', 'degraded'] }, total_usage: { min: 0 } } };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function bytesBelow(dir: string): number {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .reduce((n, e) => (e.isFile() ? n + fs.statSync(path.join(e.parentPath, e.name)).size : n), 0);
}

async function write(dir: string, rows: number, format: 'csv' | 'parquet'): Promise<void> {
  const { DuckDBInstance } = await duckdb();
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `part-0000.${format}`);
  await c.run(
    `COPY (SELECT 'VIN' || lpad(CAST(i AS VARCHAR), 9, '0') AS vin, CASE WHEN i % 17 = 0 THEN 'degraded' ELSE 'ok' END AS status, ` +
      `1 + i % 50 AS records, (i % 1000) * 1.25 AS total_usage, (i % 97) * 0.5 AS mean_usage, (i % 389) * 0.75 AS max_usage, CAST(i % 2000 AS INTEGER) AS cycles ` +
      `FROM range(${rows}) t(i)) TO '${file}' (FORMAT ${format}${format === 'csv' ? ', HEADER true' : ''})`,
  );
  c.closeSync();
  instance.closeSync();
}

async function main() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'batcat-bench-profile-'));
  console.log(`local profile with DuckDB (7 columns, rules on 3), medians of ${RUNS} runs`);
  try {
    for (const millions of [1, 4]) {
      for (const format of ['csv', 'parquet'] as const) {
        const dir = path.join(root, `${format}-${millions}`, 'dt=2026-11-22', 'summary');
        await write(dir, millions * 1e6, format);
        const bytes = bytesBelow(dir);
        const table: LocalTable = { name: 'summary', folder: dir, files: path.join(dir, '**', `*.${format}`), format, columns: COLUMNS };
        const times: number[] = [];
        for (let k = 0; k < RUNS; k++) {
          const t = process.hrtime.bigint();
          const p = await profileTable(
            table,
            { purpose: 'bench', output: 'summary', runId: 'r', window: { start: '2026-11-22', end: '2026-11-22' } },
            RULES,
          );
          times.push(Number(process.hrtime.bigint() - t) / 1e9);
          if (p.rows !== millions * 1e6) throw new Error(`profiled ${p.rows} rows, wrote ${millions * 1e6}`);
        }
        const s = median(times);
        console.log(
          `  ${format.padEnd(7)} ${String(millions).padStart(2)} M rows ${(bytes / 1e6).toFixed(0).padStart(5)} MB: ${s.toFixed(2).padStart(6)} s, ` +
            `${(s / millions).toFixed(2)} s per million rows, ${(s / (bytes / 1e9)).toFixed(1)} s per GB`,
        );
      }
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

void main();
