/*
 * `batcat reproduce <project> <run-id>`: re-runs a past run on this machine on the exact object
 * versions its run manifest recorded. The versions are fetched into a folder of their own
 * (`runs/<purpose>/reproduce-<run id>/data/`, laid out as run-local reads the project bucket), the purpose
 * runs there with run-local and the manifest's arguments, and its outputs are compared with the
 * ones the run wrote. `batcat doctor --run` reads the same manifests.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ProjectConfig, PurposeConfig } from '../config/load-project';
import {
  RUN_MANIFEST_VERSION,
  runManifestKeys,
  type ManifestChannel,
  type ManifestObject,
  type RunManifest,
} from '../contract/run-manifest';
import { s3Uri } from '../contract/s3-uri';
import type { EngineKind } from '../local/engine';
import { runLocal } from '../local/local-run';
import { localPathOf } from '../local/processing-job';
import { LOCAL_BUCKET, synthesizePurpose, type SynthesizedPurpose } from '../local/synthesized-purpose';
import { s3Store } from '../runtime/s3-store';
import { dataBucketOf } from './data-commands';
import { formatBytes } from './format';
import { UsageError } from './project-context';

/** The purpose a run id belongs to: `<purpose>-<YYYYMMDD>[-<YYYYMMDD>]-a<attempt>`. */
export function purposeOfRun(project: ProjectConfig, runId: string): PurposeConfig {
  const purpose = project.purposes.find((p) => new RegExp(`^${p.name}-\\d{8}(-\\d{8})?-a\\d+$`).test(runId));
  if (!purpose) {
    throw new UsageError(
      `'${runId}' is not a run id of project '${project.project}': a run id is <purpose>-<YYYYMMDD>-a<attempt> (e.g. ${project.purposes[0].name}-20261122-a1), ` +
        `and its purposes are ${project.purposes.map((p) => p.name).join(', ')}; batcat runs <project> <purpose> lists them`,
    );
  }
  return purpose;
}

/** Where a run's manifest was read from, for messages. */
export interface FoundManifest {
  readonly manifest: RunManifest;
  readonly purpose: PurposeConfig;
  /** `runs/<purpose>/<run id>/manifest.json` or `s3://...`. */
  readonly source: string;
  readonly local: boolean;
}

/** The manifest of a local run (`runs/<purpose>/<run id>/manifest.json`), if there is one. */
export function localRunManifest(rootDir: string, project: ProjectConfig, runId: string): FoundManifest | undefined {
  const purpose = purposeOfRun(project, runId);
  const file = path.join(rootDir, 'runs', purpose.name, runId, 'manifest.json');
  if (!fs.existsSync(file)) return undefined;
  return { manifest: checked(fs.readFileSync(file, 'utf8'), file), purpose, source: path.relative(rootDir, file), local: true };
}

/** The manifest of a run on AWS, from the purpose's bucket (named by the deployed stack's outputs). */
export async function awsRunManifest(
  project: ProjectConfig,
  runId: string,
  aws: { s3: S3Client; cloudformation: CloudFormationClient },
): Promise<FoundManifest> {
  const purpose = purposeOfRun(project, runId);
  const bucket = await dataBucketOf(aws.cloudformation, project, purpose.outputs[0].prefix);
  const key = runManifestKeys(purpose.name, runId).manifest;
  const text = await s3Store(aws.s3, bucket).read(key);
  if (text === undefined) {
    throw new UsageError(
      `run ${runId} has no manifest (${s3Uri(bucket, key)} does not exist): it did not succeed, or it ran before run manifests existed; batcat runs ${project.project} ${purpose.name} lists the runs`,
    );
  }
  return { manifest: checked(text, s3Uri(bucket, key)), purpose, source: s3Uri(bucket, key), local: false };
}

