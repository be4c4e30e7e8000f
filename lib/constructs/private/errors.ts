import { QueryLanguage } from 'aws-cdk-lib/aws-stepfunctions';
import type { IConstruct } from 'constructs';

/** An error that names the construct it comes from, as aws-cdk-lib's own validation errors do. */
export function scopedError(scope: IConstruct, message: string): Error {
  return new Error(`${scope.node.path}: ${message}`);
}

/** Throws a scoped error for the problem a shared rule (lib/contract/rules.ts) found, if any. */
export function check(scope: IConstruct, problem: string | undefined): void {
  if (problem !== undefined) throw scopedError(scope, problem);
}

/** Our tasks render JSONPath parameters: in a JSONata state machine, they must say so. */
export function requireJsonPath(task: IConstruct, own: QueryLanguage | undefined, topLevel: QueryLanguage | undefined): void {
  if ((own ?? topLevel) === QueryLanguage.JSONATA) {
    throw scopedError(task, `${task.constructor.name} renders JSONPath parameters; set queryLanguage: QueryLanguage.JSON_PATH on the task`);
  }
}
