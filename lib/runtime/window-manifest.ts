/*
 * The partition step of a run whose window is longer than a day: for each partitioned input it
 * lists the window's `dt=` partitions, writes the SageMaker manifest the job reads the input
 * through, and reports the days present and missing. Run by lambda/manifest/ inside AWS and by
 * run-local against the local data folder.
 */
import { windowProblem, type RunWindow } from '../contract/dates';
import { s3Uri } from '../contract/s3-uri';
import {
  buildWindowManifest,
  dayPrefix,
  daysOf,
  MAX_MANIFEST_BYTES,
  MAX_MANIFEST_OBJECTS,
  windowManifestName,
  type WindowInput,
  type WindowInputReport,
} from '../contract/window-manifest';
import type { ObjectStore } from './commit';

/** What the state machine sends: where the run's manifests go, its window, and the inputs to list. */
export interface WindowManifestRequest {
  /** The purpose's bucket, which holds the manifests. */
  readonly bucket: string;
  /** The run's manifest folder, ending with '/'. */
  readonly manifestPrefix: string;
  readonly window: RunWindow;
  readonly inputs: readonly WindowInput[];
}

/** What the step returns, and the run's output keeps. */
export interface WindowManifestResult {
  readonly inputs: readonly WindowInputReport[];
  /** The days missing, summed over the inputs: 0 when every input had every day. */
  readonly missingDays: number;
}

export async function writeWindowManifests(
  storeOf: (bucket: string) => ObjectStore,
  request: WindowManifestRequest,
  limits = { objects: MAX_MANIFEST_OBJECTS, bytes: MAX_MANIFEST_BYTES },
): Promise<WindowManifestResult> {
  const problem =
    windowProblem(request.window) ??
    (request.manifestPrefix.endsWith('/') ? undefined : `manifestPrefix must end with '/': ${request.manifestPrefix}`) ??
    request.inputs.map((i) => (i.prefix.endsWith('/') ? undefined : `input '${i.name}': prefix must end with '/'`)).find(Boolean);
  if (problem) throw new Error(`not a window manifest request: ${problem}`);
  const built = [];
  // Every input is listed and checked before any manifest is written: a run that stops here leaves nothing behind.
  for (const given of request.inputs) {
    let listed = await listWindow(storeOf(given.bucket), given, request.window, limits.objects);
    let input = given;
    // A branch stage reads its parent's partitions of the window when it has none of its own.
    if (listed.objects === 0 && given.fallbackBucket !== undefined) {
      input = { ...given, bucket: given.fallbackBucket };
      listed = await listWindow(storeOf(input.bucket), input, request.window, limits.objects);
    }
    const manifest = buildWindowManifest(input, request.window, listed.keysByDay, limits);
    built.push({ input, manifest, bytes: listed.bytes });
  }
  const reports: WindowInputReport[] = [];
  const manifests = storeOf(request.bucket);
  for (const { input, manifest, bytes } of built) {
    const key = `${request.manifestPrefix}${windowManifestName(input.name)}`;
    await manifests.write(key, manifest.body);
    reports.push({
      name: input.name,
      manifest: s3Uri(request.bucket, key),
      bucket: input.bucket,
      days: manifest.days,
      missingDays: manifest.missingDays,
      objects: manifest.objects,
      bytes,
    });
  }
  return { inputs: reports, missingDays: reports.reduce((n, r) => n + r.missingDays.length, 0) };
}

/** The keys of an input's partitions of the window, day by day; stops once there are more than `atMost`. */
async function listWindow(
  store: ObjectStore,
  input: WindowInput,
  window: RunWindow,
  atMost: number,
): Promise<{ keysByDay: Map<string, string[]>; objects: number; bytes: number }> {
  const keysByDay = new Map<string, string[]>();
  let objects = 0;
  let bytes = 0;
  for (const day of daysOf(window)) {
    // One more than the limit is enough to know the manifest is too large.
    const found = await store.list(dayPrefix(input.prefix, day), atMost - objects);
    keysByDay.set(
      day,
      found.map((f) => f.key),
    );
    objects += found.length;
    bytes += found.reduce((sum, f) => sum + f.size, 0);
    if (objects > atMost) break;
  }
  return { keysByDay, objects, bytes };
}
