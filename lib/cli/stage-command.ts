import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ProjectConfig } from '../config/load-project';
import { BRANCH_CONTEXT_FILE, branchContextKey, type BranchStage } from '../contract/branch';
import { stageProblem } from '../contract/rules';
import { s3Uri } from '../contract/s3-uri';
import {
  ACCESS_LOGS_BUCKET_OUTPUT,
  DATA_BUCKET_OUTPUT,
  DATA_KEY_OUTPUT,
  LEDGER_TABLE_OUTPUT,
  ownerOf,
  purposeBucketOutputKey,
} from '../contract/storage';
import { listKeys, type S3ObjectSummary } from '../io/s3';
import { copyObject } from '../runtime/s3-store';
import { stackOutputs } from './data-commands';
import { projectContext, UsageError } from './project-context';

/*
 * `batcat stage create | diff | promote | delete`: branch stages (lib/contract/branch.ts). A
 * branch reads its parent's data where it has none of its own and writes only its own buckets;
 * these commands record it, show where its data differs, copy chosen results to the parent,
 * and remove it.
 */

export interface StageDeps {
  readonly cloudformation: CloudFormationClient;
  readonly s3: S3Client;
  readonly dynamodb?: DynamoDBClient;
  readonly out: (line: string) => void;
  /** Asks before anything is changed in the parent or deleted; false stops the command. */
  readonly confirm: (question: string) => Promise<boolean>;
  /** Runs the CDK CLI in the project root with these arguments, resolving to its exit code. */
  readonly cdk: (args: readonly string[]) => Promise<number>;
}

/** `batcat stage create <project> <branch> --from <stage>`: records the parent's buckets, then deploys the branch. */
export async function createStage(
  rootDir: string,
  projectName: string,
  branch: string,
  from: string,
  deploy: boolean,
  deps: StageDeps,
): Promise<number> {
  const problem = stageProblem(branch);
  if (problem) throw new UsageError(`the branch name: ${problem}`);
  if (branch === from) throw new UsageError(`a stage cannot be a branch of itself: give another name than '${from}'`);
  const parent = projectContext(rootDir, projectName, from);
  if (parent.branch) {
    throw new UsageError(
      `stage '${from}' is itself a branch of '${parent.branch.parent}'; branch from '${parent.branch.parent}' (a branch reads one parent, whose data it never writes)`,
    );
  }
  const existing = readBranches(rootDir)[branchContextKey(projectName, branch)] as BranchStage | undefined;
  if (existing && existing.parent !== from) {
    throw new UsageError(
      `'${branch}' is already a branch of '${existing.parent}' (${BRANCH_CONTEXT_FILE}); delete it first (batcat stage delete ${projectName} ${branch}) or choose another name`,
    );
  }
  deps.out(`reading the buckets of ${parent.stackName} (stage ${from})...`);
  const outputs = await stackOutputs(deps.cloudformation, parent.stackName, 'first: a branch reads the deployed data of its parent');
  if (!outputs[DATA_KEY_OUTPUT] || !outputs[DATA_BUCKET_OUTPUT]) {
    throw new UsageError(
      `stack ${parent.stackName} has no ${DATA_KEY_OUTPUT} output: it was deployed by an older BatCat, without the policy that keeps branches from writing its data; deploy it again (npx cdk deploy ${parent.stackName}) first`,
    );
  }
  const purposeBuckets = Object.fromEntries(
    parent.purposes.flatMap((p) => (outputs[purposeBucketOutputKey(p.name)] ? [[p.name, outputs[purposeBucketOutputKey(p.name)]]] : [])),
  );
  const record: BranchStage = {
    parent: from,
    parentStack: parent.stackName,
    dataBucket: outputs[DATA_BUCKET_OUTPUT],
    dataKeyArn: outputs[DATA_KEY_OUTPUT],
    purposeBuckets,
    createdAt: new Date().toISOString(),
  };
  writeBranch(rootDir, projectName, branch, record);
  const config = projectContext(rootDir, projectName, branch);
  deps.out(
    `${existing ? 'updated' : 'recorded'} branch ${branch} of ${from} in ${BRANCH_CONTEXT_FILE}: its stack ${config.stackName} reads ` +
      `${[record.dataBucket, ...Object.values(purposeBuckets)].join(', ')} where it has no data of its own, and writes only its own buckets`,
  );
  const args = ['deploy', config.stackName, '-c', `batcat:stage=${branch}`];
  if (!deploy) {
    deps.out(`deploy it with: npx cdk ${args.join(' ')}`);
    return 0;
  }
  deps.out(`deploying: npx cdk ${args.join(' ')}`);
  const code = await deps.cdk(args);
  if (code !== 0) deps.out(`cdk deploy failed (exit ${code}); the branch stays recorded: fix the cause and run npx cdk ${args.join(' ')}`);
  return code === 0 ? 0 : 1;
}

