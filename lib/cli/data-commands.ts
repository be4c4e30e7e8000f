import * as fs from 'node:fs';
import * as path from 'node:path';
import { DescribeStacksCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ProjectConfig, PurposeConfig } from '../config/load-project';
import { historyKey, historyWindows, sampleHistoryPrefix } from '../contract/profile';
import { outputTable } from '../local/local-sql';
import { s3Store } from '../runtime/s3-store';
import { pullPrefix, pushFolder, type SyncEvent, type SyncReport } from '../io/sync';
import { DATA_BUCKET_OUTPUT, homeOf, purposeBucketOutputKey } from '../contract/storage';
import { formatBytes } from './format';
import { UsageError } from './project-context';

export interface DataDeps {
  readonly s3: S3Client;
  readonly out: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** `raw/usage` or `raw/usage/` -> `raw/usage/`; rejects absolute and `..` prefixes. */
export function folderPrefix(prefix: string): string {
  if (prefix.startsWith('/') || prefix.split('/').some((s) => s === '..' || s === '.')) {
    throw new UsageError(
      `prefix '${prefix}' must be a folder of the project bucket such as raw/usage/, without a leading '/', '.' or '..'`,
    );
  }
  if (prefix === '')
    throw new UsageError('give a folder of the project bucket, such as raw/usage/ (copying the whole bucket is not supported)');
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

function reporter(deps: DataDeps, arrow: string): (e: SyncEvent) => void {
  return (e) => {
    switch (e.kind) {
      case 'plan':
        deps.out(`${e.files} file(s), ${formatBytes(e.bytes)}`);
        break;
      case 'start':
        deps.out(`${arrow} [${e.index}/${e.total}] ${e.file} (${formatBytes(e.size)})`);
        break;
      case 'progress':
        deps.out(`    ${e.file}: ${formatBytes(e.bytes)} of ${formatBytes(e.size)}`);
        break;
      case 'conflict':
        deps.out(
          `! ${e.file}: changed here since it was pulled, and changed in the bucket too; kept the local file (--force overwrites it)`,
        );
        break;
      default:
        break;
    }
  };
}

function summary(deps: DataDeps, r: SyncReport, verb: string): number {
  deps.out(
    `${verb} ${r.copied.length} file(s) (${formatBytes(r.bytes)}), ${r.skipped.length} unchanged${r.conflicts.length > 0 ? `, ${r.conflicts.length} kept (local changes)` : ''}`,
  );
  return r.conflicts.length > 0 ? 1 : 0;
}

/** `batcat pull`: copies a folder of the bucket into a local folder (default `data/<prefix>`). */
export async function pullCommand(bucket: string, prefix: string, dir: string, force: boolean, deps: DataDeps): Promise<number> {
  deps.out(`pull s3://${bucket}/${prefix} -> ${dir}`);
  const r = await pullPrefix(deps.s3, { bucket, prefix, dir, force, onEvent: reporter(deps, '↓'), signal: deps.signal });
  return summary(deps, r, 'pulled');
}

/** `batcat push`: copies a local folder into a folder of the bucket. */
export async function pushCommand(bucket: string, dir: string, prefix: string, deps: DataDeps): Promise<number> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`local folder ${dir} does not exist`);
  deps.out(`push ${dir} -> s3://${bucket}/${prefix}`);
  const r = await pushFolder(deps.s3, { bucket, prefix, dir: path.resolve(dir), onEvent: reporter(deps, '↑'), signal: deps.signal });
  return summary(deps, r, 'pushed');
}

/**
 * The bucket that holds `folder` (lib/contract/storage.ts): `override`, or the deployed stack's
 * output for the bucket of the purpose that owns the folder (`per-purpose` storage), or its
 * DataBucketName output (the project bucket: `shared` storage, or a folder no purpose reads or writes).
 */
