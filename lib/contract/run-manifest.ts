/*
 * The manifest of a run: which object versions it read, what it ran, and which object versions
 * it wrote, written to `_batcat/runs/<purpose>/<run id>/manifest.json` in the purpose's bucket
 * (and to the run's folder by run-local). Its inputs are recorded before the job starts, so an
 * input overwritten while the job runs is recorded as the job read it; its outputs after the
 * commit, as the window's result holds them.
 */
import { createHash } from 'node:crypto';
import type { Requirement } from './requirements';
import type { RunInputWindow, TriggerDetails } from './run-input';

/** The manifest's format; a change that readers must know about bumps it. */
export const RUN_MANIFEST_VERSION = 1;

/** The most input objects one manifest records: more fails the run before the job (`BatCat.RunManifestTooLarge`). */
export const MAX_RUN_MANIFEST_INPUT_OBJECTS = 100_000;

/** The most objects recorded per output; beyond it the output is marked `truncated`, the run goes on. */
export const MAX_RUN_MANIFEST_OUTPUT_OBJECTS = 10_000;

/** Where the runs' manifests are, in each purpose's bucket. */
export const RUN_MANIFESTS_PREFIX = '_batcat/runs/';

/** The folder of one purpose's run manifests. */
export function runManifestsPrefix(purpose: string): string {
  return `${RUN_MANIFESTS_PREFIX}${purpose}/`;
}

/** The key of a run's manifest, and of its inputs recorded before the job. */
export function runManifestKeys(purpose: string, runId: string): { manifest: string; inputs: string } {
  const folder = `${runManifestsPrefix(purpose)}${runId}/`;
  return { manifest: `${folder}manifest.json`, inputs: `${folder}inputs.json` };
}

/** One object as it was read or written: `versionId` is `null` in a bucket without versioning. */
export interface ManifestObject {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly versionId: string | null;
  /** The rows of a Parquet output file, from its footer. */
  readonly rows?: number;
}

/** Where one input or output is, for this run: folders (ending with '/') or objects of one bucket. */
export interface ManifestLocation {
  readonly name: string;
  readonly bucket: string;
  readonly prefixes: readonly string[];
}

/** One input or output with the objects found. */
export interface ManifestChannel extends ManifestLocation {
  readonly objects: readonly ManifestObject[];
  /** More objects than a manifest records (outputs only). */
  readonly truncated?: boolean;
  /** The rows of its Parquet files (outputs with any). */
  readonly rows?: number;
}

/** What ran: as the state machine knows it. */
export interface ManifestRun {
  readonly purpose: string;
  readonly runId: string;
  readonly execution: string;
  readonly window: RunInputWindow;
  readonly timezone: string;
  readonly attempt: number;
  readonly trigger: TriggerDetails;
  readonly jobName: string;
  /** The image the job ran: an asset's tag is the hash of its folder. */
  readonly image: string;
  /** The script mode code's S3 location: its key is the hash of its files. */
  readonly code?: string;
  readonly arguments?: readonly string[];
  /** The run's parameter values (the run input's `parameters`), when the purpose declares any. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** The project's git commit when it was synthesized, when known. */
  readonly gitCommit?: string;
  /** The packages the image brings (its requirements files, its framework), as `batcat doctor --run` compares them. */
  readonly requirements?: readonly Requirement[];
}

/** `manifest.json`. */
export interface RunManifest extends ManifestRun {
  readonly version: typeof RUN_MANIFEST_VERSION;
  readonly inputs: readonly ManifestChannel[];
  readonly outputs: readonly ManifestChannel[];
  readonly inputsRecordedAt: string;
  readonly outputsRecordedAt: string;
}

/** The error a manifest over its limit fails the run with, before the job. */
/** Where `batcat reproduce --remote` stages the versions a run read, per purpose: expired after 30 days. */
export const REPRODUCTIONS_PREFIX = '_batcat/reproduce/';

/**
 * How a reproduction's run id ends (`<run id>-<UTC time>-repro`): the trigger's rules leave its
 * end alone (no `after:` purpose starts, the ledger is not touched).
 */
export const REPRODUCTION_SUFFIX = '-repro';

/** The run id of a reproduction of `runId` started at `now`. */
export function reproductionRunId(runId: string, now: Date): string {
  return `${runId}-${now.toISOString().replace(/[-:T]/g, '').slice(0, 14)}${REPRODUCTION_SUFFIX}`;
}

/** The staging folder of one reproduction run. */
export function reproductionPrefix(purpose: string, runId: string): string {
  return `${REPRODUCTIONS_PREFIX}${purpose}/${runId}/`;
}

/**
 * What a reproduction's run input adds (`reproduction`): the run it reproduces, the S3 URI the
 * job reads for each input (`u<n>`, in the order of the run manifest's inputs), and for a query
 * purpose the recorded query's id. The state machine then skips the ledger, the query and the
 * commit: the outputs stay in the attempt's folder, to be compared with the recorded ones.
 */
export interface ReproductionInput {
  readonly of: string;
  readonly uris: Readonly<Record<string, string>>;
  readonly queryExecutionId?: string;
}

export const RUN_MANIFEST_TOO_LARGE = 'BatCat.RunManifestTooLarge';

/**
 * What a run's result depends on, as one key (`cache: true`): its code (the image, whose asset
 * tag is the hash of its folder, and a script's content-hashed archive), its arguments and
 * parameter values, and the content of every input object (key, ETag and size: a file uploaded
 * again unchanged keeps its key; its new version does not matter). The window is the ledger
 * item's own, so it is not part of the key.
 */
export function runCacheKey(run: ManifestRun, inputs: readonly ManifestChannel[]): string {
  const canonical = {
    image: run.image,
    code: run.code ?? null,
    arguments: run.arguments ?? [],
    parameters: Object.fromEntries(Object.entries(run.parameters ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))),
    inputs: [...inputs]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((i) => [i.name, [...i.objects].sort((a, b) => (a.key < b.key ? -1 : 1)).map((o) => [o.key, o.etag, o.size])]),
  };
  return `sha256:${createHash('sha256').update(JSON.stringify(canonical)).digest('hex')}`;
}
