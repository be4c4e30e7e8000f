/*
 * S3 CSV in and out, streamed: reading holds one network chunk and its records in memory,
 * writing holds `queueSize` parts of `partSize` bytes, whatever the object's size.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { parseS3Uri } from '../contract/s3-uri';
import { castField, csvLine, CsvFormatError, CsvParser, type ColumnType, type CsvValue } from '../contract/csv';
import { NoSuchBucketError, NoSuchKeyError, S3AccessDeniedError, S3IoError } from './errors';

export { parseS3Uri };

/** What an aborted call throws: the signal's reason, as the caller gave it (the CLI gives an Error). */
function abortReason(signal: AbortSignal): Error {
  return signal.reason as Error;
}

/** Turns an SDK error into one of ours, naming the bucket, the key and the call. */
export function s3Error(err: unknown, action: string, bucket: string, key?: string): Error {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number }; message?: string };
  const code = e?.Code ?? e?.name;
  const status = e?.$metadata?.httpStatusCode;
  if (code === 'NoSuchBucket') return new NoSuchBucketError(bucket, key, { cause: err });
  if (code === 'NoSuchKey' || (code === 'NotFound' && key !== undefined)) return new NoSuchKeyError(bucket, key ?? '', { cause: err });
  if (code === 'AccessDenied' || code === 'Forbidden' || status === 403)
    return new S3AccessDeniedError(action, bucket, key, { cause: err });
  if (err instanceof S3IoError) return err;
  return new S3IoError(`${action} on s3://${bucket}/${key ?? ''} failed: ${e?.message ?? String(err)}`, bucket, key, { cause: err });
}

interface CsvReadOptionsBase {
  readonly bucket: string;
  readonly key: string;
  /** @default ',' */
  readonly delimiter?: string;
  /**
   * Decompress while reading.
   *
   * @default 'auto' - when the key ends with `.gz` or the object's Content-Encoding is gzip
   */
  readonly gzip?: boolean | 'auto';
  /** Stops the download; the iteration then throws the abort reason. */
  readonly signal?: AbortSignal;
}

/** Read records as objects keyed by column name. */
export interface CsvReadOptions extends CsvReadOptionsBase {
  /**
   * The column names, for a file without a header line.
   *
   * @default - the first line is the header
   */
  readonly columns?: string[];
  /**
   * Types of columns; a column not listed stays a string. An unknown column name is an error.
   *
   * @default - every column is a string
   */
  readonly types?: Record<string, ColumnType>;
}

/** Read records as arrays of strings, every line included (a header is just the first record). */
export interface CsvRawReadOptions extends CsvReadOptionsBase {
  readonly raw: true;
}

/**
 * Streams the records of a CSV object: objects keyed by the header's column names (typed by
 * `types`), or with `raw: true` arrays of strings. Memory stays flat for any object size.
 *
 * @throws NoSuchBucketError, NoSuchKeyError, S3AccessDeniedError, CsvFormatError
 */
