/**
 * Patterns shared by the project-file schema and the constructs, so a value the config layer
 * accepts is never rejected later by a construct (or the other way round).
 */

/** Lowercase letters, digits and single hyphens, starting and ending with a letter or digit. */
export const KEBAB_NAME = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$/;

/** The longest purpose name: it is part of state machine, alarm and job names. */
export const MAX_PURPOSE_NAME_LENGTH = 30;

/**
 * An S3 folder: relative, ending with '/', made of characters that need no escaping in S3
 * URIs or in Step Functions intrinsic functions.
 */
export const KEY_PREFIX = /^(?:[A-Za-z0-9!_.*()=+-]+\/)*$/;

/** Where an output is written unless it names a prefix: `results/<purpose>/<output>/`. */
export function resultsPrefix(purpose: string, output: string): string {
  return `results/${purpose}/${output}/`;
}

/** Glue database and table names: lowercase letters, digits and underscores. */
export const GLUE_NAME = /^[a-z_][a-z0-9_]{0,254}$/;

/** The project's Glue database: `batcat_<project>_<stage>`. */
export function projectDatabaseName(project: string, stage: string): string {
  return `batcat_${project}_${stage}`.replace(/-/g, '_');
}

/** The table an output is registered as unless it names one: `<purpose>_<output>`. */
export function resultTableName(purpose: string, output: string): string {
  return `${purpose}_${output}`.replace(/-/g, '_');
}

/** Where the project workgroup writes query results: `<prefix><query execution id>.csv`. */
export const QUERY_RESULTS_PREFIX = 'athena-results/';
