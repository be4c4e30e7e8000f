import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client, type S3Client as Client } from '@aws-sdk/client-s3';
import { CsvFormatError } from '../../lib/contract/csv';
import { NoSuchBucketError, NoSuchKeyError, S3AccessDeniedError } from '../../lib/io/errors';
import { headObject, listKeys, parseS3Uri, readCsvBatchesFromBucket, readCsvFromBucket, saveToBucket } from '../../lib/io/s3';
import { startS3Server, type S3Server } from '../s3-server';

jest.setTimeout(60_000);

let server: S3Server;
let s3: Client;
const Bucket = 'batcat-test';

beforeAll(async () => {
  server = await startS3Server();
  s3 = server.client();
  await s3.send(new CreateBucketCommand({ Bucket }));
});
afterAll(async () => {
  s3?.destroy();
  await server?.stop();
});

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** A client that records the name of every command it sends. */
function recordingClient(): { client: Client; commands: string[] } {
  const client = server.client();
  const commands: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(context.commandName!);
      return next(args);
    },
    { step: 'initialize' },
  );
  return { client, commands };
}

async function objectText(key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

describe('readCsvFromBucket', () => {
  test('reads typed records by header, with quotes, CRLF and a BOM', async () => {
    const body = '\ufeffvehicle,kwh,ok,day,note\r\nv1,1.5,true,2022-01-03,"a, ""quoted"" note"\r\nv2,,false,2022-01-04,"two\nlines"\r\n';
    await s3.send(new PutObjectCommand({ Bucket, Key: 'typed.csv', Body: body }));
    const rows = await all(
      readCsvFromBucket(s3, { bucket: Bucket, key: 'typed.csv', types: { kwh: 'number', ok: 'boolean', day: 'date' } }),
    );
    expect(rows).toEqual([
      { vehicle: 'v1', kwh: 1.5, ok: true, day: new Date('2022-01-03T00:00:00Z'), note: 'a, "quoted" note' },
      { vehicle: 'v2', kwh: null, ok: false, day: new Date('2022-01-04T00:00:00Z'), note: 'two\nlines' },
    ]);
  });

  test('reads raw records, another delimiter, and given column names', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'semi.csv', Body: 'a;b\n1;2\n3;4' }));
    expect(await all(readCsvFromBucket(s3, { bucket: Bucket, key: 'semi.csv', delimiter: ';', raw: true }))).toEqual([
      ['a', 'b'],
      ['1', '2'],
      ['3', '4'],
    ]);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'no-header.csv', Body: '1;2\n3;4\n' }));
    expect(
      await all(
        readCsvFromBucket(s3, { bucket: Bucket, key: 'no-header.csv', delimiter: ';', columns: ['x', 'y'], types: { y: 'integer' } }),
      ),
    ).toEqual([
      { x: '1', y: 2 },
      { x: '3', y: 4 },
    ]);
  });

  test('a value that is not of its column type names the column and the object', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'bad-type.csv', Body: 'id,n\n1,x\n' }));
    await expect(all(readCsvFromBucket(s3, { bucket: Bucket, key: 'bad-type.csv', types: { n: 'number' } }))).rejects.toThrow(
      /s3:\/\/batcat-test\/bad-type\.csv: column 'n': 'x' is not a number/,
    );
    await expect(all(readCsvFromBucket(s3, { bucket: Bucket, key: 'bad-type.csv', types: { missing: 'number' } }))).rejects.toThrow(
      /types name columns that are not in the file: missing; columns: id, n/,
    );
  });

  test('an unclosed quote is a CsvFormatError', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'unclosed.csv', Body: 'a,b\n1,"oops\n' }));
    const err = await all(readCsvFromBucket(s3, { bucket: Bucket, key: 'unclosed.csv', raw: true })).catch((e) => e);
    expect(err).toBeInstanceOf(CsvFormatError);
    expect(err.message).toMatch(/unclosed quote in the record starting on line 2/);
  });

  test('decompresses gzip by key suffix, or when told', async () => {
    const csv = 'k,v\n' + Array.from({ length: 5000 }, (_, i) => `${i},value-${i}\n`).join('');
    await s3.send(new PutObjectCommand({ Bucket, Key: 'z/data.csv.gz', Body: gzipSync(csv) }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'z/data-gz-no-suffix', Body: gzipSync(csv) }));
    const rows = await all(readCsvFromBucket(s3, { bucket: Bucket, key: 'z/data.csv.gz', types: { k: 'integer' } }));
    expect(rows).toHaveLength(5000);
    expect(rows[4999]).toEqual({ k: 4999, v: 'value-4999' });
    expect(await all(readCsvFromBucket(s3, { bucket: Bucket, key: 'z/data-gz-no-suffix', gzip: true, raw: true }))).toHaveLength(5001);
  });

  test('corrupt gzip is reported with the object', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'broken.csv.gz', Body: 'not gzip at all' }));
    await expect(all(readCsvFromBucket(s3, { bucket: Bucket, key: 'broken.csv.gz', raw: true }))).rejects.toThrow(
      /s3:\/\/batcat-test\/broken\.csv\.gz is not valid gzip/,
    );
  });

  test('records split across network chunks come out whole (a 6 MB object, checked row by row)', async () => {
    const lines = Array.from({ length: 60_000 }, (_, i) => `${i},"name ""${i}""",${'x'.repeat(i % 150)},é${i}\r\n`);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'chunks.csv', Body: 'id,name,pad,u\r\n' + lines.join('') }));
    let n = 0;
    let batches = 0;
    for await (const batch of readCsvBatchesFromBucket(s3, { bucket: Bucket, key: 'chunks.csv', types: { id: 'integer' } })) {
      batches++;
      for (const r of batch) {
        const expected = { id: n, name: `name "${n}"`, pad: 'x'.repeat(n % 150), u: `é${n}` };
        if (r.id !== expected.id || r.name !== expected.name || r.pad !== expected.pad || r.u !== expected.u) expect(r).toEqual(expected);
        n++;
      }
    }
    expect(n).toBe(60_000);
    expect(batches).toBeGreaterThan(10);
  });

  test('stopping early and aborting end the download', async () => {
    const first = [];
    for await (const r of readCsvFromBucket(s3, { bucket: Bucket, key: 'chunks.csv', raw: true })) {
      first.push(r);
      if (first.length === 3) break;
    }
    expect(first[2][0]).toBe('1');
    const controller = new AbortController();
    let seen = 0;
    const reading = (async () => {
      for await (const _ of readCsvFromBucket(s3, { bucket: Bucket, key: 'chunks.csv', raw: true, signal: controller.signal })) {
        if (++seen === 10) controller.abort(new Error('stopped by the test'));
      }
    })();
    await expect(reading).rejects.toThrow('stopped by the test');
    expect(seen).toBeLessThan(60_000);
  });

  test('a missing key, a missing bucket and bad credentials raise typed errors naming the object', async () => {
    const missingKey = await all(readCsvFromBucket(s3, { bucket: Bucket, key: 'nope/missing.csv' })).catch((e) => e);
    expect(missingKey).toBeInstanceOf(NoSuchKeyError);
    expect(missingKey.message).toBe('object s3://batcat-test/nope/missing.csv does not exist');
    expect(missingKey).toMatchObject({ bucket: Bucket, key: 'nope/missing.csv' });

    const missingBucket = await all(readCsvFromBucket(s3, { bucket: 'no-such-bucket', key: 'a.csv' })).catch((e) => e);
    expect(missingBucket).toBeInstanceOf(NoSuchBucketError);
    expect(missingBucket.message).toBe("bucket 'no-such-bucket' does not exist (reading s3://no-such-bucket/a.csv)");

    const stranger = new S3Client({
      endpoint: server.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'SOMEONE', secretAccessKey: 'ELSE' },
    });
    const denied = await all(readCsvFromBucket(stranger, { bucket: Bucket, key: 'typed.csv' })).catch((e) => e);
    stranger.destroy();
    expect(denied).toBeInstanceOf(S3AccessDeniedError);
    expect(denied.message).toMatch(/^access denied: GetObject on s3:\/\/batcat-test\/typed\.csv/);
  });
});

