import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { RUN_MANIFEST_TOO_LARGE, runCacheKey, runManifestKeys, type ManifestRun } from '../../lib/contract/run-manifest';
import { recordRunInputs, recordRunOutputs } from '../../lib/runtime/run-manifest';
import { s3Store, s3VersionLister } from '../../lib/runtime/s3-store';
import { motoUnavailable, startMotoServer, type MotoServer } from '../moto-server';
import { parquetWriteBuffer } from 'hyparquet-writer';

/*
 * The run manifest's two steps against moto's S3 (versioned buckets; s3rver has no versions):
 * the inputs' versions are recorded before the job, so an input overwritten while the job runs
 * is recorded, and stays readable, as the job read it.
 */

jest.setTimeout(60_000);
const unavailable = motoUnavailable();
if (unavailable) console.warn(`test/runtime/run-manifest.test.ts is skipped: ${unavailable}`);
const suite = unavailable ? describe.skip : describe;

let moto: MotoServer;
let s3: S3Client;
beforeAll(async () => {
  if (unavailable) return;
  moto = await startMotoServer();
  s3 = moto.s3();
  for (const b of ['purpose-bucket', 'partner-data']) {
    await s3.send(new CreateBucketCommand({ Bucket: b, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
  }
  await s3.send(new PutBucketVersioningCommand({ Bucket: 'purpose-bucket', VersioningConfiguration: { Status: 'Enabled' } }));
}, 60_000);
afterAll(async () => {
  s3?.destroy();
  await moto?.stop();
});

const put = (bucket: string, key: string, body: string) =>
  s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body })).then((r) => r.VersionId);
const get = (bucket: string, key: string, versionId?: string) =>
  s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId })).then((o) => o.Body!.transformToString());

const RUN: ManifestRun = {
  purpose: 'weekly',
  runId: 'weekly-20261116-20261122-a1',
  execution: 'arn:aws:states:eu-west-1:123456789012:execution:demo-weekly:weekly-20261116-20261122-a1',
  window: { start: '2026-11-16', end: '2026-11-22', endExclusive: '2026-11-23' },
  timezone: 'UTC',
  attempt: 1,
  trigger: { kind: 'manual' },
  jobName: 'weekly-abc123-0123456789abcdef0123456789abcdef',
  image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/cdk-assets:0f1e2d',
  gitCommit: '3c1d2e4f5a6b',
};

