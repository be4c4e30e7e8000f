/*
 * The run manifest's two steps (lib/contract/run-manifest.ts): before the job, the versions of
 * every object the job will read; after the commit, the versions of what it wrote, with the
 * inputs, as `manifest.json`. Run by lambda/run-manifest/ inside AWS and by run-local.
 */
import { windowProblem } from '../contract/dates';
import {
  MAX_RUN_MANIFEST_INPUT_OBJECTS,
  MAX_RUN_MANIFEST_OUTPUT_OBJECTS,
  RUN_MANIFEST_TOO_LARGE,
  RUN_MANIFEST_VERSION,
  runCacheKey,
  runManifestKeys,
  type ManifestChannel,
  type ManifestObject,
  type ManifestRun,
  type RunManifest,
} from '../contract/run-manifest';
import { s3Uri } from '../contract/s3-uri';
import { dayPrefix, daysOf } from '../contract/window-manifest';
import type { ObjectStore } from './commit';
import { withParquetRows } from './parquet-rows';

/** The current version of each object below `prefix` (no deleted ones), at most `atMost` and then perhaps one more. */
export type VersionLister = (bucket: string, prefix: string, atMost: number) => Promise<ManifestObject[]>;

/** An input as the state machine describes it: which of its folders this run reads. */
export interface ManifestInputSpec {
  readonly name: string;
  readonly bucket: string;
  /** A folder ending with '/', or one object's key (or, for a query result, its file's key). */
  readonly prefix: string;
  /** `day`: the window start's `dt=` folder; `window`: each day's; `all`: the whole prefix. */
  readonly read: 'all' | 'day' | 'window';
  /** Where the same folders are read when `bucket` has no object in them (a branch stage's parent bucket). */
  readonly fallbackBucket?: string;
}

export interface RecordInputsRequest {
  /** The purpose's bucket, which holds the manifests. */
  readonly bucket: string;
  readonly run: ManifestRun;
  readonly inputs: readonly ManifestInputSpec[];
}

export interface RecordOutputsRequest {
  readonly bucket: string;
  readonly purpose: string;
  readonly runId: string;
  /** Each output's window result folder. */
  readonly outputs: ReadonlyArray<{ readonly name: string; readonly bucket: string; readonly prefix: string }>;
}

/**
 * What the job reads of an input in this run, as its `S3Uri`: the window start's `dt=` folder,
 * or the whole prefix (a window's days are read through a manifest, whose base this is).
 */
export function inputUri(i: Pick<ManifestInputSpec, 'bucket' | 'prefix' | 'read'>, window: { start: string }): string {
  return s3Uri(i.bucket, i.read === 'day' ? dayPrefix(i.prefix, window.start) : i.prefix);
}

/** The folders an input spec stands for in this run. */
function prefixesOf(i: ManifestInputSpec, window: { start: string; end: string }): string[] {
  if (i.read === 'day') return [dayPrefix(i.prefix, window.start)];
  if (i.read === 'window') return daysOf(window).map((d) => dayPrefix(i.prefix, d));
  return [i.prefix];
}

class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = RUN_MANIFEST_TOO_LARGE;
  }
}

/** Records the current version of every object the job will read, in `inputs.json`; fails before the job when there are too many. */
export async function recordRunInputs(
  list: VersionLister,
  store: ObjectStore,
  request: RecordInputsRequest,
  limit = MAX_RUN_MANIFEST_INPUT_OBJECTS,
  now = () => new Date(),
): Promise<{ inputs: string; objects: number; uris: Record<string, string>; cacheKey: string }> {
  const problem = windowProblem(request.run.window);
  if (problem) throw new Error(`not a run manifest request: ${problem}`);
  const inputs: ManifestChannel[] = [];
  let total = 0;
  const uris: Record<string, string> = {};
  for (const [n, given] of request.inputs.entries()) {
    const prefixes = prefixesOf(given, request.run.window);
    let i = given;
    let objects = await listInput(list, i, prefixes, limit, total);
    // A branch stage reads its parent's folder when it has nothing of its own there.
    if (objects.length === 0 && given.fallbackBucket !== undefined) {
      i = { ...given, bucket: given.fallbackBucket };
      objects = await listInput(list, i, prefixes, limit, total);
    }
    total += objects.length;
    uris[`u${n}`] = inputUri(i, request.run.window);
    inputs.push({ name: i.name, bucket: i.bucket, prefixes, objects });
  }
  const key = runManifestKeys(request.run.purpose, request.run.runId).inputs;
  await store.write(key, JSON.stringify({ run: request.run, inputs, inputsRecordedAt: now().toISOString() }));
  return { inputs: s3Uri(request.bucket, key), objects: total, uris, cacheKey: runCacheKey(request.run, inputs) };
}

