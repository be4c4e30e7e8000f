/*
 * How synth time and memory grow with the number of purposes in a project.
 * Each synth runs in its own process (as `cdk synth` would), three times per size; the
 * report gives medians, the time each added purpose costs, and the time relative to one purpose.
 *
 *   npm run bench
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createBatCatApp } from '../lib/app/batcat-app';

const SIZES = [1, 10, 50, 100];
const RUNS = 3;

function projectDir(purposes: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batcat-bench-'));
  fs.mkdirSync(path.join(dir, 'projects'));
  fs.mkdirSync(path.join(dir, 'containers', 'shared'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'containers', 'shared', 'Dockerfile'), 'FROM public.ecr.aws/docker/library/python:3.12-slim\n');
  const list = Array.from(
    { length: purposes },
    (_, i) =>
      `  - name: purpose-${i}\n    container: containers/shared\n    inputs: [{ name: data, prefix: raw/p${i}/ }]\n    outputs: [{ name: result }]`,
  );
  fs.writeFileSync(path.join(dir, 'projects', 'bench.yaml'), `project: bench\npurposes:\n${list.join('\n')}\n`);
  return dir;
}

/** In the child: synthesize and print the elapsed time and peak memory. */
function synthOnce(dir: string): void {
  const context = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')).context;
  const start = process.hrtime.bigint();
  createBatCatApp({ rootDir: dir, outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'batcat-bench-out-')), context }).app.synth();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  process.stdout.write(JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function main(): void {
  const rows: Array<{ purposes: number; ms: number; rss: number }> = [];
  for (const n of SIZES) {
    const dir = projectDir(n);
    const runs = Array.from({ length: RUNS }, () =>
      JSON.parse(execFileSync(process.execPath, [...process.execArgv, __filename, '--once', dir], { encoding: 'utf8' })),
    );
    rows.push({ purposes: n, ms: median(runs.map((r) => r.ms)), rss: median(runs.map((r) => r.maxRssMb)) });
    process.stderr.write(`synthesized ${n} purpose(s) ${RUNS} times\n`);
  }
  const base = rows[0];
  console.log('purposes | synth median (s) | vs 1 purpose | ms per added purpose | peak RSS median (MB)');
  console.log('-------- | ---------------- | ------------ | -------------------- | --------------------');
  for (const r of rows) {
    const perPurpose = r.purposes > base.purposes ? ((r.ms - base.ms) / (r.purposes - base.purposes)).toFixed(0) : '-';
    console.log(
      `${String(r.purposes).padStart(8)} | ${(r.ms / 1000).toFixed(2).padStart(16)} | ${(r.ms / base.ms).toFixed(2).padStart(11)}x | ${perPurpose.padStart(20)} | ${r.rss.toFixed(0).padStart(20)}`,
    );
  }
}

if (process.argv[2] === '--once') synthOnce(process.argv[3]);
else main();
