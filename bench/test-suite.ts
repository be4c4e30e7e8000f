/*
 * How long `npm test` takes on this machine: three runs, one after the other, and their
 * median (the machines are shared and noisy, so one run says little). The target is a median
 * of 90 s or less on a 2-core machine.
 *
 *   npm run bench:tests
 */
import { spawnSync } from 'node:child_process';

const RUNS = 3;
const seconds: number[] = [];
for (let i = 1; i <= RUNS; i++) {
  const start = process.hrtime.bigint();
  const r = spawnSync('npm', ['test', '--silent'], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  const summary = /Tests:\s+(.*)/.exec(r.stderr)?.[1] ?? 'no summary';
  if (r.status !== 0) {
    process.stderr.write(r.stderr.slice(-4000));
    throw new Error(`npm test failed in run ${i} (exit ${r.status})`);
  }
  seconds.push(s);
  process.stdout.write(`run ${i}: ${s.toFixed(1)} s (${summary})\n`);
}
const median = [...seconds].sort((a, b) => a - b)[Math.floor(RUNS / 2)];
process.stdout.write(`npm test: median ${median.toFixed(1)} s of ${RUNS} runs (${seconds.map((s) => s.toFixed(1)).join(', ')})\n`);