describe('saveToBucket', () => {
  test('round trip: object rows with quoting, read back typed', async () => {
    const rows = [
      { id: 1, name: 'plain', when: new Date('2022-01-01T12:00:00Z'), note: null },
      { id: 2, name: 'with, comma and "quotes"', when: new Date('2022-01-02T00:00:00Z'), note: 'line\nbreak' },
    ];
    const saved = await saveToBucket(s3, { bucket: Bucket, key: 'out/rows.csv', rows });
    expect(saved).toMatchObject({ bucket: Bucket, key: 'out/rows.csv', rows: 2 });
    expect((await objectText('out/rows.csv')).toString()).toBe(
      'id,name,when,note\n1,plain,2022-01-01T12:00:00.000Z,\n2,"with, comma and ""quotes""",2022-01-02T00:00:00.000Z,"line\nbreak"\n',
    );
    const back = await all(readCsvFromBucket(s3, { bucket: Bucket, key: 'out/rows.csv', types: { id: 'integer', when: 'date' } }));
    expect(back).toEqual([
      { id: 1, name: 'plain', when: rows[0].when, note: '' },
      { id: 2, name: 'with, comma and "quotes"', when: rows[1].when, note: 'line\nbreak' },
    ]);
  });

  test('array rows from an async generator, with columns and gzip', async () => {
    async function* gen() {
      for (let i = 0; i < 1000; i++) yield [i, `v${i}`];
    }
    await saveToBucket(s3, { bucket: Bucket, key: 'out/gen.csv.gz', rows: gen(), columns: ['i', 'v'] });
    const text = gunzipSync(await objectText('out/gen.csv.gz')).toString();
    expect(text.split('\n').slice(0, 3)).toEqual(['i,v', '0,v0', '1,v1']);
    expect(await all(readCsvFromBucket(s3, { bucket: Bucket, key: 'out/gen.csv.gz', types: { i: 'integer' } }))).toHaveLength(1000);
  });

  test('a body larger than one part goes up as a multipart upload and comes back byte-identical', async () => {
    const partSize = 5 * 1024 * 1024;
    const chunk = Buffer.from('0123456789abcdef\n'.repeat(4096)); // 68 KiB
    const total = 13 * 1024 * 1024;
    async function* body() {
      for (let sent = 0; sent < total; sent += chunk.length) yield chunk;
    }
    const progress: number[] = [];
    const { client, commands } = recordingClient();
    await saveToBucket(client, {
      bucket: Bucket,
      key: 'out/big.bin',
      body: Readable.from(body()),
      partSize,
      onProgress: (b) => progress.push(b),
    });
    client.destroy();
    expect(commands.filter((c) => c === 'UploadPartCommand')).toHaveLength(3);
    expect(commands).toContain('CreateMultipartUploadCommand');
    expect(commands).toContain('CompleteMultipartUploadCommand');
    const back = await objectText('out/big.bin');
    const expectedLength = Math.ceil(total / chunk.length) * chunk.length;
    expect(back.length).toBe(expectedLength);
    expect(back.subarray(0, chunk.length).equals(chunk)).toBe(true);
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...progress)).toBe(expectedLength);
  });

  test("a failing row source aborts the upload and reports the source's error; no object is left", async () => {
    async function* failing() {
      for (let i = 0; i < 200_000; i++) yield [i, 'x'.repeat(40)];
      throw new Error('source broke');
    }
    const { client, commands } = recordingClient();
    await expect(
      saveToBucket(client, { bucket: Bucket, key: 'out/failed.csv', rows: failing(), partSize: 5 * 1024 * 1024 }),
    ).rejects.toThrow('source broke');
    client.destroy();
    expect(await headObject(s3, Bucket, 'out/failed.csv')).toBeUndefined();
    // s3rver cannot abort multipart uploads; S3 can. What matters here is that we asked.
    expect(commands).toContain('AbortMultipartUploadCommand');
    expect(commands).not.toContain('CompleteMultipartUploadCommand');
  });

  test('a missing bucket is a NoSuchBucketError; giving both rows and body is refused', async () => {
    await expect(saveToBucket(s3, { bucket: 'no-such-bucket', key: 'x.csv', rows: [[1]] })).rejects.toBeInstanceOf(NoSuchBucketError);
    await expect(saveToBucket(s3, { bucket: Bucket, key: 'x.csv', rows: [[1]], body: 'x' })).rejects.toThrow('exactly one of rows or body');
  });
});

