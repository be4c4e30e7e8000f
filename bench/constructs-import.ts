/*
 * What another team's CDK app pays to import the constructs: the modules loaded and the time a
 * fresh Node.js process takes to import the built entry point (dist/, as the package ships
 * it), against aws-cdk-lib's own aws-stepfunctions-tasks. Both import alone, and then with the
 * first use of a class (a SageMaker task each). Goal: import within 2x of
 * aws-stepfunctions-tasks'. Medians of fresh processes; needs `npm run build` first.
 *
 *   npm run bench
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const RUNS = 15;
const ENTRY = path.join(ROOT, 'dist', 'lib', 'index.js');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Median milliseconds and the modules and packages loaded, for `code` in a fresh process. */
function measure(code: string): { ms: number; modules: number; packages: string[] } {
  const script =
    `const t=process.hrtime.bigint();${code};const ms=Number(process.hrtime.bigint()-t)/1e6;` +
    "const keys=Object.keys(require.cache);const pk=new Set(keys.map((k)=>(/node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(k)||[])[1]||'batcat-cdk'));" +
    'console.log(JSON.stringify({ms,modules:keys.length,packages:[...pk].sort()}))';
  const runs = Array.from({ length: RUNS }, () =>
    JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' })),
  );
  return { ...runs[0], ms: median(runs.map((r) => r.ms)) };
}

if (!fs.existsSync(ENTRY)) {
  console.error('bench/constructs-import.ts: dist/ is missing; run npm run build first');
  process.exit(2);
}
const ours = `require(${JSON.stringify(ENTRY)})`;
const tasks = "require('aws-cdk-lib/aws-stepfunctions-tasks')";
const rows: Array<[string, ReturnType<typeof measure>]> = [
  ['aws-cdk-lib/aws-stepfunctions-tasks, import', measure(tasks)],
  ['batcat-cdk (constructs), import', measure(ours)],
  ['aws-cdk-lib/aws-stepfunctions-tasks + SageMakerCreateTrainingJob', measure(`${tasks}.SageMakerCreateTrainingJob`)],
  ['batcat-cdk + SageMakerCreateProcessingJob', measure(`${ours}.SageMakerCreateProcessingJob`)],
  ['batcat-cdk + Purpose', measure(`${ours}.Purpose`)],
];
console.log(`importing the constructs (dist/lib/index.js), medians of ${RUNS} fresh processes`);
for (const [name, r] of rows) {
  console.log(`  ${name.padEnd(66)} ${r.ms.toFixed(1).padStart(6)} ms  ${String(r.modules).padStart(4)} modules  ${r.packages.join(', ')}`);
}
const ratio = rows[1][1].ms / rows[0][1].ms;
const used = rows[3][1].ms / rows[2][1].ms;
console.log(
  `  import: ${ratio.toFixed(1)}x aws-stepfunctions-tasks' (goal within 2x: ${ratio <= 2 ? 'met' : 'missed'}); with a SageMaker task used: ${used.toFixed(1)}x`,
);
const foreign = rows[4][1].packages.filter((p) => !['aws-cdk-lib', 'constructs', 'batcat-cdk'].includes(p));
console.log(`  packages besides aws-cdk-lib and constructs, with Purpose used: ${foreign.length === 0 ? 'none' : foreign.join(', ')}`);
