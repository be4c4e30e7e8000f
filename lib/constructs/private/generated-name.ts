import { Names } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/*
 * Physical names for constructs their user did not name. They come from the top-level stack's
 * name and the construct path, with a hash of both: unique in an account and region (stack
 * names are), the same on every synth, and known at synth time, which the trust policies and
 * the names derived from them need. That also holds in nested stacks, whose names are tokens.
 */

/** A name of letters, digits and '-', at most `maxLength` characters. */
export function generatedName(scope: IConstruct, maxLength: number): string {
  return Names.uniqueResourceName(scope, { maxLength, separator: '-', allowedSpecialCharacters: '-' });
}

/** A Glue and Athena name: lowercase letters, digits and '_', at most `maxLength` characters. */
export function generatedGlueName(scope: IConstruct, maxLength: number): string {
  return Names.uniqueResourceName(scope, { maxLength, separator: '_' }).toLowerCase();
}
