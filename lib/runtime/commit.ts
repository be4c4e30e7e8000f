/*
 * The commit of a run's results. A job writes each output under a folder of its own attempt
 * (`<output prefix>_attempts/<execution name>/`); only after the run succeeded does the commit
 * make that the window's result: it copies the attempt's objects into `dt=<window start>/`,
 * removes what an earlier attempt left there, and removes the attempt's folder. A failed run never
 * touches the window's result, and a rerun replaces it whole.
 *
 * The commit is safe to retry at any point: its first step records the attempt's keys in a
 * manifest next to the attempt's folder, and every later step works from that manifest.
 */

/** Where a store keeps objects: S3 on AWS, a folder in local runs. */
export interface ObjectStore {
  /** Every key under `prefix`, with its size in bytes; with `atMost`, it may stop once it has more than that many. */
  list(prefix: string, atMost?: number): Promise<Array<{ key: string; size: number }>>;
  copy(from: string, to: string, size: number): Promise<void>;
  delete(keys: readonly string[]): Promise<void>;
  read(key: string): Promise<string | undefined>;
  write(key: string, body: string): Promise<void>;
  /** Bytes [start, end) of one version of an object (`null`: the current one), where the store can read ranges. */
  readRange?(key: string, versionId: string | null, start: number, end: number): Promise<Uint8Array>;
}

/** One output to commit: the attempt's folder and the window's result folder, both ending with '/'. */
export interface OutputCommit {
  readonly name: string;
  readonly attemptPrefix: string;
  readonly resultPrefix: string;
}

/** What the commit did per output. */
export interface CommitResult {
  readonly outputs: ReadonlyArray<{ readonly name: string; readonly committed: number; readonly removed: number }>;
}

/** The manifest of an attempt's folder: `<...>_attempts/<name>/` → `<...>_attempts/<name>.manifest.json`. */
export function manifestKey(attemptPrefix: string): string {
  return `${attemptPrefix.replace(/\/$/, '')}.manifest.json`;
}

/** Copies this many objects at once. */
const CONCURRENCY = 16;

export async function commitOutputs(store: ObjectStore, outputs: readonly OutputCommit[]): Promise<CommitResult> {
  const results = [];
  for (const o of outputs) results.push({ name: o.name, ...(await commitOutput(store, o)) });
  return { outputs: results };
}

async function commitOutput(store: ObjectStore, o: OutputCommit): Promise<{ committed: number; removed: number }> {
  if (!o.attemptPrefix.endsWith('/') || !o.resultPrefix.endsWith('/')) {
    throw new Error(`commit folders must end with '/': ${o.attemptPrefix}, ${o.resultPrefix}`);
  }
  const manifest = manifestKey(o.attemptPrefix);
  const recorded = await store.read(manifest);
  // The attempt's files, relative to its folder: from the manifest of an earlier try, or listed now and recorded first.
  let files: Array<{ path: string; size: number }>;
  if (recorded !== undefined) {
    files = JSON.parse(recorded) as Array<{ path: string; size: number }>;
  } else {
    files = (await store.list(o.attemptPrefix)).map((f) => ({ path: f.key.slice(o.attemptPrefix.length), size: f.size }));
    await store.write(manifest, JSON.stringify(files));
  }
  const present = new Set((await store.list(o.attemptPrefix)).map((f) => f.key));
  // A file no longer in the attempt's folder was copied by an earlier try, which then removed it.
  await forEachLimited(
    files.filter((f) => present.has(o.attemptPrefix + f.path)),
    CONCURRENCY,
    (f) => store.copy(o.attemptPrefix + f.path, o.resultPrefix + f.path, f.size),
  );
  const keep = new Set(files.map((f) => o.resultPrefix + f.path));
  const stale = (await store.list(o.resultPrefix)).map((f) => f.key).filter((k) => !keep.has(k));
  await store.delete(stale);
  await store.delete([...present]);
  await store.delete([manifest]);
  return { committed: files.length, removed: stale.length };
}

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
