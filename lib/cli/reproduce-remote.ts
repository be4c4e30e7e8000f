import * as path from 'node:path';
import { GetFunctionConfigurationCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, DescribeStateMachineCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { ProjectConfig } from '../config/load-project';
import { RUN_CONFIG_ENV } from '../contract/environment';
import { MAX_RUN_NAME_LENGTH, RUN_CONTRACT_VERSION, type PurposeRunConfig } from '../contract/run-input';
import {
  reproductionPrefix,
  reproductionRunId,
  type ManifestChannel,
  type ManifestObject,
  type ReproductionInput,
  type RunManifest,
} from '../contract/run-manifest';
import { parseS3Uri, s3Uri } from '../contract/s3-uri';
import { buildWindowManifest, windowManifestName, windowManifestsPrefix } from '../contract/window-manifest';
import { purposeStateMachineName, triggerFunctionName } from '../contract/names';
import { listKeys } from '../io/s3';
import { copyObject } from '../runtime/s3-store';
import { compareOutputs, NotReproducibleError, versionGone, type FoundManifest } from './reproduce-command';
import { UsageError } from './project-context';

/*
 * `batcat reproduce --remote`: a past run again on AWS, on the versions it read. The versions are
 * copied (server side) to the purpose's reproduction folder, the deployed state machine runs with
 * a run input that names them (`reproduction`: no ledger, no query, no commit), and the outputs
 * it leaves in its attempt's folder are compared with the recorded ones.
 */

export interface RemoteReproduceOptions {
  readonly project: ProjectConfig;
  readonly found: FoundManifest;
  readonly aws: { readonly s3: S3Client; readonly sfn: SFNClient; readonly lambda: LambdaClient };
  readonly out: (line: string) => void;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
  /** How long to wait between looks at the execution. @default 15 s */
  readonly pollMs?: number;
}

/** 0: every output byte for byte the recorded one; 1: the reproduction failed or an output differs. Throws NotReproducibleError (exit 2). */
export async function reproduceRemote(o: RemoteReproduceOptions): Promise<number> {
  const { project, aws, out } = o;
  const m = o.found.manifest;
  const purpose = o.found.purpose;
  const bucket = parseS3Uri(o.found.source).bucket;
  const stateMachineName = purposeStateMachineName(project.stackName, purpose.name);
  const config = await runConfigOf(aws.lambda, triggerFunctionName(stateMachineName));
  await checkDeployedCode(aws.sfn, config.stateMachineArn, m);

  const runId = reproductionRunId(m.runId, (o.now ?? (() => new Date()))());
  if (runId.length > MAX_RUN_NAME_LENGTH) {
    throw new UsageError(
      `the reproduction's run id ${runId} is longer than Step Functions' ${MAX_RUN_NAME_LENGTH} characters; reproduce it locally instead`,
    );
  }
  const staging = reproductionPrefix(purpose.name, runId);
  const total = m.inputs.reduce((n, i) => n + i.objects.length, 0);
  out(`staging the ${total} object version(s) run ${m.runId} read in ${s3Uri(bucket, staging)}...`);
  const uris: Record<string, string> = {};
  let staged = 0;
  for (const [n, channel] of m.inputs.entries()) {
    const input = purpose.inputs.find((i) => i.name === channel.name);
    const window = input?.partitioned === true && purpose.maxWindowDays > 1;
    // What the job read: the window's base folder, the day's folder, the whole folder or one object.
    const base = window ? input.prefix : channel.prefixes[0];
    const folder = `${staging}${channel.name}/`;
    const keysByDay = new Map<string, string[]>();
    for (const obj of channel.objects) {
      const rel = base.endsWith('/') ? obj.key.slice(base.length) : path.posix.basename(obj.key);
      const to = `${folder}${rel}`;
      await stage(aws.s3, channel.bucket, obj, { bucket, key: to }, project.keepVersionsDays);
      staged++;
      out(`  [${staged}/${total}] ${s3Uri(channel.bucket, obj.key)}${obj.versionId ? ` (version ${obj.versionId})` : ''}`);
      const day = /^dt=([^/]+)\//.exec(rel)?.[1];
      if (day) keysByDay.set(day, [...(keysByDay.get(day) ?? []), to]);
    }
    uris[`u${n}`] = s3Uri(bucket, base.endsWith('/') ? folder : `${folder}${path.posix.basename(base)}`);
    if (window) {
      // The job reads a window's days through a manifest: the staged days, under the key the state machine names for this run.
      const manifest = buildWindowManifest({ name: channel.name, bucket, prefix: folder, complete: false }, m.window, keysByDay);
      const key = `${windowManifestsPrefix(purpose.name)}${runId}/${windowManifestName(channel.name)}`;
      await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: manifest.body }));
    }
  }

  const query = m.inputs.find((i) => i.name === 'query' && !purpose.inputs.some((p) => p.name === 'query'));
  const reproduction: ReproductionInput = {
    of: m.runId,
    uris,
    ...(query ? { queryExecutionId: recordedQueryId(query) } : {}),
  };
  const outputFolder = (c: ManifestChannel) => c.prefixes[0].replace(/dt=[^/]+\/$/, '');
  const input = {
    version: RUN_CONTRACT_VERSION,
    runId,
    purpose: purpose.name,
    window: m.window,
    timezone: m.timezone,
    attempt: m.attempt,
    force: false,
    trigger: { kind: 'manual' },
    inputs: Object.fromEntries(m.inputs.map((c, n) => [c.name, uris[`u${n}`]])),
    outputs: Object.fromEntries(m.outputs.map((c) => [c.name, s3Uri(bucket, `${outputFolder(c)}_attempts/${runId}/`)])),
    reproduction,
  };
  const started = await aws.sfn.send(
    new StartExecutionCommand({ stateMachineArn: config.stateMachineArn, name: runId, input: JSON.stringify(input) }),
  );
  out(`started ${runId}, a reproduction of ${m.runId}: ${started.executionArn}`);
  const status = await waitFor(
    aws.sfn,
    started.executionArn!,
    out,
    o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    o.pollMs ?? 15_000,
  );
  if (status.status !== 'SUCCEEDED') {
    out(`the reproduction ${status.status}: ${status.error ?? ''} ${status.cause ?? ''}`.trim());
    return 1;
  }

  // Its outputs are in the attempt's folder of each output (expired with the other attempts after a month).
  const outputs: ManifestChannel[] = [];
  for (const c of m.outputs) {
    const prefix = `${outputFolder(c)}_attempts/${runId}/`;
    const objects: ManifestObject[] = [];
    for await (const x of listKeys(aws.s3, { bucket, prefix })) objects.push({ key: x.key, size: x.size, etag: x.etag, versionId: null });
    outputs.push({ name: c.name, bucket, prefixes: [prefix], objects });
  }
  out(`comparing the outputs of ${runId} (${outputs.map((c) => s3Uri(bucket, c.prefixes[0])).join(', ')}) with those of ${m.runId}:`);
  return compareOutputs(m, { ...m, runId, outputs }, out);
}