function checked(text: string, where: string): RunManifest {
  const m = JSON.parse(text) as Omit<RunManifest, 'version'> & { version: unknown };
  if (m.version !== RUN_MANIFEST_VERSION) {
    throw new UsageError(
      `${where} is a run manifest of version ${String(m.version)}; this batcat reads version ${RUN_MANIFEST_VERSION}; update batcat-cdk`,
    );
  }
  return m as RunManifest;
}

/** A run that cannot be reproduced: an object it read is gone, or changed where nothing keeps versions. */
export class NotReproducibleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotReproducibleError';
  }
}

/** Reads one recorded object's bytes: the exact version, or where nothing keeps versions the object as it is now. */
export type ObjectFetcher = (bucket: string, o: ManifestObject) => Promise<Buffer>;

/** Fetches recorded versions from S3; a version gone (expired by the lifecycle, or deleted) is named with the reason. */
export function s3Fetcher(s3: S3Client, keepVersionsDays: number): ObjectFetcher {
  return async (bucket, o) => {
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.key, ...(o.versionId ? { VersionId: o.versionId } : {}) }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (e) {
      throw versionGone(e, bucket, o, keepVersionsDays) ?? e;
    }
  };
}

/** The NotReproducibleError for an S3 error saying a recorded object or version is gone; undefined for any other error. */
export function versionGone(e: unknown, bucket: string, o: ManifestObject, keepVersionsDays: number): NotReproducibleError | undefined {
  const name = (e as Error).name;
  if (name !== 'NoSuchVersion' && name !== 'NoSuchKey' && !(name === 'InvalidArgument' && o.versionId)) return undefined;
  return new NotReproducibleError(
    `${s3Uri(bucket, o.key)}${o.versionId ? ` version ${o.versionId}` : ''} no longer exists: ` +
      (o.versionId
        ? `a replaced version is kept ${keepVersionsDays} days (keepVersions in the project file) and then expires, or it was deleted. `
        : 'it was deleted. ') +
      'The run cannot be reproduced on the same bytes.',
  );
}

/** Reads recorded files of a local run from its data folder (local files have no versions). */
export function localFetcher(project: ProjectConfig, dataDir: string): ObjectFetcher {
  return async (bucket, o) => {
    const file = localPathOf(project, dataDir, s3Uri(bucket, o.key));
    if (!fs.existsSync(file))
      throw new NotReproducibleError(`${file} no longer exists; the local run cannot be reproduced on the same bytes`);
    return fs.promises.readFile(file);
  };
}

