/*
 * `batcat doctor --external`: what the owners of other teams' buckets and keys must add to their
 * bucket and key policies for the project's jobs to read them, with the job roles' ARNs when the
 * stack is deployed, and a probe of each bucket with the caller's own credentials.
 */
import { ListStackResourcesCommand, type CloudFormationClient, type StackResourceSummary } from '@aws-sdk/client-cloudformation';
import { GetBucketLocationCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { ProjectConfig } from '../config/load-project';
import { purposeStateMachineName } from '../contract/names';

/** One input of a purpose in a bucket the project does not own. */
export interface ExternalRead {
  readonly purpose: string;
  readonly input: string;
  readonly bucket: string;
  /** A folder ending with '/', or one object's key. */
  readonly prefix: string;
  readonly kmsKey?: string;
  /** Listed by the partition step of runs longer than a day. */
  readonly listedByStep: boolean;
}

/** The inputs of `project` in other buckets, in file order. */
export function externalReads(project: ProjectConfig): ExternalRead[] {
  return project.purposes.flatMap((p) =>
    p.inputs
      .filter((i) => i.bucket !== undefined)
      .map((i) => ({
        purpose: p.name,
        input: i.name,
        bucket: i.bucket!,
        prefix: i.prefix,
        kmsKey: i.kmsKey,
        listedByStep: i.partitioned && p.maxWindowDays > 1,
      })),
  );
}

/** Who reads: the exact roles of a deployed stack, or the stage's role path in an account. */
export type Readers =
  | {
      readonly kind: 'roles';
      readonly account: string;
      /** Purpose -> its job role's ARN and, with a partition step, that step's role's ARN. */
      readonly roles: ReadonlyMap<string, { readonly job: string; readonly step?: string }>;
    }
  | { readonly kind: 'path'; readonly account?: string };

type Statement = Record<string, unknown>;

/** A policy value as people write it: one string alone, several as a list. */
const oneOrMany = (values: readonly string[]) => (values.length === 1 ? values[0] : [...values]);

const sid = (...parts: string[]) =>
  parts
    .join('-')
    .split(/[^A-Za-z0-9]+/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');

/** The principal and condition a statement for `purpose` names: its roles, or every role of the stage. */
function principalOf(project: ProjectConfig, readers: Readers, purpose: string, withStep: boolean): Statement {
  if (readers.kind === 'roles') {
    const r = readers.roles.get(purpose)!;
    return { Principal: { AWS: oneOrMany(withStep && r.step ? [r.job, r.step] : [r.job]) } };
  }
  const account = readers.account ?? '<account-id>';
  return {
    Principal: { AWS: `arn:aws:iam::${account}:root` },
    Condition: { ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${account}:role${project.rolePath}*` } },
  };
}

/** The bucket-policy statements the owner of `bucket` adds: per purpose, read below its folders and list them. */
export function bucketPolicyStatements(
  project: ProjectConfig,
  bucket: string,
  reads: readonly ExternalRead[],
  readers: Readers,
): Statement[] {
  const statements: Statement[] = [];
  for (const purpose of [...new Set(reads.map((r) => r.purpose))]) {
    const mine = reads.filter((r) => r.purpose === purpose);
    const objects = mine.map((r) => `arn:aws:s3:::${bucket}/${r.prefix}${r.prefix.endsWith('/') ? '*' : ''}`);
    const read = principalOf(project, readers, purpose, false);
    statements.push({
      Sid: sid('BatCat', project.project, project.stage, purpose, 'Read'),
      Effect: 'Allow',
      ...read,
      Action: 's3:GetObject',
      Resource: oneOrMany(objects),
    });
    const list = principalOf(
      project,
      readers,
      purpose,
      mine.some((r) => r.listedByStep),
    );
    const prefixes = mine.map((r) => `${r.prefix}${r.prefix.endsWith('/') ? '*' : ''}`);
    statements.push({
      Sid: sid('BatCat', project.project, project.stage, purpose, 'List'),
      Effect: 'Allow',
      ...list,
      Action: 's3:ListBucket',
      Resource: `arn:aws:s3:::${bucket}`,
      Condition: { ...(list.Condition ?? {}), StringLike: { 's3:prefix': oneOrMany(prefixes) } },
    });
  }
  return statements;
}

/** The key-policy statement the owner of a key adds: decrypt through S3 in `region`, for the purposes that read with it. */
export function keyPolicyStatement(project: ProjectConfig, purposes: readonly string[], readers: Readers, region: string): Statement {
  const principals =
    readers.kind === 'roles'
      ? { Principal: { AWS: oneOrMany(purposes.map((p) => readers.roles.get(p)!.job)) } }
      : principalOf(project, readers, purposes[0], false);
  return {
    Sid: sid('BatCat', project.project, project.stage, 'Decrypt'),
    Effect: 'Allow',
    ...principals,
    Action: 'kms:Decrypt',
    Resource: '*',
    Condition: { ...(principals.Condition ?? {}), StringEquals: { 'kms:ViaService': `s3.${region}.amazonaws.com` } },
  };
}

/** All resources of a stack, page by page. */
async function stackResources(cfn: CloudFormationClient, stack: string): Promise<StackResourceSummary[]> {
  const out: StackResourceSummary[] = [];
  let token: string | undefined;
  do {
    const page = await cfn.send(new ListStackResourcesCommand({ StackName: stack, NextToken: token }));
    out.push(...(page.StackResourceSummaries ?? []));
    token = page.NextToken;
  } while (token);
  return out;
}

/**
 * The roles of the purposes in `purposes`, from the deployed stack: each purpose's nested stack
 * is found by its state machine's name, its roles by their construct IDs. Undefined when the
 * stack is not deployed in this account and region.
 */
export async function deployedReaders(
  cfn: CloudFormationClient,
  project: ProjectConfig,
  purposes: readonly string[],
  print: (line: string) => void,
): Promise<Readers | undefined> {
  let parent: StackResourceSummary[];
  try {
    parent = await stackResources(cfn, project.stackName);
  } catch (e) {
    if ((e as Error).name === 'ValidationError' && /does not exist/.test((e as Error).message)) return undefined;
    throw e;
  }
  const nested = parent.filter((r) => r.ResourceType === 'AWS::CloudFormation::Stack' && r.PhysicalResourceId);
  const roles = new Map<string, { job: string; step?: string }>();
  let account: string | undefined;
  const path = project.rolePath;
  for (const [n, stack] of nested.entries()) {
    if (roles.size === purposes.length) break;
    print(`  reading the roles of nested stack ${n + 1} of ${nested.length}...`);
    account ??= stack.PhysicalResourceId!.split(':')[4];
    const resources = await stackResources(cfn, stack.PhysicalResourceId!);
    const machine = resources.find(
      (r) => r.ResourceType === 'AWS::StepFunctions::StateMachine' && !/Backfill/.test(r.LogicalResourceId ?? ''),
    );
    const purpose = purposes.find((p) =>
      machine?.PhysicalResourceId?.endsWith(`:stateMachine:${purposeStateMachineName(project.stackName, p)}`),
    );
    if (!purpose) continue;
    const role = (id: RegExp) => {
      const r = resources.find((x) => x.ResourceType === 'AWS::IAM::Role' && id.test(x.LogicalResourceId ?? ''));
      return r?.PhysicalResourceId ? `arn:aws:iam::${account}:role${path}${r.PhysicalResourceId}` : undefined;
    };
    const job = role(/RunProcessingJobJobRole/);
    if (job) roles.set(purpose, { job, step: role(/WindowManifestsRole/) });
  }
  const missing = purposes.filter((p) => !roles.has(p));
  if (missing.length > 0 || account === undefined) {
    print(
      `  the deployed stack has no job role for ${missing.join(', ')}: it is older than the project file; deploy it for their exact ARNs`,
    );
    return { kind: 'path', account };
  }
  return { kind: 'roles', account, roles };
}

/** What the caller's own credentials can do with a bucket: where it is, and whether a listed object can be read. */
export async function probeBucket(s3: S3Client, bucket: string, prefixes: readonly string[]): Promise<string[]> {
  const lines: string[] = [];
  const failed = (e: unknown) => `${(e as Error).name}${(e as Error).message ? `: ${(e as Error).message}` : ''}`;
  try {
    const r = await s3.send(new GetBucketLocationCommand({ Bucket: bucket }));
    lines.push(`GetBucketLocation: ${r.LocationConstraint || 'us-east-1'}`);
  } catch (e) {
    lines.push(`GetBucketLocation: ${failed(e)}`);
  }
  for (const prefix of prefixes) {
    try {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 }));
      const key = listed.Contents?.[0]?.Key;
      if (!key) {
        lines.push(`ListObjectsV2 ${prefix}: no object there yet`);
        continue;
      }
      await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      lines.push(`HeadObject ${key}: OK`);
    } catch (e) {
      lines.push(`${prefix}: ${failed(e)}`);
    }
  }
  return lines;
}

/** Prints, for each project, what the owners of its foreign buckets and keys must allow, and probes the buckets. */
export async function externalReport(
  projects: readonly ProjectConfig[],
  clients: { cloudformation: CloudFormationClient; s3: S3Client; region: string },
  print: (line: string) => void,
): Promise<void> {
  for (const project of projects) {
    const reads = externalReads(project);
    print('');
    if (reads.length === 0) {
      print(`${project.file}: no input in another bucket, so nobody else's policy needs a statement`);
      continue;
    }
    print(`${project.file}: ${reads.length} input(s) in other buckets; stack ${project.stackName} in ${clients.region}`);
    const purposes = [...new Set(reads.map((r) => r.purpose))];
    let readers: Readers | undefined;
    try {
      readers = await deployedReaders(clients.cloudformation, project, purposes, print);
    } catch (e) {
      print(
        `  cannot read the stack (${(e as Error).name}: ${(e as Error).message}); the statements below name the stage's role path instead`,
      );
      readers = { kind: 'path' };
    }
    if (!readers) {
      print(`  stack ${project.stackName} is not deployed in this account and region: the statements below let in every role of the stage`);
      print(`  (path ${project.rolePath}); deploy, then run batcat doctor --external again for the job roles' exact ARNs`);
      readers = { kind: 'path' };
    }
    if (readers.kind === 'path' && readers.account === undefined) print('  replace <account-id> with the account the stack deploys to');
    for (const bucket of [...new Set(reads.map((r) => r.bucket))]) {
      const mine = reads.filter((r) => r.bucket === bucket);
      print('');
      print(`  bucket ${bucket}: read by ${mine.map((r) => `${r.purpose} (input ${r.input}: ${r.prefix})`).join(', ')}`);
      print(`  if it is in another account, its owner adds to the bucket policy:`);
      for (const line of JSON.stringify(bucketPolicyStatements(project, bucket, mine, readers), null, 2).split('\n')) print(`    ${line}`);
      const probe = await probeBucket(
        clients.s3,
        bucket,
        mine.map((r) => r.prefix),
      );
      print(`  probe with your own credentials (not the job role's): ${probe.join('; ')}`);
    }
    for (const key of [...new Set(reads.flatMap((r) => (r.kmsKey ? [r.kmsKey] : [])))]) {
      const users = [...new Set(reads.filter((r) => r.kmsKey === key).map((r) => r.purpose))];
      const keyAccount = key.split(':')[4];
      print('');
      if (readers.account !== undefined && keyAccount === readers.account) {
        print(`  key ${key}: in this account, so the job role's own policy suffices unless the key policy leaves IAM out`);
        continue;
      }
      print(`  key ${key}: its owner (account ${keyAccount}) adds to the key policy:`);
      for (const line of JSON.stringify(keyPolicyStatement(project, users, readers, clients.region), null, 2).split('\n')) {
        print(`    ${line}`);
      }
    }
  }
}