export async function dataBucketOf(
  cfn: CloudFormationClient,
  project: ProjectConfig,
  folder: string,
  override?: string,
  out: (line: string) => void = () => undefined,
): Promise<string> {
  if (override !== undefined) return override;
  const home = homeOf(project.ownedFolders, folder);
  if (home.kind === 'several') {
    throw new UsageError(
      `${folder} spans the buckets of several purposes (storage: per-purpose); copy one folder at a time: ${home.folders.map((f) => `${f.prefix} (${f.purpose})`).join(', ')}`,
    );
  }
  const outputs = await stackOutputs(cfn, project.stackName, 'or pass --bucket');
  const key = home.kind === 'purpose' ? purposeBucketOutputKey(home.purpose) : DATA_BUCKET_OUTPUT;
  const bucket = outputs[key];
  if (!bucket) {
    throw new UsageError(
      home.kind === 'purpose'
        ? `stack ${project.stackName} has no ${key} output for the bucket of purpose ${home.purpose}, which holds ${folder}: the deployed stack is older than the project file's storage (per-purpose); deploy it (npx cdk deploy ${project.stackName}), or pass --bucket`
        : `stack ${project.stackName} has no DataBucketName output; is it a BatCat project stack? Pass --bucket to name the bucket`,
    );
  }
  if (home.kind === 'project' && project.storage === 'per-purpose') {
    out(`note: no purpose of the project file reads or writes ${folder}, so the project bucket holds it`);
  }
  return bucket;
}

/** The outputs of a deployed stack, by key; a stack that is not deployed is a usage error (`orElse` says what else to do). */
export async function stackOutputs(cfn: CloudFormationClient, stackName: string, orElse?: string): Promise<Record<string, string>> {
  try {
    const r = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    return Object.fromEntries((r.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  } catch (e) {
    if ((e as Error).name === 'ValidationError' && /does not exist/.test((e as Error).message)) {
      throw new UsageError(
        `stack ${stackName} is not deployed in this account and region; deploy it (npx cdk deploy ${stackName})${orElse ? ` ${orElse}` : ''}`,
      );
    }
    throw e;
  }
}

/**
 * `batcat pull <project> <purpose> --sample`: for each table output, the newest sample and its
 * window's profile from the purpose's bucket, where local runs and `batcat query --local` read
 * them: the sample as the window's local result, the profile in the local profile history
 * (which run-local's drift compares with).
 */
export async function pullSampleCommand(
  rootDir: string,
  purpose: PurposeConfig,
  bucket: string,
  deps: { s3: S3Client; out: (line: string) => void },
): Promise<number> {
  const tables = purpose.outputs.filter((o) => o.table && o.sample > 0);
  if (tables.length === 0)
    throw new UsageError(`purpose '${purpose.name}' keeps no sample: none of its outputs has a table (or each has sample: 0)`);
  const store = s3Store(deps.s3, bucket);
  const dataDir = path.join(rootDir, 'data');
  let pulled = 0;
  for (const o of tables) {
    const history = sampleHistoryPrefix(purpose.name, o.name);
    const [newest] = historyWindows(
      'sample',
      (await store.list(history)).map((x) => x.key),
    );
    if (newest === undefined) {
      deps.out(`${o.name}: no sample in s3://${bucket}/${history} yet; each run on AWS that counts keeps one`);
      continue;
    }
    const { day } = newest;
    // Where run-local commits that window of the output, and local tables read it (lib/local/local-sql.ts).
    const folder = path.join(outputTable(dataDir, purpose.name, o.name, o.table!).folder, `dt=${day}`, o.name);
    const others = fs.existsSync(folder) ? fs.readdirSync(folder).filter((f) => f !== SAMPLE_FILE) : [];
    if (others.length > 0) {
      deps.out(
        `${o.name}: not pulled: ${path.relative(rootDir, folder)} holds a local result of ${day} (${others.join(', ')}), which the sample would be read with; remove it to work on the sample`,
      );
      continue;
    }
    const body = await store.read(newest.key);
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, SAMPLE_FILE), body ?? '');
    const rows = Math.max(0, (body ?? '').trimEnd().split('\n').length - 1);
    const profileKey = historyKey('profile', purpose.name, o.name, day);
    const profile = await store.read(profileKey);
    if (profile !== undefined) {
      const local = path.join(dataDir, profileKey);
      fs.mkdirSync(path.dirname(local), { recursive: true });
      fs.writeFileSync(local, profile);
    }
    const rules = o.rules ? Object.keys(o.rules).join(', ') : 'none yet (batcat rules suggest)';
    deps.out(
      `${o.name}: sample of ${day}, ${rows} row(s) -> ${path.relative(rootDir, path.join(folder, SAMPLE_FILE))}` +
        `${profile !== undefined ? `; its profile -> ${path.join('data', profileKey)}` : '; no profile kept for it'}; rules: ${rules}`,
    );
    pulled++;
  }
  deps.out(`${pulled} sample(s) pulled for local work (batcat run-local, batcat query --local)`);
  return 0;
}

/** The name a pulled sample has in the local result folder of its window. */
const SAMPLE_FILE = 'sample.csv';