/** Whether `etag` is an MD5 of the whole object (a multipart upload's has a part count: `...-3`). */
const isMd5 = (etag: string) => /^[0-9a-f]{32}$/.test(etag);
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** What identifies the code a run ran: the image's repository and tag (an asset's tag alone: its repository names the account), the code archive's key. */
function codeIdentity(m: { image?: string; code?: string; arguments?: readonly string[] }): Record<string, unknown> {
  const last = (m.image ?? '').split('/').pop() ?? '';
  const [repository, tag] = last.split(':');
  return {
    image: repository.includes('container-assets') ? tag : last,
    code: m.code?.replace(/^s3:\/\/[^/]+\//, ''),
  };
}

/** The run description the synthesized state machine gives its manifest step. */
function synthesizedRun(s: SynthesizedPurpose): { image?: string; code?: string } {
  const states = (s.definition as { States: Record<string, { Parameters?: { run?: { image?: string; code?: string } } }> }).States;
  return states.RecordRunInputs?.Parameters?.run ?? {};
}

export interface ReproduceOptions {
  readonly rootDir: string;
  readonly project: ProjectConfig;
  readonly found: FoundManifest;
  readonly fetch: ObjectFetcher;
  readonly python?: string;
  readonly engine?: EngineKind;
  readonly out: (line: string) => void;
}

/** Fetches the recorded inputs, runs the purpose locally on them, and compares the outputs. 0: the same outputs; 1: failed or different. */
export async function reproduceRun(o: ReproduceOptions): Promise<number> {
  const { manifest: m, purpose } = o.found;
  const out = o.out;
  out(
    `reproducing run ${m.runId} of ${m.purpose} (window ${m.window.start} .. ${m.window.end}${m.gitCommit ? `, commit ${m.gitCommit.slice(0, 12)}` : ''}) from ${o.found.source}`,
  );
  // The purpose as the run had it: its recorded arguments. Its code must be the run's, checked before anything is fetched.
  const recorded = codeIdentity(m);
  const withArguments: PurposeConfig = { ...purpose, ...(m.arguments ? { arguments: [...m.arguments] } : {}) };
  const project: ProjectConfig = {
    ...o.project,
    purposes: o.project.purposes.map((p) => (p.name === purpose.name ? withArguments : p)),
  };
  out(`synthesizing ${project.stackName} to get the state machine of ${m.purpose}...`);
  const synthesized = synthesizePurpose(project, purpose.name);
  const now = codeIdentity(synthesizedRun(synthesized));
  const differs = Object.keys(recorded).filter((k) => recorded[k] !== now[k]);
  if (differs.length > 0) {
    throw new NotReproducibleError(
      `the code of ${m.purpose} changed since run ${m.runId}: ${differs.map((k) => `its ${k} was ${String(recorded[k])}, now ${String(now[k])}`).join('; ')}. ` +
        (m.gitCommit
          ? `Reproduce it from the commit it was built from: git worktree add ../${m.runId} ${m.gitCommit} && batcat --root ${path.posix.join('..', m.runId, gitRelative(o.rootDir))} reproduce ${o.project.project} ${m.runId}`
          : 'The manifest names no git commit to check out; restore the container folder or script as it was, and run batcat reproduce again'),
    );
  }

  // In the purpose's runs folder, as a folder MLflow and batcat runs --local skip (it has no meta.yaml and no status.json).
  const folder = path.join(o.rootDir, 'runs', m.purpose, `reproduce-${m.runId}`);
  const dataDir = path.join(folder, 'data');
  fs.rmSync(folder, { recursive: true, force: true });
  fs.mkdirSync(dataDir, { recursive: true });

  // Each object goes where run-local reads it: the project's buckets are one folder, another bucket is data/s3/<bucket>/.
  const foreign = new Set(purpose.inputs.filter((i) => i.bucket !== undefined).map((i) => i.name));
  let queryFile: string | undefined;
  const total = m.inputs.reduce((n, i) => n + i.objects.length, 0);
  let done = 0;
  let bytes = 0;
  out(`fetching the ${total} recorded input object(s) into ${path.relative(o.rootDir, dataDir)}/`);
  for (const channel of m.inputs) {
    for (const obj of channel.objects) {
      // A local run's query result is the file that stood in for it, or the one DuckDB wrote in its run folder.
      const body =
        o.found.local && channel.name === 'query' && purpose.query
          ? fs.readFileSync(purpose.query.local ?? path.join(o.rootDir, 'runs', m.purpose, m.runId, 'query-result.csv'))
          : await o.fetch(channel.bucket, obj);
      if (isMd5(obj.etag) && md5(body) !== obj.etag) {
        throw new NotReproducibleError(
          `${s3Uri(channel.bucket, obj.key)} is not the object run ${m.runId} read (its MD5 is ${md5(body)}, the manifest recorded ${obj.etag}): ` +
            `it was overwritten${obj.versionId ? '' : ', and its bucket keeps no versions'}. The run cannot be reproduced on the same bytes.`,
        );
      }
      const target = localTarget(o.project, dataDir, folder, channel, obj, foreign);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, body);
      // Athena's result is <id>.csv; <id>.csv.metadata beside it (listed with it) is not the result.
      if (channel.name === 'query' && purpose.query && !obj.key.endsWith('.metadata')) queryFile = target;
      bytes += body.length;
      done++;
      if (done === total || done % 100 === 0 || total <= 20) {
        out(
          `  [${done}/${total}] ${channel.name}: ${obj.key}${obj.versionId ? ` (version ${obj.versionId})` : ''}, ${formatBytes(body.length)}`,
        );
      }
    }
  }
  out(`fetched ${done} object(s), ${formatBytes(bytes)}`);

  const window = m.window.start === m.window.end ? { date: m.window.start } : { from: m.window.start, to: m.window.end };
  const r = await runLocal({
    rootDir: o.rootDir,
    project,
    purpose: { ...withArguments, ...(purpose.query && queryFile ? { query: { ...purpose.query, local: queryFile } } : {}) },
    ...window,
    dataDir,
    python: o.python,
    engine: o.engine,
    reproduces: m.runId,
    synthesized,
    print: out,
  });
  if (r.status !== 'SUCCEEDED') {
    out(`the reproduction of ${m.runId} failed: ${r.error}: ${r.cause}`);
    return 1;
  }
  return compareOutputs(m, JSON.parse(fs.readFileSync(path.join(r.runDir, 'manifest.json'), 'utf8')) as RunManifest, out);
}

