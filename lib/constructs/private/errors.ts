import type { IConstruct } from 'constructs';

/** An error that names the construct it comes from, as aws-cdk-lib's own validation errors do. */
export function scopedError(scope: IConstruct, message: string): Error {
  return new Error(`${scope.node.path}: ${message}`);
}
