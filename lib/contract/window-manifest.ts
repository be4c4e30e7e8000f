/*
 * Windows over partitions. One processing input is one S3 prefix, so a run of several days over
 * a folder of daily `dt=YYYY-MM-DD/` partitions reads them through a SageMaker manifest
 * (`S3DataType: ManifestFile`): `[{"prefix": "s3://<bucket>/<folder>"}, "dt=.../file", ...]`.
 * The keys are relative to the input's folder, so the script finds one `dt=` subfolder per day
 * present under the input's local path, as it would after copying the folder itself.
 */
import { addDays, daysIn, type RunWindow } from './dates';
import { s3Uri } from './s3-uri';

/**
 * The most objects one input's manifest lists. Listing them takes one ListObjectsV2 page per
 * 1,000 keys (100 pages here, seconds), and the manifest is built in the function's memory.
 */
export const MAX_MANIFEST_OBJECTS = 100_000;

/** The largest manifest, in bytes: 100,000 keys of up to about 160 characters. */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/** Where a run's manifests are written, in the purpose's bucket: one folder per execution. */
export const WINDOW_MANIFESTS_PREFIX = '_batcat/window-manifests/';

/** How long a run's manifests are kept: a redriven or retried job must still find its manifest. */
export const WINDOW_MANIFEST_RETENTION_DAYS = 30;

/** The folder of one purpose's manifests. */
export function windowManifestsPrefix(purpose: string): string {
  return `${WINDOW_MANIFESTS_PREFIX}${purpose}/`;
}

/** The key of one input's manifest, below the run's folder. */
export function windowManifestName(input: string): string {
  return `${input}.manifest`;
}

/** Errors of the partition step, as the state machine sees them (the Lambda error type). */
export const WINDOW_ERRORS = {
  /** Some days of the window have no partition, and the input says `complete: true`. */
  missingDays: 'BatCat.MissingPartitions',
  /** No day of the window has a partition: the job would read nothing. */
  noDays: 'BatCat.EmptyWindow',
  /** The manifest would be larger than MAX_MANIFEST_OBJECTS or MAX_MANIFEST_BYTES. */
  tooLarge: 'BatCat.ManifestTooLarge',
} as const;

/** One input the partition step lists. */
export interface WindowInput {
  readonly name: string;
  readonly bucket: string;
  /** The input's folder, ending with '/': its partitions are `<prefix>dt=YYYY-MM-DD/`. */
  readonly prefix: string;
  /** Fail the run when a day of the window has no partition. */
  readonly complete: boolean;
  /** Where the partitions are listed when none of the window's is in `bucket` (a branch stage's parent bucket). */
  readonly fallbackBucket?: string;
}

/** What the partition step reports per input: the run's output carries it. */
export interface WindowInputReport {
  readonly name: string;
  /** `s3://<purpose bucket>/<manifest key>`. */
  readonly manifest: string;
  /** The bucket the manifest's objects are in: the input's, or its fallback's when the input's had none of the window. */
  readonly bucket: string;
  /** The days of the window that have a partition with at least one object. */
  readonly days: readonly string[];
  /** The days of the window without one. */
  readonly missingDays: readonly string[];
  readonly objects: number;
  readonly bytes: number;
}

/** The days of a window, first to last. */
export function daysOf(window: RunWindow): string[] {
  return Array.from({ length: daysIn(window) }, (_, i) => addDays(window.start, i));
}

/** The partition folder of one day below an input's folder. */
export function dayPrefix(prefix: string, day: string): string {
  return `${prefix}dt=${day}/`;
}

/** A partition-step error, named as the state machine catches it. */
export class WindowError extends Error {
  constructor(name: (typeof WINDOW_ERRORS)[keyof typeof WINDOW_ERRORS], message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * The manifest of one input for one window, from the keys found under each day's partition
 * (full keys, each starting with `dayPrefix(input.prefix, day)`). Throws a WindowError when the
 * window has no data, when a day is missing from a `complete` input, or when the manifest is
 * over its limits: each before the job starts.
 */
export function buildWindowManifest(
  input: WindowInput,
  window: RunWindow,
  keysByDay: ReadonlyMap<string, readonly string[]>,
  limits = { objects: MAX_MANIFEST_OBJECTS, bytes: MAX_MANIFEST_BYTES },
): { body: string; days: string[]; missingDays: string[]; objects: number } {
  const where = s3Uri(input.bucket, input.prefix);
  const days = daysOf(window);
  const present = days.filter((d) => (keysByDay.get(d) ?? []).length > 0);
  const missingDays = days.filter((d) => !present.includes(d));
  const range = `${window.start} .. ${window.end}`;
  if (present.length === 0) {
    throw new WindowError(
      WINDOW_ERRORS.noDays,
      `input '${input.name}' has no partition in the window ${range}: nothing under ${where}dt=<day>/ for any of its ${days.length} days. ` +
        `Check that the upstream runs or the uploads for these days happened (batcat runs), or run a window that has data.`,
    );
  }
  if (input.complete && missingDays.length > 0) {
    throw new WindowError(
      WINDOW_ERRORS.missingDays,
      `input '${input.name}' says complete: true, but ${missingDays.length} of the ${days.length} days of the window ${range} ` +
        `have no partition under ${where}: ${missingDays.join(', ')}. Nothing was run. Fill those days (their upstream runs or uploads) ` +
        `and run the window again, or set complete: false to run on the days present.`,
    );
  }
  const relative: string[] = [];
  for (const d of present) {
    for (const key of keysByDay.get(d)!) {
      if (!key.startsWith(input.prefix)) throw new Error(`key ${key} is not below ${input.prefix}`);
      relative.push(key.slice(input.prefix.length));
    }
  }
  const tooLarge = (what: string) =>
    new WindowError(
      WINDOW_ERRORS.tooLarge,
      `input '${input.name}' has ${what} in the window ${range} under ${where}; one run's manifest holds at most ` +
        `${limits.objects.toLocaleString('en-US')} objects and ${limits.bytes / 1024 / 1024} MiB. Nothing was run. ` +
        `Run shorter windows (batcat run --from/--to, or a smaller window), or compact each day's files into fewer, larger ones.`,
    );
  if (relative.length > limits.objects) throw tooLarge(`${relative.length.toLocaleString('en-US')} objects`);
  const body = JSON.stringify([{ prefix: where }, ...relative]);
  const bytes = Buffer.byteLength(body);
  if (bytes > limits.bytes) throw tooLarge(`a manifest of ${(bytes / 1024 / 1024).toFixed(1)} MiB`);
  return { body, days: present, missingDays, objects: relative.length };
}
