/*
 * Copies between an S3 prefix and a local folder, resumably. Each file is written under a
 * temporary name and renamed when complete, and a state file in the folder records what was
 * copied (ETag, size, local mtime) after each file. An interrupted copy therefore leaves only
 * whole files, and running it again skips everything already done.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { headObject, listKeys, s3Error, saveToBucket } from './s3';

/** The state file kept in the local folder. */
export const SYNC_STATE_FILE = '.batcat-sync.json';
const PART_SUFFIX = '.batcat-part';

interface SyncRecord {
  readonly etag: string;
  readonly size: number;
  /** The local file's mtime when it matched `etag`. */
  readonly mtimeMs: number;
}

interface SyncState {
  readonly version: 1;
  /** `s3://bucket/prefix` the folder mirrors. */
  readonly source: string;
  readonly files: Record<string, SyncRecord>;
}

/** What a copy did, file by file. */
export interface SyncReport {
  readonly copied: string[];
  readonly skipped: string[];
  /** Local files changed since the last pull whose remote also changed: left alone. */
  readonly conflicts: string[];
  readonly bytes: number;
}

/** A step of a copy, for progress output. */
export type SyncEvent =
  | { readonly kind: 'plan'; readonly files: number; readonly bytes: number }
  | { readonly kind: 'skip'; readonly file: string }
  | { readonly kind: 'start'; readonly file: string; readonly size: number; readonly index: number; readonly total: number }
  | { readonly kind: 'progress'; readonly file: string; readonly bytes: number; readonly size: number }
  | { readonly kind: 'done'; readonly file: string; readonly size: number }
  | { readonly kind: 'conflict'; readonly file: string };

export interface SyncOptions {
  readonly bucket: string;
  /** A folder of the bucket, ending with '/'. */
  readonly prefix: string;
  /** The local folder. */
  readonly dir: string;
  /** Pull: overwrite local files changed since the last pull. @default false */
  readonly force?: boolean;
  readonly onEvent?: (e: SyncEvent) => void;
  readonly signal?: AbortSignal;
}

function checkPrefix(prefix: string): void {
  if (prefix !== '' && !prefix.endsWith('/')) throw new Error(`prefix '${prefix}' must be a folder ending with '/'`);
  if (prefix.startsWith('/') || prefix.split('/').some((p) => p === '..' || p === '.'))
    throw new Error(`prefix '${prefix}' must be relative, without '.' or '..'`);
}

function readState(dir: string, source: string): SyncState {
  const file = path.join(dir, SYNC_STATE_FILE);
  if (!fs.existsSync(file)) return { version: 1, source, files: {} };
  try {
    const s = JSON.parse(fs.readFileSync(file, 'utf8')) as SyncState;
    // A folder that mirrored another prefix starts over rather than trusting foreign records.
    return s.version === 1 && s.source === source && typeof s.files === 'object' ? s : { version: 1, source, files: {} };
  } catch {
    return { version: 1, source, files: {} };
  }
}

function writeState(dir: string, state: SyncState): void {
  const file = path.join(dir, SYNC_STATE_FILE);
  fs.writeFileSync(`${file}${PART_SUFFIX}`, JSON.stringify(state, null, 1));
  fs.renameSync(`${file}${PART_SUFFIX}`, file);
}

