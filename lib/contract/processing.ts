import { PROCESSING_INSTANCE_TYPES } from './instance-types.generated';
import { PARAMETER_PLACEHOLDER_PREFIX, parameterPath } from './parameters';
import { RUN_INPUT_PATHS } from './run-input';
import { closest } from './suggest';

/*
 * SageMaker Processing's facts (from the API reference) and BatCat's defaults for a job,
 * checked by the config layer and the task construct alike.
 */

export { PROCESSING_INSTANCE_TYPES } from './instance-types.generated';

/** SageMaker Processing's limits, from the API reference. */
export const PROCESSING_LIMITS = {
  maxInstanceCount: 100,
  maxVolumeSizeGb: 16_384,
  /** 9 days. */
  maxRuntimeSeconds: 777_600,
  maxEnvironmentVariables: 100,
  /** Inputs (with the query's result and the code) and outputs of one job, each. */
  maxChannels: 10,
} as const;

/**
 * Instance families whose storage is local NVMe (EC2's instance store), encrypted by the
 * instance's hardware: SageMaker refuses a `VolumeKmsKeyId` for them.
 */
export const INSTANCE_STORAGE_FAMILIES: readonly string[] = ['g4dn', 'g5', 'g6', 'g6e', 'g7e', 'p5', 'r5d'];

/** The instance type SageMaker takes (`ml.m5.large`) for one given without its prefix (`m5.large`), or the default. */
export function processingInstanceType(withoutPrefix?: string): string {
  return withoutPrefix !== undefined ? `ml.${withoutPrefix}` : PROCESSING_DEFAULTS.instanceType;
}

/** Whether `instanceType` (`ml.g5.xlarge`) has instance storage instead of an EBS volume. */
export function hasInstanceStorage(instanceType: string): boolean {
  return INSTANCE_STORAGE_FAMILIES.includes(instanceType.split('.')[1]);
}

/** Where a job's input is copied in the container unless it names another path. */
export function defaultInputPath(name: string): string {
  return `/opt/ml/processing/input/${name}`;
}

/** Where a job's script writes an output in the container unless it names another path. */
export function defaultOutputPath(name: string): string {
  return `/opt/ml/processing/output/${name}`;
}

/** Every channel's local path is below this. */
export const PROCESSING_PATH_ROOT = '/opt/ml/processing/';

/** Script mode: the script (and its folder) arrive as this input, at this path, as SKLearnProcessor delivers `code`. */
export const CODE_INPUT_NAME = 'code';
export const CODE_PATH = '/opt/ml/processing/input/code';

/** How an input reaches the container (`ProcessingS3InputMode`: Processing has no FastFile, which is a Training mode). */
export const INPUT_MODES = ['File', 'Pipe'] as const;
export type InputMode = (typeof INPUT_MODES)[number];
/** `S3CompressionType`: SageMaker decompresses Gzip only while it streams, in Pipe mode. */
export const COMPRESSION_TYPES = ['None', 'Gzip'] as const;
export type CompressionType = (typeof COMPRESSION_TYPES)[number];
/** `S3UploadMode` of an output. */
export const UPLOAD_MODES = ['EndOfJob', 'Continuous'] as const;
export type UploadMode = (typeof UPLOAD_MODES)[number];

/** The placeholders of container arguments, rendered per run in the state machine, and the run input path each reads. */
export const ARGUMENT_PLACEHOLDERS: Readonly<Record<string, string>> = {
  'window.start': RUN_INPUT_PATHS.windowStart,
  'window.end': RUN_INPUT_PATHS.windowEnd,
  'window.endExclusive': RUN_INPUT_PATHS.windowEndExclusive,
  'window.timezone': RUN_INPUT_PATHS.timezone,
  'run.id': RUN_INPUT_PATHS.runId,
};

/** The names a purpose's arguments may refer to besides the run's: its parameters, inputs (the query's result is `query`) and outputs. */
export interface PlaceholderScope {
  readonly parameters?: readonly string[];
  readonly inputs?: readonly string[];
  readonly outputs?: readonly string[];
}

