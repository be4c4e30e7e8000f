/*
 * Which bucket each folder of a project lives in. The stack creates the buckets from it and the
 * command line finds them with it, so both decide it here.
 */

/** `per-purpose`: each purpose owns a bucket. `shared`: one project bucket holds every folder. */
export const STORAGE_MODES = ['per-purpose', 'shared'] as const;
export type StorageMode = (typeof STORAGE_MODES)[number];

/** The default: each purpose owns its bucket, as the design says. */
export const DEFAULT_STORAGE: StorageMode = 'per-purpose';

/**
 * With `per-purpose`, each purpose takes 3 of the parent stack's 500 resources (its nested stack,
 * its bucket, the bucket's policy), about 5.3 KB of its 1,000,000 bytes (544 KB at 100 purposes
 * with names of the maximum length, `npm run bench`) and 1 of its 200 outputs. 120 leaves room
 * for the project's own resources, a dashboard per 50 purposes, alarm e-mails and long
 * `dataAccess` lists, which every bucket policy repeats (test/app/scale.test.ts checks it).
 */
export const MAX_PER_PURPOSE_BUCKETS = 120;

/** The general purpose buckets an AWS account may have by default (S3 quota, raisable on request). */
export const ACCOUNT_BUCKET_QUOTA = 10_000;

/** The folders of a purpose in the project's storage: not another bucket's, not another purpose's output. */
export interface StoragePurpose {
  readonly name: string;
  /** Folders it reads by prefix or key (raw data), in file order. */
  readonly reads: readonly string[];
  /** Its output folders. */
  readonly writes: readonly string[];
}

/** A folder and the purpose whose bucket holds it. */
export interface OwnedFolder {
  readonly prefix: string;
  readonly purpose: string;
}

const overlaps = (a: string, b: string) => a.startsWith(b) || b.startsWith(a);

/**
 * Which purpose's bucket holds which folder. With `per-purpose`: a purpose's outputs are in its
 * own bucket; a folder it reads is in the bucket of the first purpose (in file order) that reads
 * it or a folder overlapping it, so data pushed once is there for every purpose that reads it.
 * Overlapping read folders join, under the shorter prefix, in the earlier purpose's bucket.
 * With `shared`, nothing is owned: everything is in the project bucket.
 */
export function ownedFolders(mode: StorageMode, purposes: readonly StoragePurpose[]): OwnedFolder[] {
  if (mode === 'shared') return [];
  const writes = purposes.flatMap((p) => p.writes.map((prefix) => ({ prefix, purpose: p.name })));
  let reads: OwnedFolder[] = [];
  for (const p of purposes) {
    for (const prefix of p.reads) {
      if (writes.some((w) => overlaps(w.prefix, prefix))) continue; // refused by the folder rules anyway
      const joined = reads.filter((r) => overlaps(r.prefix, prefix));
      if (joined.length === 0) {
        reads.push({ prefix, purpose: p.name });
        continue;
      }
      const shortest = [prefix, ...joined.map((r) => r.prefix)].reduce((a, b) => (b.length < a.length ? b : a));
      reads = [...reads.filter((r) => !joined.includes(r)), { prefix: shortest, purpose: joined[0].purpose }];
    }
  }
  return [...writes, ...reads];
}

/** The purpose whose bucket holds `key` (a folder or an object key), or undefined for the project bucket. */
export function ownerOf(owned: readonly OwnedFolder[], key: string): string | undefined {
  return owned.find((o) => key.startsWith(o.prefix))?.purpose;
}

/** The owned folders below `folder` (a parent folder such as `results/`). */
function foldersBelow(owned: readonly OwnedFolder[], folder: string): OwnedFolder[] {
  return owned.filter((o) => o.prefix.startsWith(folder) && o.prefix !== folder);
}

/** Where a folder the command line copies lives: a purpose's bucket, the project bucket, or several buckets. */
export type FolderHome =
  | { readonly kind: 'purpose'; readonly purpose: string }
  | { readonly kind: 'project' }
  | { readonly kind: 'several'; readonly folders: readonly OwnedFolder[] };

/**
 * Where `folder` lives: in the bucket of the purpose that owns it (or owns every folder below it),
 * in the project bucket when no purpose owns it or anything below it, or in several buckets.
 */
export function homeOf(owned: readonly OwnedFolder[], folder: string): FolderHome {
  const owner = ownerOf(owned, folder);
  if (owner !== undefined) return { kind: 'purpose', purpose: owner };
  const below = foldersBelow(owned, folder);
  const owners = new Set(below.map((o) => o.purpose));
  if (owners.size === 0) return { kind: 'project' };
  if (owners.size === 1) return { kind: 'purpose', purpose: below[0].purpose };
  return { kind: 'several', folders: below };
}

/** The stack output that names the project bucket. */
export const DATA_BUCKET_OUTPUT = 'DataBucketName';

/** The stack output that names the key of the stage's data buckets. */
export const DATA_KEY_OUTPUT = 'DataKeyArn';

/** The stack output that names the bucket of the data buckets' access logs. */
export const ACCESS_LOGS_BUCKET_OUTPUT = 'AccessLogsBucketName';

/** The stack output that names the run ledger's table. */
export const LEDGER_TABLE_OUTPUT = 'LedgerTableName';

/** The stack output that names a purpose's bucket: its name with '-' as 'X' (names are lowercase, so this is one-to-one). */
export function purposeBucketOutputKey(purpose: string): string {
  return `PurposeBucket${purpose.replace(/-/g, 'X')}`;
}

/** How many buckets a stage of the project has: the purposes' (per-purpose), the project's, and its access logs. */
export function bucketsPerStage(mode: StorageMode, purposes: number): number {
  return (mode === 'per-purpose' ? purposes : 0) + 2;
}
