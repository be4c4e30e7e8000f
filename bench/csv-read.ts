/*
 * readCsvFromBucket on a CSV of at least 500 MB served by s3rver (in its own process), next to
 * a plain download of the same object. Each mode runs in a fresh Node.js process, so its peak
 * memory (VmHWM, the resident high-water mark) is its own. Targets: at least 0.7x the plain
 * download's throughput; peak memory under 150 MB whatever the size.
 *
 *   npm run bench            (BATCAT_BENCH_CSV_MB=1000 for a larger file)
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { saveToBucket } from '../lib/io/s3';
import { startS3Server } from '../test/s3-server';

const ROOT = path.resolve(__dirname, '..');
// The SDK's notice that Node 20 support ends in 2027 would break the table; it is not about speed.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const TARGET_MB = Number(process.env.BATCAT_BENCH_CSV_MB ?? 520);
const RUNS = 3;
const BUCKET = 'batcat-bench';
const KEY = 'raw/usage/dt=2022-01-01/usage.csv';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Vehicle telemetry: 8 columns, one row in ten with a quoted free-text note. */
function writeCsv(file: string, bytes: number): { rows: number; size: number } {
  const fd = fs.openSync(file, 'w');
  let size = 0;
  let rows = 0;
  const header = 'vin,time,usage_kwh,soc,temperature_c,odometer_km,charging,note\n';
  fs.writeSync(fd, header);
  size += header.length;
  while (size < bytes) {
    let chunk = '';
    for (let k = 0; k < 20_000; k++, rows++) {
      const i = rows;
      const note = i % 10 === 0 ? `"stop at depot ${i % 97}, ""fast"" charger"` : '';
      chunk +=
        `WVW${String(i % 5000).padStart(14, '0')},2022-01-01T${String(Math.floor(i / 3600) % 24).padStart(2, '0')}:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z,` +
        `${((i * 7919) % 10000) / 1000},${(i * 31) % 100},${((i * 13) % 400) / 10 - 5},${100000 + (i % 90000)},${i % 3 === 0 ? 'true' : 'false'},${note}\n`;
    }
    fs.writeSync(fd, chunk);
    size += Buffer.byteLength(chunk);
  }
  fs.closeSync(fd);
  return { rows, size };
}

interface Measure {
  seconds: number;
  rows: number;
  bytes: number;
  peakRssMb: number;
}

function measure(mode: string, endpoint: string): Measure {
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'csv-read-worker.ts'), mode, endpoint, BUCKET, KEY], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batcat-bench-csv-'));
  const server = await startS3Server();
  try {
    const file = path.join(dir, 'usage.csv');
    process.stdout.write(`csv read: writing a ${TARGET_MB} MB CSV... `);
    const { rows, size } = writeCsv(file, TARGET_MB * 1e6);
    process.stdout.write(`${(size / 1e6).toFixed(0)} MB, ${rows} rows; uploading to s3rver... `);
    const s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await saveToBucket(s3, { bucket: BUCKET, key: KEY, body: fs.createReadStream(file), gzip: false, partSize: 64 * 1024 * 1024 });
    s3.destroy();
    fs.rmSync(file);
    process.stdout.write('done\n');

    const modes = ['plain-download', 'readCsvFromBucket-objects', 'readCsvFromBucket-raw', 'readCsvBatchesFromBucket-raw'];
    const results: Record<string, Measure[]> = Object.fromEntries(modes.map((m) => [m, []]));
    for (let r = 0; r < RUNS; r++) {
      // Interleaved, so a noisy moment on the machine hits every mode alike.
      for (const m of modes) results[m].push(measure(m, server.endpoint));
    }
    const plain = median(results['plain-download'].map((x) => x.bytes / x.seconds));
    console.log(
      `\n  ${'mode'.padEnd(30)} ${'MB/s (median)'.padStart(14)} ${'x plain'.padStart(8)} ${'peak RSS MB (max)'.padStart(18)}  rows`,
    );
    for (const m of modes) {
      const rate = median(results[m].map((x) => x.bytes / x.seconds));
      const peak = Math.max(...results[m].map((x) => x.peakRssMb));
      console.log(
        `  ${m.padEnd(30)} ${(rate / 1e6).toFixed(0).padStart(14)} ${(rate / plain).toFixed(2).padStart(8)} ${peak.toFixed(0).padStart(18)}  ${results[m][0].rows}`,
      );
    }
    console.log(`  targets: readCsvFromBucket >= 0.70 x plain download; peak RSS < 150 MB (${RUNS} runs per mode, medians)`);
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