/** One folder of the project's storage, in the branch's and the parent's bucket. */
interface ComparedFolder {
  readonly prefix: string;
  /** Outputs are what promote copies; inputs are shown. */
  readonly kind: 'output' | 'input';
  readonly branchBucket: string;
  readonly parentBucket: string;
}

/** A partition (`<folder>dt=.../`) or a whole folder whose objects differ between the branch and its parent. */
export interface DifferingPrefix {
  readonly prefix: string;
  readonly kind: 'output' | 'input';
  /** `new`: the parent has nothing there; `changed`: both have objects, not the same ones. */
  readonly status: 'new' | 'changed';
  readonly branchBucket: string;
  readonly parentBucket: string;
  readonly branchObjects: readonly S3ObjectSummary[];
  readonly parentObjects: readonly S3ObjectSummary[];
}

/** `batcat stage diff`: the prefixes where the branch's data differs from its parent's, printed as a table. */
export async function diffStage(rootDir: string, projectName: string, branch: string, deps: StageDeps): Promise<number> {
  const { differing } = await compareStage(rootDir, projectName, branch, deps);
  if (differing.length === 0) {
    deps.out('no differences: the branch has no data of its own (it reads its parent), or only the same objects');
    return 0;
  }
  printDiffering(differing, deps.out);
  return 0;
}

async function compareStage(
  rootDir: string,
  projectName: string,
  branch: string,
  deps: StageDeps,
): Promise<{ config: ProjectConfig; record: BranchStage; differing: DifferingPrefix[] }> {
  const config = projectContext(rootDir, projectName, branch);
  const record = branchOf(config);
  const outputs = await stackOutputs(deps.cloudformation, config.stackName);
  // A branch compares with, and promotes into, a deployed parent; its retained buckets alone are not one.
  await stackOutputs(
    deps.cloudformation,
    record.parentStack,
    `again, or delete branch ${branch} (batcat stage delete ${projectName} ${branch}): its parent stage ${record.parent} was deleted`,
  );
  const differing: DifferingPrefix[] = [];
  for (const folder of foldersOf(config, record, outputs, deps.out)) {
    const [mine, theirs] = await Promise.all([
      list(deps.s3, folder.branchBucket, folder.prefix),
      list(deps.s3, folder.parentBucket, folder.prefix),
    ]);
    deps.out(`compared ${folder.prefix}: ${mine.length} object(s) in the branch, ${theirs.length} in ${record.parent}`);
    const parentUnits = byUnit(folder.prefix, theirs);
    for (const [unit, objects] of byUnit(folder.prefix, mine)) {
      const other = parentUnits.get(unit) ?? [];
      const same =
        other.length === objects.length &&
        objects.every((o) => other.some((p) => p.key === o.key && p.etag === o.etag && p.size === o.size));
      if (same) continue;
      differing.push({
        prefix: unit,
        kind: folder.kind,
        status: other.length === 0 ? 'new' : 'changed',
        branchBucket: folder.branchBucket,
        parentBucket: folder.parentBucket,
        branchObjects: objects,
        parentObjects: other,
      });
    }
  }
  return { config, record, differing };
}

/**
 * `batcat stage promote`: makes each chosen result prefix of the parent the branch's (copies
 * every object, removes the parent's others) after a confirmation. The parent's replaced
 * versions stay readable for its keepVersions days.
 */
