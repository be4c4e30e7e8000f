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
