import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  buildWindowManifest,
  MAX_MANIFEST_BYTES,
  MAX_MANIFEST_OBJECTS,
  WINDOW_ERRORS,
  type WindowInput,
} from '../../lib/contract/window-manifest';
import type { ObjectStore } from '../../lib/runtime/commit';
import { s3Store } from '../../lib/runtime/s3-store';
import { writeWindowManifests } from '../../lib/runtime/window-manifest';
import { startS3Server, type S3Server } from '../s3-server';

/* The partition step of a run over several days: the manifest rules, then the step against an S3-protocol server (s3rver). */

jest.setTimeout(60_000);

const WEEK = { start: '2026-11-16', end: '2026-11-22' };
const usage: WindowInput = { name: 'usage', bucket: 'raw-bucket', prefix: 'raw/usage/', complete: false };

describe('buildWindowManifest', () => {
  const keys = (days: Record<string, number>) =>
    new Map(Object.entries(days).map(([d, n]) => [d, Array.from({ length: n }, (_, i) => `raw/usage/dt=${d}/part-${i}.csv`)]));

  test("lists the window's objects relative to the input's folder, and the days without a partition", () => {
    const m = buildWindowManifest(usage, WEEK, keys({ '2026-11-16': 2, '2026-11-17': 1, '2026-11-19': 1, '2026-11-22': 1 }));
    expect(JSON.parse(m.body)).toEqual([
      { prefix: 's3://raw-bucket/raw/usage/' },
      'dt=2026-11-16/part-0.csv',
      'dt=2026-11-16/part-1.csv',
      'dt=2026-11-17/part-0.csv',
      'dt=2026-11-19/part-0.csv',
      'dt=2026-11-22/part-0.csv',
    ]);
    expect(m.days).toEqual(['2026-11-16', '2026-11-17', '2026-11-19', '2026-11-22']);
    expect(m.missingDays).toEqual(['2026-11-18', '2026-11-20', '2026-11-21']);
    expect(m.objects).toBe(5);
  });

  test('a complete input with a missing day, and a window without any data, fail with what to do', () => {
    const partial = keys({ '2026-11-16': 1, '2026-11-18': 1 });
    expect(() => buildWindowManifest({ ...usage, complete: true }, WEEK, partial)).toThrow(
      expect.objectContaining({
        name: WINDOW_ERRORS.missingDays,
        message: expect.stringMatching(
          /^input 'usage' says complete: true, but 5 of the 7 days of the window 2026-11-16 \.\. 2026-11-22 have no partition under s3:\/\/raw-bucket\/raw\/usage\/: 2026-11-17, 2026-11-19, 2026-11-20, 2026-11-21, 2026-11-22\. Nothing was run\./,
        ),
      }),
    );
    expect(() => buildWindowManifest(usage, WEEK, new Map())).toThrow(
      expect.objectContaining({
        name: WINDOW_ERRORS.noDays,
        message: expect.stringContaining("input 'usage' has no partition in the window 2026-11-16 .. 2026-11-22"),
      }),
    );
  });

  test(`at the limits: ${MAX_MANIFEST_OBJECTS} objects and ${MAX_MANIFEST_BYTES / 1024 / 1024} MiB fit, one more does not`, () => {
    const spread = (n: number, name: (i: number) => string) => {
      const byDay = new Map<string, string[]>();
      for (let i = 0; i < n; i++) {
        const day = `2026-11-${16 + (i % 7)}`;
        if (!byDay.has(day)) byDay.set(day, []);
        byDay.get(day)!.push(`raw/usage/dt=${day}/${name(i)}`);
      }
      return byDay;
    };
    const short = (i: number) => `p${i}.csv`;
    const atLimit = buildWindowManifest(usage, WEEK, spread(MAX_MANIFEST_OBJECTS, short));
    expect(atLimit.objects).toBe(MAX_MANIFEST_OBJECTS);
    expect(() => buildWindowManifest(usage, WEEK, spread(MAX_MANIFEST_OBJECTS + 1, short))).toThrow(
      expect.objectContaining({
        name: WINDOW_ERRORS.tooLarge,
        message: expect.stringContaining("input 'usage' has 100,001 objects in the window 2026-11-16 .. 2026-11-22"),
      }),
    );
    // Long keys: the byte limit is reached first. Each entry is "dt=2026-11-16/<name>", quoted, with a comma.
    const entry = (nameLength: number) => `"dt=2026-11-16/${'x'.repeat(nameLength)}",`.length;
    const header = JSON.stringify([{ prefix: 's3://raw-bucket/raw/usage/' }]).length - 1;
    const objects = 100_000;
    const nameLength = Math.floor((MAX_MANIFEST_BYTES - header) / objects) - entry(0);
    const long = (i: number) => `${String(i).padStart(6, '0')}${'x'.repeat(nameLength - 6)}`;
    const fits = buildWindowManifest(usage, WEEK, spread(objects, long));
    expect(Buffer.byteLength(fits.body)).toBeLessThanOrEqual(MAX_MANIFEST_BYTES);
    expect(Buffer.byteLength(fits.body)).toBeGreaterThan(MAX_MANIFEST_BYTES - objects);
    const longer = (i: number) => `${long(i)}y`;
    expect(() => buildWindowManifest(usage, WEEK, spread(objects, longer))).toThrow(
      expect.objectContaining({ name: WINDOW_ERRORS.tooLarge, message: expect.stringMatching(/a manifest of 16\.\d MiB/) }),
    );
  });
});