function localTarget(
  project: ProjectConfig,
  dataDir: string,
  folder: string,
  channel: ManifestChannel,
  obj: ManifestObject,
  foreign: ReadonlySet<string>,
): string {
  if (channel.name === 'query') return path.join(folder, 'query', path.basename(obj.key));
  return localPathOf(project, dataDir, s3Uri(foreign.has(channel.name) ? channel.bucket : LOCAL_BUCKET, obj.key));
}

/** `projects/..`-free path of rootDir inside its git work tree, for the worktree hint. */
function gitRelative(rootDir: string): string {
  let dir = path.resolve(rootDir);
  const parts: string[] = [];
  while (!fs.existsSync(path.join(dir, '.git'))) {
    const up = path.dirname(dir);
    if (up === dir) return '.';
    parts.unshift(path.basename(dir));
    dir = up;
  }
  return parts.join('/') || '.';
}

/** Compares each output's objects, by key below the output's folder and MD5. */
export function compareOutputs(recorded: RunManifest, now: RunManifest, out: (line: string) => void): number {
  let different = 0;
  for (const o of recorded.outputs) {
    const mine = now.outputs.find((x) => x.name === o.name);
    const rel = (ch: ManifestChannel, obj: ManifestObject) => obj.key.slice(ch.prefixes[0].length);
    const theirs = new Map(o.objects.map((obj) => [rel(o, obj), obj]));
    const ours = new Map((mine?.objects ?? []).map((obj) => [rel(mine!, obj), obj]));
    const problems: string[] = [];
    for (const [k, obj] of theirs) {
      const n = ours.get(k);
      if (!n) problems.push(`${k} was written by ${recorded.runId}, not by the reproduction`);
      else if (!isMd5(obj.etag))
        problems.push(`${k}: cannot compare (uploaded in parts, its ETag ${obj.etag} is no MD5); sizes ${obj.size} and ${n.size}`);
      else if (obj.etag !== n.etag) problems.push(`${k} differs (MD5 ${obj.etag} then, ${n.etag} now; ${obj.size} and ${n.size} bytes)`);
    }
    for (const k of ours.keys()) if (!theirs.has(k)) problems.push(`${k} was written by the reproduction only`);
    if (problems.length === 0) out(`output ${o.name}: ${o.objects.length} object(s), identical to run ${recorded.runId}`);
    else {
      different++;
      out(`output ${o.name}: not identical to run ${recorded.runId}:`);
      for (const p of problems) out(`  - ${p}`);
    }
  }
  if (different > 0) {
    out(
      'the outputs differ on the same input bytes: the script depends on something the manifest does not pin (the time, randomness without a seed, a package version, the network)',
    );
    return 1;
  }
  out(`reproduced: every output is byte for byte the one run ${recorded.runId} wrote`);
  return 0;
}
