/*
 * A branch stage: a stage of a project that reads its parent stage's data where it has none of
 * its own, and writes only its own buckets. `batcat stage create` looks the parent's buckets up
 * in its deployed stack and records them in `cdk.context.json`, so every synth of the branch
 * (the CLI's and `cdk synth`'s) names the same buckets without asking AWS.
 */

/** The file, in the project root, that holds the branch records (CDK's file for values looked up in an account). */
export const BRANCH_CONTEXT_FILE = 'cdk.context.json';

/** The context key of a branch's record. */
export const branchContextKey = (project: string, branch: string) => `batcat:branch:${project}:${branch}`;

/** What a branch stage knows of its parent: the parent's data buckets and key, as its stack outputs named them. */
export interface BranchStage {
  /** The stage it branched from. */
  readonly parent: string;
  /** The parent's stack. */
  readonly parentStack: string;
  /** The parent's project bucket. */
  readonly dataBucket: string;
  /** The parent's data key: the branch's roles decrypt the parent's objects with it (through S3 only). */
  readonly dataKeyArn: string;
  /** The parent's purpose buckets, by purpose name (`storage: per-purpose`); empty with `shared`. */
  readonly purposeBuckets: Readonly<Record<string, string>>;
  /** When `batcat stage create` recorded it. */
  readonly createdAt: string;
}

/** The IAM path of a branch's roles: below its parent's, so the parent's data policies let them read (never write). */
export const branchRolePath = (project: string, parent: string, branch: string) => `/batcat/${project}/${parent}/${branch}/`;

/** What is wrong with a branch record read from `cdk.context.json`, if anything. */
export function branchProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'is not an object';
  const v = value as Record<string, unknown>;
  for (const field of ['parent', 'parentStack', 'dataBucket', 'dataKeyArn', 'createdAt']) {
    if (typeof v[field] !== 'string' || v[field] === '') return `has no ${field}`;
  }
  if (!/^arn:aws[a-z-]*:kms:/.test(v.dataKeyArn as string)) return `dataKeyArn '${String(v.dataKeyArn)}' is not a KMS key ARN`;
  const buckets = v.purposeBuckets;
  if (buckets === null || typeof buckets !== 'object' || Array.isArray(buckets)) return 'has no purposeBuckets object';
  const bad = Object.entries(buckets).find(([, b]) => typeof b !== 'string' || b === '');
  if (bad) return `purposeBuckets.${bad[0]} is not a bucket name`;
  return undefined;
}