describe('writeWindowManifests on S3', () => {
  let server: S3Server;
  let s3: S3Client;
  beforeAll(async () => {
    server = await startS3Server();
    s3 = server.client();
    for (const b of ['raw-bucket', 'purpose-bucket']) await s3.send(new CreateBucketCommand({ Bucket: b }));
    const put = (key: string) => s3.send(new PutObjectCommand({ Bucket: 'raw-bucket', Key: key, Body: `${key}\n` }));
    for (const day of ['2026-11-16', '2026-11-17', '2026-11-19', '2026-11-22']) {
      await put(`raw/usage/dt=${day}/part-0001.csv`);
      await put(`raw/usage/dt=${day}/part-0002.csv`);
    }
    // Outside the window, and next to the folder: never listed.
    await put('raw/usage/dt=2026-11-23/part-0001.csv');
    await put('raw/usage-old/dt=2026-11-16/part-0001.csv');
  });
  afterAll(async () => {
    s3?.destroy();
    await server?.stop();
  });
  const storeOf = (bucket: string) => s3Store(s3, bucket);
  const request = (inputs: WindowInput[], run = 'usage-analysis-20261116-20261122-a1') => ({
    bucket: 'purpose-bucket',
    manifestPrefix: `_batcat/window-manifests/usage-analysis/${run}/`,
    window: WEEK,
    inputs,
  });
  const read = (key: string) =>
    s3.send(new GetObjectCommand({ Bucket: 'purpose-bucket', Key: key })).then((o) => o.Body!.transformToString());

  test("writes each input's manifest in the run's folder and reports the days present and missing", async () => {
    const result = await writeWindowManifests(storeOf, request([usage]));
    const key = '_batcat/window-manifests/usage-analysis/usage-analysis-20261116-20261122-a1/usage.manifest';
    expect(result).toEqual({
      inputs: [
        {
          name: 'usage',
          bucket: 'raw-bucket',
          manifest: `s3://purpose-bucket/${key}`,
          days: ['2026-11-16', '2026-11-17', '2026-11-19', '2026-11-22'],
          missingDays: ['2026-11-18', '2026-11-20', '2026-11-21'],
          objects: 8,
          bytes: 8 * 'raw/usage/dt=2026-11-16/part-0001.csv\n'.length,
        },
      ],
      missingDays: 3,
    });
    expect(JSON.parse(await read(key))).toEqual([
      { prefix: 's3://raw-bucket/raw/usage/' },
      ...['2026-11-16', '2026-11-17', '2026-11-19', '2026-11-22'].flatMap((d) => [`dt=${d}/part-0001.csv`, `dt=${d}/part-0002.csv`]),
    ]);
  });

  test('a failing input leaves no manifest of any input behind', async () => {
    const run = 'usage-analysis-20261116-20261122-a2';
    await expect(writeWindowManifests(storeOf, request([usage, { ...usage, name: 'strict', complete: true }], run))).rejects.toMatchObject({
      name: WINDOW_ERRORS.missingDays,
    });
    expect(await storeOf('purpose-bucket').list(`_batcat/window-manifests/usage-analysis/${run}/`)).toEqual([]);
  });

  test('stops listing once an input is over its limit, and refuses a request that is not one', async () => {
    const asked: Array<[string, number | undefined]> = [];
    const counting = (bucket: string): ObjectStore => {
      const store = storeOf(bucket);
      return {
        ...store,
        list: (prefix, atMost) => {
          asked.push([prefix, atMost]);
          return store.list(prefix, atMost);
        },
      };
    };
    await expect(writeWindowManifests(counting, request([usage]), { objects: 3, bytes: MAX_MANIFEST_BYTES })).rejects.toMatchObject({
      name: WINDOW_ERRORS.tooLarge,
      message: expect.stringContaining("input 'usage' has 4 objects in the window"),
    });
    // Two days (2 + 2 objects) are over a limit of 3: the other five days are never listed.
    expect(asked).toEqual([
      ['raw/usage/dt=2026-11-16/', 3],
      ['raw/usage/dt=2026-11-17/', 1],
    ]);
    await expect(
      writeWindowManifests(storeOf, { ...request([usage]), window: { start: '2026-11-22', end: '2026-11-16' } }),
    ).rejects.toThrow('not a window manifest request: window ends (2026-11-16) before it starts (2026-11-22)');
  });
});
