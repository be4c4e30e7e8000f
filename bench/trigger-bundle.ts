/*
 * The trigger Lambda's bundle: its size, and the time a fresh Node.js process takes to load it
 * (the module-load part of a cold start), with the AWS SDK client it uses. The bundle is built
 * with the options RunTrigger gives NodejsFunction: minified, tree-shaken, CommonJS, with the
 * runtime's AWS SDK v3 left external. Targets: under 150 KB, under 100 ms to load.
 *
 *   npm run bench
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildSync } from 'esbuild';

const ROOT = path.resolve(__dirname, '..');
const RUNS = 15;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const outdir = fs.mkdtempSync(path.join(ROOT, 'node_modules', '.batcat-bench-'));
try {
  const outfile = path.join(outdir, 'index.js');
  buildSync({
    entryPoints: [path.join(ROOT, 'lambda', 'trigger', 'index.ts')],
    bundle: true,
    minify: true,
    treeShaking: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    external: ['@aws-sdk/*'],
    outfile,
    logLevel: 'error',
  });
  const bytes = fs.statSync(outfile).size;
  const gz = gzipSync(fs.readFileSync(outfile)).length;

  // Each load is a new process, as in a cold start; the config comes from the environment as in Lambda.
  const env = { ...process.env, BATCAT_RUN_CONFIG: JSON.stringify({ purpose: 'bench' }), AWS_REGION: 'eu-west-1', NODE_NO_WARNINGS: '1' };
  const timed = (before: string, measured: string) => {
    const script = `${before};const t=process.hrtime.bigint();${measured};console.log(Number(process.hrtime.bigint()-t)/1e6)`;
    const times = Array.from({ length: RUNS }, () =>
      Number(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, env, encoding: 'utf8' }).trim()),
    );
    return median(times);
  };
  const requireBundle = `require(${JSON.stringify(outfile)})`;
  const sdk = "require('@aws-sdk/client-sfn')";
  const total = timed('', requireBundle);
  const own = timed(sdk, requireBundle);
  const sdkOnly = timed('', sdk);

  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  console.log(`trigger bundle (lambda/trigger/index.ts), medians of ${RUNS} fresh processes`);
  console.log(
    `  size                     ${kb(bytes)} minified, ${kb(gz)} gzipped   (target < 150 KB: ${bytes < 150 * 1024 ? 'met' : 'missed'})`,
  );
  console.log(`  cold load, with the SDK  ${ms(total)}   (target < 100 ms: ${total < 100 ? 'met' : 'missed'})`);
  console.log(`    the bundle's own code  ${ms(own)}`);
  console.log(`    @aws-sdk/client-sfn    ${ms(sdkOnly)} on its own`);
} finally {
  fs.rmSync(outdir, { recursive: true, force: true });
}