export async function promoteStage(
  rootDir: string,
  projectName: string,
  branch: string,
  prefixes: readonly string[],
  deps: StageDeps,
): Promise<number> {
  const { record, differing } = await compareStage(rootDir, projectName, branch, deps);
  const candidates = differing.filter((d) => d.kind === 'output');
  const chosen = prefixes.length === 0 ? candidates : candidates.filter((d) => prefixes.some((p) => d.prefix.startsWith(p)));
  const unmatched = prefixes.filter((p) => !candidates.some((d) => d.prefix.startsWith(p)));
  if (unmatched.length > 0) {
    throw new UsageError(
      `nothing to promote under ${unmatched.join(', ')}: ` +
        (candidates.length > 0
          ? `the results that differ from ${record.parent} are ${candidates.map((d) => d.prefix).join(', ')}`
          : `no result of the branch differs from ${record.parent}`) +
        ' (only result folders are promoted; inputs are the parent’s to change)',
    );
  }
  if (chosen.length === 0) {
    deps.out(`nothing to promote: no result of branch ${branch} differs from ${record.parent}`);
    return 0;
  }
  const conflicts = await changedSince(deps.s3, chosen, record.createdAt);
  if (conflicts.length > 0) {
    throw new UsageError(
      `${record.parent} changed since branch ${branch} was made (${record.createdAt}), where the promotion would write:\n` +
        conflicts.map((c) => `  ${c}`).join('\n') +
        `\nnothing was promoted; to promote over these changes, make the branch again from ${record.parent} ` +
        `(batcat stage create ${projectName} ${branch} --from ${record.parent}) and run its purposes again`,
    );
  }
  deps.out(`promoting to ${record.parent} (each parent prefix becomes the branch's; the versions it replaces are kept):`);
  printDiffering(chosen, deps.out);
  const removed = (d: DifferingPrefix) => d.parentObjects.filter((p) => !d.branchObjects.some((o) => o.key === p.key));
  const total = chosen.reduce((n, d) => n + d.branchObjects.length, 0);
  if (!(await deps.confirm(`copy ${total} object(s) of ${chosen.length} prefix(es) to ${record.parent}, replacing what is there?`))) {
    deps.out('nothing was promoted');
    return 1;
  }
  let copied = 0;
  let deleted = 0;
  for (const d of chosen) {
    for (const o of d.branchObjects) {
      await copyObject(deps.s3, { bucket: d.branchBucket, key: o.key }, { bucket: d.parentBucket, key: o.key }, o.size);
      copied++;
      deps.out(`  [${copied}/${total}] ${s3Uri(d.parentBucket, o.key)}`);
    }
    const extra = removed(d).map((o) => o.key);
    if (extra.length > 0) {
      await deleteKeys(
        deps.s3,
        d.parentBucket,
        extra.map((Key) => ({ Key })),
      );
      deleted += extra.length;
      deps.out(`  removed ${extra.length} object(s) of ${s3Uri(d.parentBucket, d.prefix)} the branch does not have`);
    }
  }
  deps.out(`promoted ${chosen.length} prefix(es) to ${record.parent}: ${copied} object(s) copied, ${deleted} removed`);
  return 0;
}

/**
 * `batcat stage delete`: destroys the branch's stack and forgets the branch; with `deleteData`,
 * also empties and deletes its buckets and deletes its run ledger. Never the parent's.
 */