describe('listKeys', () => {
  test('pages through a prefix, with unicode keys, in key order', async () => {
    const keys = Array.from({ length: 23 }, (_, i) => `list/dt=2022-01-${String(i + 1).padStart(2, '0')}/fahrzeug-ä-ö-ü-日本-${i}.csv`);
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket, Key, Body: `n\n${Key}\n` }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'listing-elsewhere.csv', Body: 'x' }));
    const listed = await all(listKeys(s3, { bucket: Bucket, prefix: 'list/', pageSize: 5 }));
    expect(listed.map((o) => o.key)).toEqual([...keys].sort());
    expect(listed[0].size).toBe(Buffer.byteLength(`n\n${listed[0].key}\n`));
    // A unicode key reads back too.
    expect(await all(readCsvFromBucket(s3, { bucket: Bucket, key: keys[3] }))).toEqual([{ n: keys[3] }]);
  });

  test('a missing bucket is a NoSuchBucketError', async () => {
    await expect(all(listKeys(s3, { bucket: 'no-such-bucket', prefix: 'x/' }))).rejects.toBeInstanceOf(NoSuchBucketError);
  });
});

test('parseS3Uri', () => {
  expect(parseS3Uri('s3://b/a/b.csv')).toEqual({ bucket: 'b', key: 'a/b.csv' });
  expect(parseS3Uri('s3://b')).toEqual({ bucket: 'b', key: '' });
  expect(() => parseS3Uri('https://b/x')).toThrow("'https://b/x' is not an S3 URI");
});