/** The purpose's run configuration, as its deployed trigger function holds it (the state machine's ARN). */
async function runConfigOf(lambda: LambdaClient, functionName: string): Promise<PurposeRunConfig> {
  let conf;
  try {
    conf = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
  } catch (e) {
    if ((e as Error).name === 'ResourceNotFoundException') {
      throw new UsageError(
        `the purpose's trigger ${functionName} is not deployed in this account and region; deploy the project (npx cdk deploy)`,
      );
    }
    throw e;
  }
  const text = conf.Environment?.Variables?.[RUN_CONFIG_ENV];
  if (!text) throw new UsageError(`${functionName} has no ${RUN_CONFIG_ENV}: is it a BatCat trigger?`);
  return JSON.parse(text) as PurposeRunConfig;
}

/** Refuses when the deployed state machine runs other code than the run did (another image, another script archive). */
async function checkDeployedCode(sfn: SFNClient, stateMachineArn: string, m: RunManifest): Promise<void> {
  const deployed = (await sfn.send(new DescribeStateMachineCommand({ stateMachineArn }))).definition ?? '';
  const missing = [
    m.image && !deployed.includes(m.image) ? `image ${m.image}` : '',
    m.code && !deployed.includes(m.code) ? `code ${m.code}` : '',
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new NotReproducibleError(
      `the deployed ${stateMachineArn.split(':').pop()} no longer runs the ${missing.join(' and ')} that run ${m.runId} ran. ` +
        (m.gitCommit
          ? `Deploy its commit first (git worktree add ../${m.runId} ${m.gitCommit} && cd ../${m.runId} && npx cdk deploy), or reproduce it locally without --remote.`
          : 'Deploy the code it ran first, or reproduce it locally without --remote.'),
    );
  }
}

/** Copies one recorded object version into the staging folder; an unversioned object must still be as the run read it. */
async function stage(
  s3: S3Client,
  fromBucket: string,
  obj: ManifestObject,
  to: { bucket: string; key: string },
  keepVersionsDays: number,
): Promise<void> {
  try {
    await copyObject(s3, { bucket: fromBucket, key: obj.key, versionId: obj.versionId ?? undefined }, to, obj.size);
  } catch (e) {
    throw versionGone(e, fromBucket, obj, keepVersionsDays) ?? e;
  }
  if (obj.versionId) return;
  const copied = await s3.send(new HeadObjectCommand({ Bucket: to.bucket, Key: to.key }));
  const etag = (copied.ETag ?? '').replace(/"/g, '');
  if (etag !== obj.etag) {
    throw new NotReproducibleError(
      `${s3Uri(fromBucket, obj.key)} changed since the run (ETag ${obj.etag} then, ${etag} now) and its bucket keeps no versions: the run cannot be reproduced on the same bytes`,
    );
  }
}

/** The query's id as the run recorded its result: Athena's `<id>.csv`, Redshift's `<folder>/`. */
function recordedQueryId(c: ManifestChannel): string {
  return path.posix.basename(c.prefixes[0].replace(/\/$/, '')).replace(/\.csv$/, '');
}

async function waitFor(
  sfn: SFNClient,
  executionArn: string,
  out: (line: string) => void,
  sleep: (ms: number) => Promise<void>,
  pollMs: number,
): Promise<{ status: string; error?: string; cause?: string }> {
  let looks = 0;
  for (;;) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status !== 'RUNNING' && d.status !== 'PENDING_REDRIVE') return { status: d.status ?? 'UNKNOWN', error: d.error, cause: d.cause };
    if (looks++ % 4 === 0) out(`  ${d.status?.toLowerCase()} since ${d.startDate?.toISOString() ?? '?'}...`);
    await sleep(pollMs);
  }
}