export async function deleteStage(
  rootDir: string,
  projectName: string,
  branch: string,
  deleteData: boolean,
  deps: StageDeps,
): Promise<number> {
  const config = projectContext(rootDir, projectName, branch);
  const record = branchOf(config);
  const outputs = await stackOutputs(deps.cloudformation, config.stackName).catch((e: Error) => {
    if (!(e instanceof UsageError)) throw e;
    return undefined;
  });
  const buckets = outputs
    ? [
        outputs[DATA_BUCKET_OUTPUT],
        ...config.purposes.map((p) => outputs[purposeBucketOutputKey(p.name)]),
        outputs[ACCESS_LOGS_BUCKET_OUTPUT],
      ].filter((b): b is string => Boolean(b))
    : [];
  const parentBuckets = new Set([record.dataBucket, ...Object.values(record.purposeBuckets)]);
  const clash = buckets.find((b) => parentBuckets.has(b));
  if (clash) throw new UsageError(`refusing: ${clash} is a bucket of the parent ${record.parent}, which stage delete never touches`);
  if (deleteData && !outputs) {
    throw new UsageError(
      `stack ${config.stackName} is not deployed, so its buckets cannot be named from its outputs; delete them by hand (they are tagged batcat:stage=${branch}), then run this again without --delete-data`,
    );
  }
  const what = deleteData
    ? `destroy ${config.stackName} and delete its data for good: ${buckets.join(', ')} (every version) and the run ledger ${outputs?.[LEDGER_TABLE_OUTPUT] ?? ''}`
    : `destroy ${config.stackName} (its buckets, key and ledger are kept; --delete-data deletes them)`;
  if (!(await deps.confirm(`${what}?`))) {
    deps.out('nothing was deleted');
    return 1;
  }
  if (outputs) {
    const args = ['destroy', config.stackName, '-c', `batcat:stage=${branch}`, '--force'];
    deps.out(`destroying: npx cdk ${args.join(' ')}`);
    const code = await deps.cdk(args);
    if (code !== 0) {
      deps.out(`cdk destroy failed (exit ${code}); nothing else was deleted and the branch stays recorded`);
      return 1;
    }
  }
  if (deleteData) {
    for (const bucket of buckets) {
      const n = await emptyBucket(deps.s3, bucket, deps.out);
      await deps.s3.send(new DeleteBucketCommand({ Bucket: bucket }));
      deps.out(`deleted s3://${bucket} (${n} object version(s) and delete marker(s))`);
    }
    const table = outputs?.[LEDGER_TABLE_OUTPUT];
    if (table && deps.dynamodb) {
      await deps.dynamodb.send(new DeleteTableCommand({ TableName: table }));
      deps.out(`deleted the run ledger ${table}`);
    }
    if (outputs?.[DATA_KEY_OUTPUT]) {
      deps.out(
        `the branch's key is kept (deleting a key cannot be undone after its waiting period); to delete it: aws kms schedule-key-deletion --key-id ${outputs[DATA_KEY_OUTPUT]} --pending-window-in-days 7`,
      );
    }
  }
  removeBranch(rootDir, projectName, branch);
  deps.out(`branch ${branch} of ${record.parent} deleted${deleteData ? ' with its data' : '; its data is kept'}`);
  return 0;
}

function branchOf(config: ProjectConfig): BranchStage {
  if (!config.branch) {
    throw new UsageError(
      `stage '${config.stage}' of ${config.project} is not a branch (no ${branchContextKey(config.project, config.stage)} in ${BRANCH_CONTEXT_FILE}); ` +
        'stage diff, promote and delete work on branches made by batcat stage create',
    );
  }
  return config.branch;
}

/** The folders of the project's storage a purpose writes or reads, in the branch's bucket and the parent's. */
function foldersOf(
  config: ProjectConfig,
  record: BranchStage,
  outputs: Record<string, string>,
  out: (line: string) => void,
): ComparedFolder[] {
  const ownBucket = (purpose: string | undefined) => (purpose && outputs[purposeBucketOutputKey(purpose)]) || outputs[DATA_BUCKET_OUTPUT];
  const parentBucket = (purpose: string | undefined) => (purpose && record.purposeBuckets[purpose]) || record.dataBucket;
  const folders = new Map<string, ComparedFolder>();
  const add = (prefix: string, kind: ComparedFolder['kind'], owner: string | undefined) => {
    if (folders.has(prefix) && folders.get(prefix)!.kind === 'output') return;
    if (owner && config.storage === 'per-purpose' && !record.purposeBuckets[owner]) {
      out(`${prefix}: purpose ${owner} has no bucket in ${record.parent} (added in the branch?), so it is not compared`);
      return;
    }
    const branchBucket = ownBucket(owner);
    if (!branchBucket) throw new UsageError(`stack ${config.stackName} has no ${DATA_BUCKET_OUTPUT} output; is it a BatCat project stack?`);
    folders.set(prefix, { prefix, kind, branchBucket, parentBucket: parentBucket(owner) });
  };
  for (const p of config.purposes) {
    for (const o of p.outputs) add(o.prefix, 'output', config.storage === 'per-purpose' ? p.name : undefined);
    for (const i of p.inputs) {
      if (i.bucket === undefined && i.from === undefined) add(i.prefix, 'input', ownerOf(config.ownedFolders, i.prefix));
    }
  }
  return [...folders.values()];
}

/**
 * Each version or deletion in the parent's prefixes made since the branch was: `since` is taken
 * down to its second, as S3's LastModified may be, so a change in that second counts.
 */