suite('the run manifest on a versioned S3', () => {
  test("a branch stage's input: its own bucket where it has the run's folders, else the parent's, recorded with the versions read", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'branch-bucket', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'branch-bucket', VersioningConfiguration: { Status: 'Enabled' } }));
    const parentVersion = await put('partner-data', 'curated/ref/stations.csv', 'id\nS1\n');
    await put('partner-data', 'curated/events/dt=2026-11-16/a.csv', 'parent day\n');
    const branchVersion = await put('branch-bucket', 'curated/events/dt=2026-11-16/a.csv', 'branch day\n');
    const run = { ...RUN, runId: 'daily-20261116-a1', window: { start: '2026-11-16', end: '2026-11-16', endExclusive: '2026-11-17' } };
    const store = s3Store(s3, 'branch-bucket');
    const recorded = await recordRunInputs(s3VersionLister(s3), store, {
      bucket: 'branch-bucket',
      run,
      inputs: [
        { name: 'events', bucket: 'branch-bucket', prefix: 'curated/events/', read: 'day', fallbackBucket: 'partner-data' },
        { name: 'ref', bucket: 'branch-bucket', prefix: 'curated/ref/', read: 'all', fallbackBucket: 'partner-data' },
      ],
    });
    expect(recorded.uris).toEqual({ u0: 's3://branch-bucket/curated/events/dt=2026-11-16/', u1: 's3://partner-data/curated/ref/' });
    const inputs = JSON.parse((await store.read(runManifestKeys('weekly', run.runId).inputs))!).inputs;
    expect(inputs.map((i: any) => [i.name, i.bucket, i.objects.map((o: any) => [o.key, o.versionId])])).toEqual([
      ['events', 'branch-bucket', [['curated/events/dt=2026-11-16/a.csv', branchVersion]]],
      ['ref', 'partner-data', [['curated/ref/stations.csv', parentVersion ?? null]]],
    ]);
  });

  test('records the versions the job read, before it ran, and the versions its commit wrote; overwritten inputs stay readable', async () => {
    const first = await put('purpose-bucket', 'raw/usage/dt=2026-11-16/part-0001.csv', 'vin,kwh\nV1,1\n');
    await put('purpose-bucket', 'raw/usage/dt=2026-11-18/part-0001.csv', 'vin,kwh\nV2,2\n');
    await put('purpose-bucket', 'raw/usage/dt=2026-11-30/part-0001.csv', 'outside the window\n');
    await put('purpose-bucket', 'raw/usage/dt=2026-11-17/gone.csv', 'deleted before the run\n');
    await s3.send(new DeleteObjectCommand({ Bucket: 'purpose-bucket', Key: 'raw/usage/dt=2026-11-17/gone.csv' }));
    await put('partner-data', 'lookup/vins.csv', 'vin\nV1\n');
    const list = s3VersionLister(s3);
    const store = s3Store(s3, 'purpose-bucket');
    const recorded = await recordRunInputs(list, store, {
      bucket: 'purpose-bucket',
      run: RUN,
      inputs: [
        { name: 'usage', bucket: 'purpose-bucket', prefix: 'raw/usage/', read: 'window' },
        { name: 'lookup', bucket: 'partner-data', prefix: 'lookup/vins.csv', read: 'all' },
      ],
    });
    expect(recorded).toEqual({
      inputs: `s3://purpose-bucket/${runManifestKeys('weekly', RUN.runId).inputs}`,
      objects: 3,
      uris: { u0: 's3://purpose-bucket/raw/usage/', u1: 's3://partner-data/lookup/vins.csv' },
      cacheKey: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });

    // While the job runs, someone overwrites an input; then the commit writes the result.
    await put('purpose-bucket', 'raw/usage/dt=2026-11-16/part-0001.csv', 'vin,kwh\nV1,999\n');
    const written = await put('purpose-bucket', 'results/weekly/trend/dt=2026-11-16/trend.csv', 'vin,kwh\nV1,1\nV2,2\n');
    const result = await recordRunOutputs(list, store, {
      bucket: 'purpose-bucket',
      purpose: 'weekly',
      runId: RUN.runId,
      outputs: [{ name: 'trend', bucket: 'purpose-bucket', prefix: 'results/weekly/trend/dt=2026-11-16/' }],
    });
    expect(result).toEqual({
      manifest: `s3://purpose-bucket/${runManifestKeys('weekly', RUN.runId).manifest}`,
      inputObjects: 3,
      outputObjects: 1,
    });

    const manifest = JSON.parse(await get('purpose-bucket', runManifestKeys('weekly', RUN.runId).manifest));
    expect(manifest).toMatchObject({ version: 1, ...RUN });
    const usage = manifest.inputs[0];
    expect(usage.prefixes).toHaveLength(7);
    expect(usage.objects.map((o: any) => [o.key, o.size, o.versionId])).toEqual([
      ['raw/usage/dt=2026-11-16/part-0001.csv', 13, first],
      ['raw/usage/dt=2026-11-18/part-0001.csv', 13, expect.any(String)],
    ]);
    expect(usage.objects[0].etag).toMatch(/^[0-9a-f]{32}$/);
    // A bucket without versioning: the object, with a null version.
    expect(manifest.inputs[1].objects).toEqual([{ key: 'lookup/vins.csv', size: 7, etag: expect.any(String), versionId: null }]);
    expect(manifest.outputs).toEqual([
      {
        name: 'trend',
        bucket: 'purpose-bucket',
        prefixes: ['results/weekly/trend/dt=2026-11-16/'],
        objects: [{ key: 'results/weekly/trend/dt=2026-11-16/trend.csv', size: 18, etag: expect.any(String), versionId: written }],
      },
    ]);
    // What reproducing the run would read: the first bytes, not the overwrite.
    expect(await get('purpose-bucket', usage.objects[0].key, usage.objects[0].versionId)).toBe('vin,kwh\nV1,1\n');
  });

  test('too many input objects fail before the job, naming the input; too many output objects are marked truncated', async () => {
    for (let n = 0; n < 3; n++) await put('purpose-bucket', `big/dt=2026-11-16/part-${n}.csv`, `${n}\n`);
    const list = s3VersionLister(s3);
    const store = s3Store(s3, 'purpose-bucket');
    const run = { ...RUN, runId: 'weekly-20261116-20261122-a2' };
    await expect(
      recordRunInputs(
        list,
        store,
        { bucket: 'purpose-bucket', run, inputs: [{ name: 'big', bucket: 'purpose-bucket', prefix: 'big/', read: 'day' }] },
        2,
      ),
    ).rejects.toMatchObject({
      name: RUN_MANIFEST_TOO_LARGE,
      message: expect.stringMatching(/^the run reads more than 2 objects \(input 'big' under s3:\/\/purpose-bucket\/big\//),
    });
    await recordRunInputs(list, store, { bucket: 'purpose-bucket', run, inputs: [] });
    await recordRunOutputs(
      list,
      store,
      {
        bucket: 'purpose-bucket',
        purpose: 'weekly',
        runId: run.runId,
        outputs: [{ name: 'big', bucket: 'purpose-bucket', prefix: 'big/' }],
      },
      2,
    );
    const manifest = JSON.parse(await get('purpose-bucket', runManifestKeys('weekly', run.runId).manifest));
    expect(manifest.outputs[0]).toMatchObject({ truncated: true, objects: [expect.anything(), expect.anything()] });
    await expect(
      recordRunOutputs(list, store, { bucket: 'purpose-bucket', purpose: 'weekly', runId: 'never-recorded', outputs: [] }),
    ).rejects.toThrow("the run's inputs were not recorded: s3://purpose-bucket/_batcat/runs/weekly/never-recorded/inputs.json is missing");
  });

  test("a Parquet output's rows come from its footer, of the version written; a file named .parquet that is not one is reported", async () => {
    const run = { ...RUN, runId: 'weekly-20261116-20261122-a3' };
    const list = s3VersionLister(s3);
    const store = s3Store(s3, 'purpose-bucket');
    await recordRunInputs(list, store, { bucket: 'purpose-bucket', run, inputs: [] });
    const parquet = (n: number) =>
      new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'id', data: Array.from({ length: n }, (_, i) => i), type: 'INT32' }] }));
    const at = 'results/weekly/orders/dt=2026-11-16/';
    await s3.send(new PutObjectCommand({ Bucket: 'purpose-bucket', Key: `${at}part-00000.parquet`, Body: parquet(1000) }));
    await s3.send(new PutObjectCommand({ Bucket: 'purpose-bucket', Key: `${at}part-00001.parquet`, Body: parquet(1000) }));
    // Overwritten with 7 rows: the manifest counts the version it lists, the current one.
    await s3.send(new PutObjectCommand({ Bucket: 'purpose-bucket', Key: `${at}part-00001.parquet`, Body: parquet(7) }));
    await put('purpose-bucket', `${at}notes.parquet`, 'not parquet at all');
    await put('purpose-bucket', `${at}_SUCCESS`, 'ok');
    const result = await recordRunOutputs(list, store, {
      bucket: 'purpose-bucket',
      purpose: 'weekly',
      runId: run.runId,
      outputs: [{ name: 'orders', bucket: 'purpose-bucket', prefix: at }],
    });
    expect(result).toMatchObject({ outputObjects: 4, outputRows: 1007, unreadableParquet: [`${at}notes.parquet`] });
    const manifest = JSON.parse(await get('purpose-bucket', runManifestKeys('weekly', run.runId).manifest));
    expect(manifest.outputs[0].rows).toBe(1007);
    expect(manifest.outputs[0].objects.map((o: any) => [o.key.slice(at.length), o.rows])).toEqual([
      ['_SUCCESS', undefined],
      ['notes.parquet', undefined],
      ['part-00000.parquet', 1000],
      ['part-00001.parquet', 7],
    ]);
  });
});

