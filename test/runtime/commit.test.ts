import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { commitOutputs, manifestKey, type ObjectStore } from '../../lib/runtime/commit';
import { s3Store } from '../../lib/runtime/s3-store';
import { motoUnavailable, startMotoServer, type MotoServer } from '../moto-server';
import { startS3Server, type S3Server } from '../s3-server';

/* The commit of a run's results, against an S3-protocol server (s3rver) on 127.0.0.1. */

jest.setTimeout(60_000);

let server: S3Server;
let s3: S3Client;
let bucket: string;
let buckets = 0;
beforeAll(async () => {
  server = await startS3Server();
  s3 = server.client();
});
afterAll(async () => {
  s3?.destroy();
  await server?.stop();
});
beforeEach(async () => {
  bucket = `commit-${++buckets}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});

const ATTEMPT = 'results/usage-analysis/summary/_attempts/usage-analysis-20261122-a2/';
const RESULT = 'results/usage-analysis/summary/dt=2026-11-22/';
const output = { name: 'summary', attemptPrefix: ATTEMPT, resultPrefix: RESULT };

const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
const get = async (key: string) =>
  await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })).then((o) => o.Body!.transformToString());
/** Every key of the bucket, sorted. */
const keys = async () => (await s3Store(s3, bucket).list('')).map((o) => o.key).sort();

describe('commitOutputs on S3', () => {
  test("makes the attempt's files the window's result, with their folders, and removes the attempt", async () => {
    await put(`${ATTEMPT}summary.csv`, 'a,b\n1,2\n');
    await put(`${ATTEMPT}parts/part 1 (final).csv`, 'x\n');
    const result = await commitOutputs(s3Store(s3, bucket), [output]);
    expect(result).toEqual({ outputs: [{ name: 'summary', committed: 2, removed: 0 }] });
    expect(await keys()).toEqual([`${RESULT}parts/part 1 (final).csv`, `${RESULT}summary.csv`]);
    expect(await get(`${RESULT}summary.csv`)).toBe('a,b\n1,2\n');
  });

  test('a rerun replaces the result whole: files it did not write are removed, not mixed in', async () => {
    await put(`${RESULT}summary.csv`, 'old\n');
    await put(`${RESULT}part-0002.csv`, 'old part the new attempt does not write\n');
    await put(`${ATTEMPT}summary.csv`, 'new\n');
    expect(await commitOutputs(s3Store(s3, bucket), [output])).toEqual({ outputs: [{ name: 'summary', committed: 1, removed: 1 }] });
    expect(await keys()).toEqual([`${RESULT}summary.csv`]);
    expect(await get(`${RESULT}summary.csv`)).toBe('new\n');
  });

  test('an output that may stay empty and stayed empty empties the result', async () => {
    await put(`${RESULT}debug.txt`, 'old\n');
    await commitOutputs(s3Store(s3, bucket), [output]);
    expect(await keys()).toEqual([]);
  });

  test('a commit that failed half-way is completed by the next try, from its manifest', async () => {
    await put(`${RESULT}stale.csv`, 'old\n');
    for (const n of [1, 2, 3]) await put(`${ATTEMPT}part-${n}.csv`, `${n}\n`);
    // The first try dies after deleting one of the attempt's files (a timeout, a throttle).
    const real = s3Store(s3, bucket);
    let deletes = 0;
    const failing: ObjectStore = {
      ...real,
      delete: async (ks) => {
        if (++deletes === 2) {
          await real.delete(ks.slice(0, 1));
          throw new Error('SlowDown');
        }
        await real.delete(ks);
      },
    };
    await expect(commitOutputs(failing, [output])).rejects.toThrow('SlowDown');
    expect(await keys()).toContain(manifestKey(ATTEMPT));
    await commitOutputs(real, [output]);
    expect(await keys()).toEqual([`${RESULT}part-1.csv`, `${RESULT}part-2.csv`, `${RESULT}part-3.csv`]);
    for (const n of [1, 2, 3]) expect(await get(`${RESULT}part-${n}.csv`)).toBe(`${n}\n`);
  });
});

// s3rver has no multipart copy; moto's S3 has.
const unavailable = motoUnavailable();
if (unavailable) console.warn(`the multipart copy test of test/runtime/commit.test.ts is skipped: ${unavailable}`);
(unavailable ? describe.skip : describe)('commitOutputs on S3, objects above the single-copy limit', () => {
  let moto: MotoServer;
  beforeAll(async () => {
    moto = await startMotoServer();
  }, 60_000);
  afterAll(async () => moto?.stop());

  test('are copied in parts', async () => {
    const client = new S3Client({
      endpoint: moto.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'moto', secretAccessKey: 'moto' },
    });
    await client.send(new CreateBucketCommand({ Bucket: 'big' }));
    const body = `${'x'.repeat(5 * 1024 * 1024)}${'y'.repeat(100)}`;
    await client.send(new PutObjectCommand({ Bucket: 'big', Key: `${ATTEMPT}big.bin`, Body: body }));
    await commitOutputs(s3Store(client, 'big', { singleCopyLimit: 1024, partSize: 5 * 1024 * 1024 }), [output]);
    const copied = await client.send(new GetObjectCommand({ Bucket: 'big', Key: `${RESULT}big.bin` }));
    expect(await copied.Body!.transformToString()).toBe(body);
    expect(copied.ETag).toMatch(/-2"$/); // two parts
    client.destroy();
  });
});