async function changedSince(s3: S3Client, prefixes: readonly DifferingPrefix[], since: string): Promise<string[]> {
  const from = Math.floor(Date.parse(since) / 1000) * 1000;
  const out: string[] = [];
  for (const d of prefixes) {
    for await (const page of versionPages(s3, d.parentBucket, d.prefix)) {
      for (const v of page.Versions ?? []) {
        if (v.LastModified && v.LastModified.getTime() >= from)
          out.push(`${s3Uri(d.parentBucket, v.Key!)} written ${v.LastModified.toISOString()}`);
      }
      for (const m of page.DeleteMarkers ?? []) {
        if (m.LastModified && m.LastModified.getTime() >= from)
          out.push(`${s3Uri(d.parentBucket, m.Key!)} deleted ${m.LastModified.toISOString()}`);
      }
    }
  }
  return out;
}

async function list(s3: S3Client, bucket: string, prefix: string): Promise<S3ObjectSummary[]> {
  const out: S3ObjectSummary[] = [];
  for await (const o of listKeys(s3, { bucket, prefix })) out.push(o);
  return out;
}

/** Objects by the unit compared: the `dt=` partition right below the folder, else the folder; failed attempts left out. */
function byUnit(folder: string, objects: readonly S3ObjectSummary[]): Map<string, S3ObjectSummary[]> {
  const units = new Map<string, S3ObjectSummary[]>();
  for (const o of objects) {
    const rest = o.key.slice(folder.length);
    if (rest.startsWith('_attempts/')) continue;
    const dt = /^dt=[^/]+\//.exec(rest);
    const unit = dt ? folder + dt[0] : folder;
    units.set(unit, [...(units.get(unit) ?? []), o]);
  }
  return units;
}

function printDiffering(differing: readonly DifferingPrefix[], out: (line: string) => void): void {
  const rows = differing.map((d) => [d.status, d.kind, d.prefix, String(d.branchObjects.length), String(d.parentObjects.length)]);
  const head = ['STATUS', 'KIND', 'PREFIX', 'BRANCH', 'PARENT'];
  const width = head.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k].length)));
  for (const r of [head, ...rows])
    out(
      r
        .map((c, k) => c.padEnd(width[k]))
        .join('  ')
        .trimEnd(),
    );
}

/** The pages of ListObjectVersions of a bucket (under `prefix`), one request each. */
async function* versionPages(s3: S3Client, bucket: string, prefix?: string): AsyncGenerator<ListObjectVersionsCommandOutput> {
  let markers: { KeyMarker?: string; VersionIdMarker?: string } = {};
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, ...markers }));
    yield page;
    if (!page.IsTruncated) return;
    markers = { KeyMarker: page.NextKeyMarker, VersionIdMarker: page.NextVersionIdMarker };
  }
}

/** Deletes every version and delete marker of a bucket, page by page; returns how many. */
async function emptyBucket(s3: S3Client, bucket: string, out: (line: string) => void): Promise<number> {
  let n = 0;
  for await (const page of versionPages(s3, bucket)) {
    const batch = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key!, VersionId: v.VersionId }));
    if (batch.length > 0) {
      await deleteKeys(s3, bucket, batch);
      n += batch.length;
      out(`  s3://${bucket}: ${n} version(s) deleted`);
    }
  }
  return n;
}

async function deleteKeys(s3: S3Client, bucket: string, objects: Array<{ Key: string; VersionId?: string }>): Promise<void> {
  for (let i = 0; i < objects.length; i += 1000) {
    const r = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects.slice(i, i + 1000), Quiet: true } }));
    if (r.Errors?.length) {
      const e = r.Errors[0];
      throw new Error(`could not delete ${r.Errors.length} object(s) of s3://${bucket}/, e.g. ${e.Key}: ${e.Code} ${e.Message}`);
    }
  }
}

function contextFile(rootDir: string): string {
  return path.join(rootDir, BRANCH_CONTEXT_FILE);
}

function readBranches(rootDir: string): Record<string, unknown> {
  const file = contextFile(rootDir);
  if (!fs.existsSync(file)) return {};
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`${file} is not JSON (${(e as Error).message}); fix or remove it`);
  }
}

/** Writes the context file with the branch's record, every other key kept (CDK's lookups among them). */
function writeBranch(rootDir: string, project: string, branch: string, record: BranchStage | undefined): void {
  const context = readBranches(rootDir);
  const key = branchContextKey(project, branch);
  if (record) context[key] = record;
  else delete context[key];
  const tmp = `${contextFile(rootDir)}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, `${JSON.stringify(context, null, 2)}\n`);
  fs.renameSync(tmp, contextFile(rootDir));
}

function removeBranch(rootDir: string, project: string, branch: string): void {
  writeBranch(rootDir, project, branch, undefined);
}