/**
 * What a placeholder stands for: a run input path (the window, the run id, a parameter), the
 * S3 URI RecordRunInputs found for the n-th input (`{input.<name>.uri}`: the window start's
 * `dt=` folder of a partitioned input, else its folder), or the S3 folder this try's job writes
 * an output to (`{output.<name>.uri}`, the attempt folder the commit makes the window's result).
 */
export type PlaceholderValue =
  | { readonly kind: 'run'; readonly path: string }
  | { readonly kind: 'input'; readonly index: number }
  | { readonly kind: 'output'; readonly name: string };

/** What `placeholder` stands for in `scope`, or undefined for one that does not exist. */
export function placeholderValue(placeholder: string, scope: PlaceholderScope): PlaceholderValue | undefined {
  if (placeholder.startsWith(PARAMETER_PLACEHOLDER_PREFIX)) {
    const name = placeholder.slice(PARAMETER_PLACEHOLDER_PREFIX.length);
    return scope.parameters?.includes(name) ? { kind: 'run', path: parameterPath(name) } : undefined;
  }
  const uri = /^(input|output)\.([a-z0-9][a-z0-9_-]*)\.uri$/.exec(placeholder);
  if (uri) {
    const index = (uri[1] === 'input' ? scope.inputs : scope.outputs)?.indexOf(uri[2]) ?? -1;
    if (index < 0) return undefined;
    return uri[1] === 'input' ? { kind: 'input', index } : { kind: 'output', name: uri[2] };
  }
  const path = ARGUMENT_PLACEHOLDERS[placeholder];
  return path !== undefined ? { kind: 'run', path } : undefined;
}

/** Every placeholder `scope` allows, as written in arguments. */
export function placeholderNames(scope: PlaceholderScope): string[] {
  return [
    ...Object.keys(ARGUMENT_PLACEHOLDERS),
    ...(scope.parameters ?? []).map((p) => `${PARAMETER_PLACEHOLDER_PREFIX}${p}`),
    ...(scope.inputs ?? []).map((i) => `input.${i}.uri`),
    ...(scope.outputs ?? []).map((o) => `output.${o}.uri`),
  ];
}

/** A run-time value in an argument: `{window.start}`, `{input.usage-raw.uri}`; braces around anything else (JSON, say) are literal. */
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_][A-Za-z0-9_-]*)*)\}/g;

/** An argument cut at its placeholders: literal parts, with the placeholder names between them. */
export function splitPlaceholders(argument: string): { parts: string[]; placeholders: string[] } {
  const parts: string[] = [];
  const placeholders: string[] = [];
  let last = 0;
  for (const m of argument.matchAll(PLACEHOLDER)) {
    parts.push(argument.slice(last, m.index));
    placeholders.push(m[1]);
    last = m.index + m[0].length;
  }
  parts.push(argument.slice(last));
  return { parts, placeholders };
}

/** What a purpose's job gets unless the project file or the props say otherwise. */
export const PROCESSING_DEFAULTS = {
  instanceType: 'ml.m5.large',
  instanceCount: 1,
  volumeSizeGb: 30,
  maxRuntimeSeconds: 3600,
  /** How long a run waits for instance quota (ResourceLimitExceeded) before it fails. */
  quotaWaitSeconds: 6 * 3600,
  /** The longest wait for instance quota we allow: 3 days. */
  maxQuotaWaitSeconds: 3 * 86_400,
} as const;

/** How a purpose's runs are cut into windows and backfilled unless the project file or the props say otherwise. */
export const RUN_DEFAULTS = {
  windowDays: 1,
  backfillConcurrency: 2,
  /** The most runs of one backfill at once (Step Functions Map concurrency we allow). */
  maxBackfillConcurrency: 40,
  /** The longest window, in days. */
  maxWindowDays: 366,
  timezone: 'UTC',
} as const;

/** The closest allowed instance types to `value`, for "did you mean" hints. */
export function suggestInstanceTypes(value: string, max = 5): string[] {
  return closest(value, PROCESSING_INSTANCE_TYPES, max);
}
