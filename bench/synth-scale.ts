/*
 * How synth time, memory and template sizes grow with the number of purposes in a project.
 * Purposes have names of the maximum length (30 characters) and two outputs with a table each,
 * the worst case for template size. Each synth runs in its own process (as `cdk synth` would),
 * three times per size; the report gives medians, the time each added purpose costs, the time
 * relative to one purpose, and the largest template (parent or nested) against CloudFormation's
 * 1,000,000 bytes. Up to 150 purposes (the most `per-purpose` storage allows) each purpose has its
 * own bucket; 250 purposes share one (`storage: shared`).
 *
 *   npm run bench
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createBatCatApp } from '../lib/app/batcat-app';
import { CFN_TEMPLATE_LIMITS, templatesOf } from '../lib/app/template-limits';
import { MAX_PURPOSE_NAME_LENGTH } from '../lib/contract/names';
import { MAX_PER_PURPOSE_BUCKETS, type StorageMode } from '../lib/contract/storage';

const SIZES: Array<[number, StorageMode]> = [
  [1, 'per-purpose'],
  [10, 'per-purpose'],
  [50, 'per-purpose'],
  [100, 'per-purpose'],
  [MAX_PER_PURPOSE_BUCKETS, 'per-purpose'],
  [250, 'shared'],
];
const RUNS = 3;

function projectDir(purposes: number, storage: StorageMode): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batcat-bench-'));
  fs.mkdirSync(path.join(dir, 'projects'));
  fs.mkdirSync(path.join(dir, 'containers', 'shared'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'containers', 'shared', 'Dockerfile'), 'FROM public.ecr.aws/docker/library/python:3.12-slim\n');
  const table = '{ columns: { vehicle_id: string, kwh: double, first_seen: string } }';
  const list = Array.from({ length: purposes }, (_, i) =>
    [
      `  - name: ${`purpose-${i}-`.padEnd(MAX_PURPOSE_NAME_LENGTH, 'x')}`,
      '    container: containers/shared',
      `    inputs: [{ name: data, prefix: raw/p${i}/ }]`,
      `    outputs: [{ name: daily-summary, table: ${table} }, { name: vehicle-details, table: ${table} }]`,
    ].join('\n'),
  );
  fs.writeFileSync(path.join(dir, 'projects', 'bench.yaml'), `project: bench\nstorage: ${storage}\npurposes:\n${list.join('\n')}\n`);
  return dir;
}

/** In the child: synthesize and print the elapsed time and peak memory. */
function synthOnce(dir: string): void {
  const context = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')).context;
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'batcat-bench-out-'));
  const start = process.hrtime.bigint();
  createBatCatApp({ rootDir: dir, outdir, context }).app.synth();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const templates = fs
    .readdirSync(outdir)
    .filter((f) => f.endsWith('.template.json') && !f.endsWith('.nested.template.json'))
    .flatMap((f) => templatesOf(path.join(outdir, f)));
  const largest = templates.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const resources = Math.max(...templates.map((t) => t.resources));
  process.stdout.write(JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024, largest, resources }));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function main(): void {
  const rows: Array<{
    purposes: number;
    storage: StorageMode;
    ms: number;
    rss: number;
    largest: { file: string; bytes: number };
    resources: number;
  }> = [];
  for (const [n, storage] of SIZES) {
    const dir = projectDir(n, storage);
    const runs = Array.from({ length: RUNS }, () =>
      JSON.parse(execFileSync(process.execPath, [...process.execArgv, __filename, '--once', dir], { encoding: 'utf8' })),
    );
    rows.push({
      purposes: n,
      storage,
      ms: median(runs.map((r) => r.ms)),
      rss: median(runs.map((r) => r.maxRssMb)),
      largest: runs[0].largest,
      resources: runs[0].resources,
    });
    process.stderr.write(`synthesized ${n} purpose(s) ${RUNS} times\n`);
  }
  const base = rows[0];
  console.log(
    'purposes | storage     | synth median (s) | vs 1 purpose | ms per added purpose | peak RSS median (MB) | largest template (bytes, share of limit) | most resources in a template',
  );
  console.log(
    '-------- | ----------- | ---------------- | ------------ | -------------------- | -------------------- | ---------------------------------------- | ----------------------------',
  );
  for (const r of rows) {
    const perPurpose = r.purposes > base.purposes ? ((r.ms - base.ms) / (r.purposes - base.purposes)).toFixed(0) : '-';
    console.log(
      `${String(r.purposes).padStart(8)} | ${r.storage.padEnd(11)} | ${(r.ms / 1000).toFixed(2).padStart(16)} | ${(r.ms / base.ms).toFixed(2).padStart(11)}x | ${perPurpose.padStart(20)} | ${r.rss.toFixed(0).padStart(20)} | ${`${r.largest.bytes} (${((100 * r.largest.bytes) / CFN_TEMPLATE_LIMITS.maxBytes).toFixed(0)}%)`.padStart(40)} | ${String(r.resources).padStart(28)}`,
    );
  }
}

if (process.argv[2] === '--once') synthOnce(process.argv[3]);
else main();