async function md5(file: string): Promise<string> {
  const hash = createHash('md5');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

/** True when the local file is still the one recorded, or has the object's single-part MD5. */
async function sameAsRemote(local: string, remote: { etag: string; size: number }, record?: SyncRecord): Promise<boolean> {
  if (!fs.existsSync(local)) return false;
  const st = fs.statSync(local);
  if (st.size !== remote.size) return false;
  if (record && record.etag === remote.etag && record.size === st.size && record.mtimeMs === st.mtimeMs) return true;
  return !remote.etag.includes('-') && (await md5(local)) === remote.etag;
}

function localPathOf(dir: string, rel: string): string {
  const file = path.resolve(dir, rel);
  if (!file.startsWith(path.resolve(dir) + path.sep)) throw new Error(`refusing to write '${rel}' outside ${dir}`);
  return file;
}

/** Copies every object under `prefix` into `dir` (keys relative to the prefix), skipping unchanged files. */
export async function pullPrefix(s3: S3Client, options: SyncOptions): Promise<SyncReport> {
  const { bucket, prefix, dir } = options;
  checkPrefix(prefix);
  const emit = options.onEvent ?? (() => undefined);
  fs.mkdirSync(dir, { recursive: true });
  const state = readState(dir, `s3://${bucket}/${prefix}`);
  const objects = [];
  for await (const o of listKeys(s3, { bucket, prefix, signal: options.signal })) {
    if (o.key.endsWith('/')) continue; // folder markers
    objects.push(o);
  }
  emit({ kind: 'plan', files: objects.length, bytes: objects.reduce((n, o) => n + o.size, 0) });
  const report = { copied: [] as string[], skipped: [] as string[], conflicts: [] as string[], bytes: 0 };
  let index = 0;
  for (const o of objects) {
    index++;
    const rel = o.key.slice(prefix.length);
    const local = localPathOf(dir, rel);
    const record = state.files[rel];
    if (await sameAsRemote(local, o, record)) {
      if (!record || record.etag !== o.etag || record.mtimeMs !== fs.statSync(local).mtimeMs) {
        state.files[rel] = { etag: o.etag, size: o.size, mtimeMs: fs.statSync(local).mtimeMs };
        writeState(dir, state);
      }
      report.skipped.push(rel);
      emit({ kind: 'skip', file: rel });
      continue;
    }
    // A local file that was edited since it was pulled (or that was never pulled) is not overwritten silently.
    if (fs.existsSync(local) && !options.force) {
      const st = fs.statSync(local);
      if (!record || record.mtimeMs !== st.mtimeMs || record.size !== st.size) {
        report.conflicts.push(rel);
        emit({ kind: 'conflict', file: rel });
        continue;
      }
    }
    emit({ kind: 'start', file: rel, size: o.size, index, total: objects.length });
    fs.mkdirSync(path.dirname(local), { recursive: true });
    const part = `${local}${PART_SUFFIX}`;
    try {
      const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.key, IfMatch: `"${o.etag}"` }), {
        abortSignal: options.signal,
      });
      let done = 0;
      let last = Date.now();
      await pipeline(
        r.Body as Readable,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            done += chunk.length;
            if (Date.now() - last > 1000) {
              last = Date.now();
              emit({ kind: 'progress', file: rel, bytes: done, size: o.size });
            }
            yield chunk;
          }
        },
        fs.createWriteStream(part),
        { signal: options.signal },
      );
    } catch (err) {
      fs.rmSync(part, { force: true });
      if (options.signal?.aborted) throw options.signal.reason;
      throw s3Error(err, 'GetObject', bucket, o.key);
    }
    fs.renameSync(part, local);
    state.files[rel] = { etag: o.etag, size: o.size, mtimeMs: fs.statSync(local).mtimeMs };
    writeState(dir, state);
    report.copied.push(rel);
    report.bytes += o.size;
    emit({ kind: 'done', file: rel, size: o.size });
  }
  return report;
}

/** Every file below `dir`, relative, '/'-separated, without our own bookkeeping files. */
function localFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile() && e.name !== SYNC_STATE_FILE && !e.name.endsWith(PART_SUFFIX))
        out.push(path.relative(dir, full).split(path.sep).join('/'));
    }
  };
  walk(dir);
  return out;
}

/**
 * Uploads every file below `dir` to `prefix`, skipping files the bucket already holds
 * unchanged. Each object is written whole (multipart for large files); the bucket's
 * versioning keeps what an upload replaces.
 */
export async function pushFolder(s3: S3Client, options: SyncOptions): Promise<SyncReport> {
  const { bucket, prefix, dir } = options;
  checkPrefix(prefix);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`local folder '${dir}' does not exist`);
  const emit = options.onEvent ?? (() => undefined);
  const state = readState(dir, `s3://${bucket}/${prefix}`);
  const files = localFiles(dir);
  emit({ kind: 'plan', files: files.length, bytes: files.reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0) });
  const report = { copied: [] as string[], skipped: [] as string[], conflicts: [] as string[], bytes: 0 };
  let index = 0;
  for (const rel of files) {
    index++;
    if (options.signal?.aborted) throw options.signal.reason;
    const local = path.join(dir, rel);
    const key = `${prefix}${rel}`;
    const remote = await headObject(s3, bucket, key);
    if (remote && (await sameAsRemote(local, remote, state.files[rel]))) {
      state.files[rel] = { etag: remote.etag, size: remote.size, mtimeMs: fs.statSync(local).mtimeMs };
      writeState(dir, state);
      report.skipped.push(rel);
      emit({ kind: 'skip', file: rel });
      continue;
    }
    const st = fs.statSync(local);
    emit({ kind: 'start', file: rel, size: st.size, index, total: files.length });
    let last = Date.now();
    const saved = await saveToBucket(s3, {
      bucket,
      key,
      body: fs.createReadStream(local),
      gzip: false,
      contentType: rel.endsWith('.csv') ? 'text/csv' : undefined,
      signal: options.signal,
      onProgress: (bytes) => {
        if (Date.now() - last > 1000) {
          last = Date.now();
          emit({ kind: 'progress', file: rel, bytes, size: st.size });
        }
      },
    });
    state.files[rel] = { etag: (saved.etag ?? '').replace(/"/g, ''), size: st.size, mtimeMs: st.mtimeMs };
    writeState(dir, state);
    report.copied.push(rel);
    report.bytes += st.size;
    emit({ kind: 'done', file: rel, size: st.size });
  }
  return report;
}