export function readCsvFromBucket(s3: S3Client, options: CsvRawReadOptions): AsyncIterable<string[]>;
export function readCsvFromBucket(s3: S3Client, options: CsvReadOptions): AsyncIterable<Record<string, CsvValue>>;
export function readCsvFromBucket(
  s3: S3Client,
  options: CsvReadOptions | CsvRawReadOptions,
): AsyncIterable<string[] | Record<string, CsvValue>> {
  return {
    [Symbol.asyncIterator]: () => {
      // An async generator yielding row by row costs more than parsing the row; hand out the
      // rows of each parsed chunk from a plain iterator instead.
      const batches = readCsvBatchesFromBucket(s3, options as CsvReadOptions)[Symbol.asyncIterator]();
      let batch: Array<string[] | Record<string, CsvValue>> = [];
      let k = 0;
      const next = async (): Promise<IteratorResult<string[] | Record<string, CsvValue>>> => {
        while (k >= batch.length) {
          const r = await batches.next();
          if (r.done) return { done: true, value: undefined };
          batch = r.value;
          k = 0;
        }
        return { done: false, value: batch[k++] };
      };
      return {
        next: () => (k < batch.length ? Promise.resolve({ done: false, value: batch[k++] }) : next()),
        return: async () => {
          await batches.return?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
}

/**
 * Like `readCsvFromBucket`, but yields the records of each network chunk as one array: the
 * fastest way through a large object.
 */
export function readCsvBatchesFromBucket(s3: S3Client, options: CsvRawReadOptions): AsyncIterable<string[][]>;
export function readCsvBatchesFromBucket(s3: S3Client, options: CsvReadOptions): AsyncIterable<Array<Record<string, CsvValue>>>;
export async function* readCsvBatchesFromBucket(
  s3: S3Client,
  options: CsvReadOptions | CsvRawReadOptions,
): AsyncIterable<Array<string[] | Record<string, CsvValue>>> {
  const { bucket, key } = options;
  const parser = new CsvParser(options.delimiter);
  let response;
  try {
    response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: options.signal });
  } catch (err) {
    if (options.signal?.aborted) throw abortReason(options.signal);
    throw s3Error(err, 'GetObject', bucket, key);
  }
  const gzip =
    options.gzip === undefined || options.gzip === 'auto'
      ? key.endsWith('.gz') || /gzip/i.test(response.ContentEncoding ?? '')
      : options.gzip;
  let source = response.Body as Readable;
  if (gzip) {
    const gunzip = createGunzip();
    source.on('error', (err) => gunzip.destroy(err));
    source = source.pipe(gunzip);
  }
  const abort = () => source.destroy(options.signal?.reason ?? new Error('aborted'));
  options.signal?.addEventListener('abort', abort, { once: true });
  const decoder = new TextDecoder('utf-8');

  const raw = 'raw' in options && options.raw;
  const named = raw ? undefined : (options as CsvReadOptions);
  let toRecord = named?.columns ? recordMaker(named.columns, named.types, key) : undefined;
  const records = (rows: string[][]): Array<string[] | Record<string, CsvValue>> => {
    if (raw) return rows;
    const out: Array<Record<string, CsvValue>> = new Array(rows.length);
    let m = 0;
    for (const r of rows) {
      if (!toRecord) {
        toRecord = recordMaker(r, named!.types, key);
        continue;
      }
      out[m++] = toRecord(r);
    }
    out.length = m;
    return out;
  };

  try {
    for await (const chunk of source) {
      const batch = records(parser.push(decoder.decode(chunk as Uint8Array, { stream: true })));
      if (batch.length > 0) yield batch;
    }
    const last = records([...parser.push(decoder.decode()), ...parser.end()]);
    if (last.length > 0) yield last;
  } catch (err) {
    if (options.signal?.aborted) throw abortReason(options.signal);
    if ((err as Error).name === 'CsvFormatError') {
      (err as Error).message = `s3://${bucket}/${key}: ${(err as Error).message}`;
      throw err;
    }
    if ((err as { code?: string }).code?.startsWith('Z_'))
      throw new S3IoError(`s3://${bucket}/${key} is not valid gzip: ${(err as Error).message}`, bucket, key, { cause: err });
    throw s3Error(err, 'GetObject', bucket, key);
  } finally {
    options.signal?.removeEventListener('abort', abort);
    source.destroy();
  }
}

function recordMaker(
  columns: string[],
  types: Record<string, ColumnType> | undefined,
  key: string,
): (fields: string[]) => Record<string, CsvValue> {
  const unknown = Object.keys(types ?? {}).filter((c) => !columns.includes(c));
  if (unknown.length > 0)
    throw new Error(`${key}: types name columns that are not in the file: ${unknown.join(', ')}; columns: ${columns.join(', ')}`);
  const seen = new Set<string>();
  const duplicate = columns.find((c) => seen.size === seen.add(c).size);
  if (duplicate !== undefined) throw new CsvFormatError(`${key}: the header names column '${duplicate}' twice`);
  const casts = columns.map((c) => {
    const type = types?.[c];
    return type === undefined || type === 'string' ? undefined : (text: string) => castField(text, type, c);
  });
  // One object literal with the columns as fixed keys: every record shares one hidden class,
  // which V8 builds several times faster than records filled key by key. Keys are JSON-quoted.
  const fields = columns.map((c, k) => `${JSON.stringify(c)}: ${casts[k] ? `c[${k}](f[${k}] ?? '')` : `f[${k}] ?? ''`}`);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('c', `return (f) => ({ ${fields.join(', ')} });`)(casts) as (f: string[]) => Record<string, CsvValue>;
}

/** Rows to write: objects (columns from `columns` or the first row) or arrays. */
export type CsvRow = Record<string, unknown> | readonly unknown[];

export interface SaveToBucketOptions {
  readonly bucket: string;
  readonly key: string;
  /** Rows to write as CSV. Give this or `body`. */
  readonly rows?: Iterable<CsvRow> | AsyncIterable<CsvRow>;
  /** Bytes to upload as they are (already CSV, or any file). Give this or `rows`. */
  readonly body?: Readable | Uint8Array | string;
  /**
   * The header, and the order of object rows' fields.
   *
   * @default - the first object row's keys; array rows get no header
   */
  readonly columns?: string[];
  /** @default ',' */
  readonly delimiter?: string;
  /**
   * Compress with gzip (sets Content-Encoding).
   *
   * @default - when the key ends with `.gz`
   */
  readonly gzip?: boolean;
  /** @default 'text/csv' for rows, else 'application/octet-stream' */
  readonly contentType?: string;
  /**
   * The size of each part; objects larger than one part go up as a multipart upload. S3's minimum is 5 MiB.
   *
   * @default 8 MiB
   */
  readonly partSize?: number;
  /** @default 4 parts in flight */
  readonly queueSize?: number;
  /** Called as parts complete, with the bytes uploaded so far. */
  readonly onProgress?: (uploadedBytes: number) => void;
  readonly signal?: AbortSignal;
}

export interface SaveResult {
  readonly bucket: string;
  readonly key: string;
  /** Rows written (0 for `body`). */
  readonly rows: number;
  readonly etag?: string;
}

/**
 * Streams rows as CSV (or a body as it is) to S3, through a multipart upload once it outgrows
 * one part. A failed upload is aborted, so no half-written object and no orphaned parts remain.
 */
export async function saveToBucket(s3: S3Client, options: SaveToBucketOptions): Promise<SaveResult> {
  const { bucket, key } = options;
  if ((options.rows === undefined) === (options.body === undefined)) throw new Error('saveToBucket needs exactly one of rows or body');
  let count = 0;
  // When the source fails, the upload is aborted; report the source's error, not the abort's.
  let sourceError: Error | undefined;
  let body: Readable | Uint8Array | string;
  if (options.rows !== undefined) {
    const rows = options.rows;
    const delimiter = options.delimiter ?? ',';
    body = Readable.from(
      (async function* () {
        let columns = options.columns;
        let batch = '';
        if (columns) batch += csvLine(columns, delimiter);
        try {
          for await (const row of rows as AsyncIterable<CsvRow>) {
            if (Array.isArray(row)) {
              batch += csvLine(row, delimiter);
            } else {
              if (!columns) {
                columns = Object.keys(row);
                batch += csvLine(columns, delimiter);
              }
              const r = row as Record<string, unknown>;
              batch += csvLine(
                columns.map((c) => r[c]),
                delimiter,
              );
            }
            count++;
            if (batch.length >= 65536) {
              yield Buffer.from(batch);
              batch = '';
            }
          }
        } catch (err) {
          sourceError = err as Error;
          throw err;
        }
        if (batch.length > 0) yield Buffer.from(batch);
      })(),
    );
  } else {
    body = options.body!;
    if (body instanceof Readable)
      body.once('error', (err: Error) => {
        sourceError = err;
      });
  }
  const gzip = options.gzip ?? key.endsWith('.gz');
  if (gzip) {
    const zipped = createGzip();
    const source = body instanceof Readable ? body : Readable.from([typeof body === 'string' ? Buffer.from(body) : body]);
    pipeline(source, zipped).catch((err) => zipped.destroy(err));
    body = zipped;
  }
  const upload = new Upload({
    client: s3,
    params: {
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentType: options.contentType ?? (options.rows !== undefined ? 'text/csv' : 'application/octet-stream'),
      ContentEncoding: gzip ? 'gzip' : undefined,
    },
    partSize: options.partSize ?? 8 * 1024 * 1024,
    queueSize: options.queueSize ?? 4,
    leavePartsOnError: false,
  });
  if (options.onProgress) upload.on('httpUploadProgress', (p) => options.onProgress!(p.loaded ?? 0));
  const abort = () => {
    void upload.abort();
  };
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    const result = await upload.done();
    return { bucket, key, rows: count, etag: result.ETag };
  } catch (err) {
    if (options.signal?.aborted) throw abortReason(options.signal);
    if (sourceError !== undefined) throw sourceError;
    throw s3Error(err, 'PutObject', bucket, key);
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
}

/** One object of a listing. */
export interface S3ObjectSummary {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModified?: Date;
}

export interface ListKeysOptions {
  readonly bucket: string;
  /** @default '' - the whole bucket */
  readonly prefix?: string;
  /** Objects per request. @default 1000 */
  readonly pageSize?: number;
  readonly signal?: AbortSignal;
}

/** Every object under `prefix`, page by page, in key order. */
export async function* listKeys(s3: S3Client, options: ListKeysOptions): AsyncIterable<S3ObjectSummary> {
  const { bucket, prefix = '' } = options;
  try {
    for await (const page of paginateListObjectsV2({ client: s3, pageSize: options.pageSize }, { Bucket: bucket, Prefix: prefix })) {
      if (options.signal?.aborted) throw abortReason(options.signal);
      for (const o of page.Contents ?? []) {
        yield { key: o.Key!, size: o.Size ?? 0, etag: (o.ETag ?? '').replace(/"/g, ''), lastModified: o.LastModified };
      }
    }
  } catch (err) {
    if (options.signal?.aborted) throw abortReason(options.signal);
    throw s3Error(err, 'ListObjectsV2', bucket, prefix);
  }
}

/** The object's size and ETag, or undefined if it does not exist. */
export async function headObject(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<{ size: number; etag: string; metadata: Record<string, string> } | undefined> {
  try {
    const r = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { size: r.ContentLength ?? 0, etag: (r.ETag ?? '').replace(/"/g, ''), metadata: r.Metadata ?? {} };
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NotFound' || e.name === 'NoSuchKey' || (e.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket'))
      return undefined;
    throw s3Error(err, 'HeadObject', bucket, key);
  }
}
