import type { IConstruct } from 'constructs';

/** An error that names the construct it comes from, as aws-cdk-lib's own validation errors do. */
export function scopedError(scope: IConstruct, message: string): Error {
  return new Error(`${scope.node.path}: ${message}`);
}

/** Throws a scoped error for the problem a shared rule (lib/contract/rules.ts) found, if any. */
export function check(scope: IConstruct, problem: string | undefined): void {
  if (problem !== undefined) throw scopedError(scope, problem);
}
