import { createHash } from 'node:crypto';
import { shortHash } from './run-input';

/*
 * The names BatCat gives: what a name may look like, and the physical names derived from a
 * project and its purposes. The constructs give these names and the CLI finds resources by
 * them, so both derive them here.
 */

/** Lowercase letters, digits and single hyphens, starting and ending with a letter or digit. */
export const KEBAB_NAME = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$/;

/** Project names: 3-30 characters, they name the stack, the jobs and the bucket contents. */
export const PROJECT_NAME_LENGTH = { min: 3, max: 30 } as const;

/** The longest purpose name: it is part of state machine, alarm and job names. */
export const MAX_PURPOSE_NAME_LENGTH = 30;

/** Step Functions' limit on state machine names. */
export const MAX_STATE_MACHINE_NAME_LENGTH = 80;

/** A stage: 1-8 lowercase letters or digits, starting with a letter. */
export const STAGE_NAME = /^[a-z][a-z0-9]{0,7}$/;

/**
 * An S3 folder: relative, ending with '/', made of characters that need no escaping in S3
 * URIs or in Step Functions intrinsic functions, and without `*`, which would be a wildcard in
 * the IAM resource patterns built from the prefix.
 */
export const KEY_PREFIX = /^(?:[A-Za-z0-9!_.()=+-]+\/)*$/;

/** An input or output name: it becomes a folder under /opt/ml/processing. */
export const CHANNEL_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Glue database and table names: lowercase letters, digits and underscores. */
export const GLUE_NAME = /^[a-z_][a-z0-9_]{0,254}$/;

/** SageMaker job names. */
export const JOB_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/** The start of every job name of a task: 1-30 characters of a job name. */
export const JOB_NAME_PREFIX = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,29}$/;

/** Where the project workgroup writes query results: `<prefix><query execution id>.csv`. */
export const QUERY_RESULTS_PREFIX = 'athena-results/';
/** Where the project's workgroup (people's `batcat query`) writes its results. */
export const ADHOC_QUERY_RESULTS_PREFIX = `${QUERY_RESULTS_PREFIX}adhoc/`;
/** Where a query-fed purpose's own workgroup writes its results: readable by that purpose's job only. */
export const purposeQueryResultsPrefix = (purpose: string) => `${QUERY_RESULTS_PREFIX}purposes/${purpose}/`;

/** `batcat-<project>-<stage>`: the stack, and the prefix of every physical name in it. */
export function projectStackName(project: string, stage: string): string {
  return `batcat-${project}-${stage}`;
}

/** Where an output is written unless it names a prefix: `results/<purpose>/<output>/`. */
export function resultsPrefix(purpose: string, output: string): string {
  return `results/${purpose}/${output}/`;
}

/** The project's Glue database: `batcat_<project>_<stage>`. */
export function projectDatabaseName(project: string, stage: string): string {
  return `batcat_${project}_${stage}`.replace(/-/g, '_');
}

/** The table an output is registered as unless it names one: `<purpose>_<output>`. */
export function resultTableName(purpose: string, output: string): string {
  return `${purpose}_${output}`.replace(/-/g, '_');
}

/** `<namePrefix>-<purpose>`: the state machine of a purpose; in a project stack, `batcat-<project>-<stage>-<purpose>`. */
export function purposeStateMachineName(namePrefix: string, purpose: string): string {
  return `${namePrefix}-${purpose}`;
}

/** `<purpose, at most 23 characters>-<6 hex digits of the state machine name>`: at most 30 characters, unique per state machine. */
export function jobNamePrefix(purposeName: string, stateMachineName: string): string {
  const hash = createHash('sha256').update(stateMachineName).digest('hex').slice(0, 6);
  return `${purposeName.slice(0, 23).replace(/-+$/, '')}-${hash}`;
}

/** The trigger function of the purpose whose state machine is `stateMachineName` (at most 64 characters). */
export function triggerFunctionName(stateMachineName: string): string {
  return derivedName(stateMachineName, 'trigger', 64);
}

/** The dead-letter queue of that trigger (at most 80 characters). */
export function triggerDeadLetterQueueName(stateMachineName: string): string {
  return derivedName(stateMachineName, 'trigger-dlq', 80);
}

/** The backfill state machine of the purpose whose state machine is `stateMachineName` (at most 80 characters). */
export function backfillStateMachineName(stateMachineName: string): string {
  return derivedName(stateMachineName, 'backfill', 80);
}

/** Turns a rejected name into the closest valid one, for error messages. */
export function suggestName(value: string, maxLength: number): string {
  const s = value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, maxLength);
  return s.replace(/-+$/, '') || 'my-project';
}

/** `<base>-<suffix>`, or when that is too long, `<start of base>-<6 hex of base>-<suffix>`: unique and stable. */
function derivedName(base: string, suffix: string, max: number): string {
  const plain = `${base}-${suffix}`;
  if (plain.length <= max) return plain;
  const head = base.slice(0, max - suffix.length - 8).replace(/-+$/, '');
  return `${head}-${shortHash(6, base)}-${suffix}`;
}

/** The IAM path of every role of a stage: an account shared by stages can deny iam:PassRole on it by path. */
export const rolePath = (project: string, stage: string) => `/batcat/${project}/${stage}/`;

/** The folder below each output where a run's job writes, one subfolder per attempt, before its commit. */
export const ATTEMPTS_FOLDER = '_attempts/';

/** The Glue table over an output table's attempt folders, which a run's data checks read before its commit. */
export function attemptsTableName(table: string): string {
  return `${table}_attempts`;
}