/** The current versions below an input's folders; fails when the run would read more than `limit` objects. */
async function listInput(
  list: VersionLister,
  i: ManifestInputSpec,
  prefixes: readonly string[],
  limit: number,
  before: number,
): Promise<ManifestObject[]> {
  const objects: ManifestObject[] = [];
  for (const p of prefixes) {
    objects.push(...(await list(i.bucket, p, limit - before - objects.length)));
    if (before + objects.length > limit) {
      throw new ManifestError(
        `the run reads more than ${limit.toLocaleString('en-US')} objects (input '${i.name}' under ${s3Uri(i.bucket, i.prefix)} alone has ${objects.length.toLocaleString('en-US')} so far), ` +
          'more than one run manifest records. Nothing was run. Run shorter windows, or compact the input into fewer, larger files.',
      );
    }
  }
  return objects;
}

/** Adds the versions of what the run's commit made its outputs, and writes `manifest.json`. */
export async function recordRunOutputs(
  list: VersionLister,
  store: ObjectStore,
  request: RecordOutputsRequest,
  limit = MAX_RUN_MANIFEST_OUTPUT_OBJECTS,
  now = () => new Date(),
): Promise<{ manifest: string; inputObjects: number; outputObjects: number; outputRows?: number; unreadableParquet?: string[] }> {
  const keys = runManifestKeys(request.purpose, request.runId);
  const recorded = await store.read(keys.inputs);
  if (recorded === undefined) throw new Error(`the run's inputs were not recorded: ${s3Uri(request.bucket, keys.inputs)} is missing`);
  const before = JSON.parse(recorded) as { run: ManifestRun; inputs: ManifestChannel[]; inputsRecordedAt: string };
  const outputs: ManifestChannel[] = [];
  const unreadable: string[] = [];
  for (const o of request.outputs) {
    const listed = await list(o.bucket, o.prefix, limit);
    // The outputs are in the manifest's bucket, whose store reads their footers.
    const counted = o.bucket === request.bucket ? await withParquetRows(store, listed.slice(0, limit)) : undefined;
    const objects = counted?.objects ?? listed.slice(0, limit);
    unreadable.push(...(counted?.unreadable ?? []));
    const rows = objects.filter((x) => x.rows !== undefined);
    outputs.push({
      name: o.name,
      bucket: o.bucket,
      prefixes: [o.prefix],
      objects,
      ...(listed.length > limit ? { truncated: true } : {}),
      ...(rows.length > 0 ? { rows: rows.reduce((n, x) => n + x.rows!, 0) } : {}),
    });
  }
  const manifest: RunManifest = {
    version: RUN_MANIFEST_VERSION,
    ...before.run,
    inputs: before.inputs,
    outputs,
    inputsRecordedAt: before.inputsRecordedAt,
    outputsRecordedAt: now().toISOString(),
  };
  await store.write(keys.manifest, JSON.stringify(manifest, null, 2));
  return {
    manifest: s3Uri(request.bucket, keys.manifest),
    inputObjects: before.inputs.reduce((n, i) => n + i.objects.length, 0),
    outputObjects: outputs.reduce((n, o) => n + o.objects.length, 0),
    ...(outputs.some((o) => o.rows !== undefined) ? { outputRows: outputs.reduce((n, o) => n + (o.rows ?? 0), 0) } : {}),
    ...(unreadable.length > 0 ? { unreadableParquet: unreadable } : {}),
  };
}
