/*
 * The run manifest's limit (100,000 input objects, lib/contract/run-manifest.ts) measured:
 *
 * 1. Against moto's S3 (versioned, ListObjectVersions in pages of 1,000, as S3 pages): the time
 *    RecordRunInputs and RecordRunOutputs take per 1,000 objects on this machine, median of runs.
 * 2. The function's own work at the limit, with the listing answered from memory in pages of
 *    1,000: time, the process's memory (against the function's 1,024 MB) and the size of
 *    inputs.json and manifest.json.
 *
 * S3's own latency per page is not in either; at the limit the step makes 100 list calls.
 *
 *   npm run bench   (or: npx tsx bench/run-manifest.ts)
 */
import { CreateBucketCommand, PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { MAX_RUN_MANIFEST_INPUT_OBJECTS, type ManifestObject, type ManifestRun } from '../lib/contract/run-manifest';
import type { ObjectStore } from '../lib/runtime/commit';
import { recordRunInputs, recordRunOutputs, type VersionLister } from '../lib/runtime/run-manifest';
import { s3Store, s3VersionLister } from '../lib/runtime/s3-store';
import { motoUnavailable, startMotoServer } from '../test/moto-server';

const RUNS = 5;
const MOTO_OBJECTS = 5_000;
const DAYS = ['2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20', '2026-11-21', '2026-11-22'];

const run = (runId: string): ManifestRun => ({
  purpose: 'weekly',
  runId,
  execution: `arn:aws:states:eu-west-1:123456789012:execution:batcat-demo-dev-weekly:${runId}`,
  window: { start: DAYS[0], end: DAYS[6], endExclusive: '2026-11-23' },
  timezone: 'UTC',
  attempt: 1,
  trigger: { kind: 'manual' },
  jobName: 'weekly-abc123-0123456789abcdef0123456789abcdef',
  image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/cdk-hnb659fds-container-assets-123456789012-eu-west-1:0f1e2d',
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function againstMoto(): Promise<void> {
  const unavailable = motoUnavailable();
  if (unavailable) {
    console.log(`1. against moto: skipped (${unavailable})`);
    return;
  }
  const moto = await startMotoServer();
  const s3 = moto.s3();
  try {
    await s3.send(new CreateBucketCommand({ Bucket: 'bench', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'bench', VersioningConfiguration: { Status: 'Enabled' } }));
    const keys = Array.from({ length: MOTO_OBJECTS }, (_, n) => `raw/usage/dt=${DAYS[n % 7]}/part-${String(n).padStart(6, '0')}.csv`);
    for (let n = 0; n < keys.length; n += 50) {
      await Promise.all(
        keys.slice(n, n + 50).map((Key) => s3.send(new PutObjectCommand({ Bucket: 'bench', Key, Body: `vin,kwh\nV${n},1\n` }))),
      );
    }
    const store = s3Store(s3, 'bench');
    const inputs: number[] = [];
    const outputs: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const id = `weekly-20261116-20261122-a${r + 1}`;
      let t = performance.now();
      await recordRunInputs(s3VersionLister(s3), store, {
        bucket: 'bench',
        run: run(id),
        inputs: [{ name: 'usage', bucket: 'bench', prefix: 'raw/usage/', read: 'window' }],
      });
      inputs.push(performance.now() - t);
      t = performance.now();
      await recordRunOutputs(s3VersionLister(s3), store, {
        bucket: 'bench',
        purpose: 'weekly',
        runId: id,
        outputs: [{ name: 'all', bucket: 'bench', prefix: 'raw/usage/' }],
      });
      outputs.push(performance.now() - t);
    }
    const per = (ms: number, n: number) => `${((ms / n) * 1000).toFixed(0)} ms per 1,000 objects`;
    console.log(`1. against moto, ${MOTO_OBJECTS.toLocaleString('en-US')} versioned objects over 7 days, median of ${RUNS}:`);
    console.log(`   RecordRunInputs  ${median(inputs).toFixed(0)} ms (${per(median(inputs), MOTO_OBJECTS)})`);
    console.log(
      `   RecordRunOutputs ${median(outputs).toFixed(0)} ms (10,000 objects at most per output: ${per(median(outputs), MOTO_OBJECTS)})`,
    );
  } finally {
    s3.destroy();
    await moto.stop();
  }
}

async function atTheLimit(): Promise<void> {
  const total = MAX_RUN_MANIFEST_INPUT_OBJECTS;
  const perDay = Math.ceil(total / 7);
  // Pages of 1,000 as S3 answers, with keys, ETags and version ids of real length.
  const list: VersionLister = async (_bucket, prefix, atMost) => {
    const day = /dt=([\d-]+)\//.exec(prefix)?.[1];
    const n = day === DAYS[6] ? total - perDay * 6 : perDay;
    const out: ManifestObject[] = [];
    for (let page = 0; page * 1000 < n && out.length <= atMost; page++) {
      await new Promise((r) => setImmediate(r));
      for (let k = page * 1000; k < Math.min(n, (page + 1) * 1000); k++) {
        out.push({
          key: `${prefix}part-${String(k).padStart(6, '0')}.snappy.parquet`,
          size: 1_048_576 + k,
          etag: 'd41d8cd98f00b204e9800998ecf8427e',
          versionId: `3HL4kqtJlcpXroDTDmJ${String(k).padStart(13, '0')}`,
        });
      }
    }
    return out;
  };
  const written = new Map<string, string>();
  const store: ObjectStore = {
    list: () => Promise.resolve([]),
    copy: () => Promise.resolve(),
    delete: () => Promise.resolve(),
    read: (key) => Promise.resolve(written.get(key)),
    write: (key, body) => {
      written.set(key, body);
      return Promise.resolve();
    },
  };
  const times: number[] = [];
  let rss = 0;
  for (let r = 0; r < RUNS; r++) {
    const id = `weekly-20261116-20261122-a${r + 1}`;
    written.clear(); // one run's files in memory at a time, as in the function
    const t = performance.now();
    const recorded = await recordRunInputs(list, store, {
      bucket: 'bench',
      run: run(id),
      inputs: [{ name: 'usage', bucket: 'bench', prefix: 'raw/usage/', read: 'window' }],
    });
    await recordRunOutputs(list, store, { bucket: 'bench', purpose: 'weekly', runId: id, outputs: [] });
    times.push(performance.now() - t);
    rss = Math.max(rss, process.memoryUsage().rss);
    if (recorded.objects !== total) throw new Error(`recorded ${recorded.objects} objects, expected ${total}`);
  }
  const inputsJson = [...written].find(([k]) => k.endsWith('/inputs.json'))![1];
  const manifestJson = [...written].find(([k]) => k.endsWith('/manifest.json'))![1];
  console.log(`2. at the limit, ${total.toLocaleString('en-US')} input objects listed from memory, median of ${RUNS}:`);
  console.log(`   both steps ${median(times).toFixed(0)} ms of the function's own work; peak RSS ${mb(rss)} (the function has 1,024 MB)`);
  console.log(`   inputs.json ${mb(Buffer.byteLength(inputsJson))}, manifest.json ${mb(Buffer.byteLength(manifestJson))} (pretty-printed)`);
  console.log(`   one more object fails the run before the job (BatCat.RunManifestTooLarge)`);
}

void (async () => {
  await againstMoto();
  await atTheLimit();
})();
