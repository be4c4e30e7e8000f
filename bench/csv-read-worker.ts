/* One measurement for bench/csv-read.ts, in a process of its own: prints {seconds, rows, bytes, peakRssMb}. */
import * as fs from 'node:fs';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { readCsvBatchesFromBucket, readCsvFromBucket } from '../lib/io/s3';

async function main(): Promise<void> {
  const [mode, endpoint, bucket, key] = process.argv.slice(2);
  const s3 = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  const bytes = (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentLength ?? 0;
  let rows = 0;
  const t0 = process.hrtime.bigint();
  if (mode === 'plain-download') {
    const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    for await (const chunk of r.Body as AsyncIterable<Buffer>) rows += chunk.length > 0 ? 0 : 0;
  } else if (mode === 'readCsvFromBucket-objects') {
    for await (const row of readCsvFromBucket(s3, { bucket, key, types: { usage_kwh: 'number', soc: 'integer' } })) if (row) rows++;
  } else if (mode === 'readCsvFromBucket-raw') {
    for await (const row of readCsvFromBucket(s3, { bucket, key, raw: true })) if (row) rows++;
  } else if (mode === 'readCsvBatchesFromBucket-raw') {
    for await (const batch of readCsvBatchesFromBucket(s3, { bucket, key, raw: true })) rows += batch.length;
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  console.log(JSON.stringify({ seconds, rows, bytes, peakRssMb: hwm ? Number(hwm[1]) / 1024 : process.memoryUsage().rss / 1048576 }));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