describe('the cache key of a run (cache: true)', () => {
  const run = {
    image: 'img:1',
    code: 's3://assets/abc.zip',
    arguments: ['--a', '1'],
    parameters: { t: '0.5', m: 'fast' },
  } as unknown as ManifestRun;
  const channel = (etag: string, key = 'raw/usage/dt=2026-11-16/a.csv') => [
    { name: 'usage', bucket: 'b', prefixes: [], objects: [{ key, etag, size: 10, versionId: 'v1' }] },
  ];
  const key = runCacheKey(run, channel('"e1"'));
  test('the same code, arguments, parameters and input content give the same key, whatever the versions and order', () => {
    const again = [{ ...channel('"e1"')[0], objects: [{ ...channel('"e1"')[0].objects[0], versionId: 'v2' }] }];
    expect(runCacheKey({ ...run, parameters: { m: 'fast', t: '0.5' } }, again)).toBe(key);
  });
  test.each([
    ['the image', { ...run, image: 'img:2' }, channel('"e1"')],
    ['the script', { ...run, code: 's3://assets/def.zip' }, channel('"e1"')],
    ['an argument', { ...run, arguments: ['--a', '2'] }, channel('"e1"')],
    ['a parameter', { ...run, parameters: { t: '0.7', m: 'fast' } }, channel('"e1"')],
    ["an input's content", run, channel('"e2"')],
    ['an input key', run, channel('"e1"', 'raw/usage/dt=2026-11-16/b.csv')],
  ])('a change of %s changes the key', (_what, r, inputs) => {
    expect(runCacheKey(r, inputs)).not.toBe(key);
  });
});
