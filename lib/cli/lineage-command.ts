/*
 * `batcat lineage <project> <purpose> --date D`: for the window holding D, the runs of the
 * purpose that wrote its result (from their run manifests), and upstream, through `from:`
 * inputs (the upstream run whose output holds the very object version this run read) and
 * `after:` triggers (the upstream run that started it), the runs and objects it came from.
 */
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ProjectConfig } from '../config/load-project';
import { isDate } from '../contract/dates';
import { runManifestsPrefix, type ManifestObject, type RunManifest } from '../contract/run-manifest';
import { s3Store } from '../runtime/s3-store';
import { dataBucketOf } from './data-commands';
import { UsageError } from './project-context';

/** The run manifests of one purpose, by the bucket they are in. */
export type ManifestSource = (purpose: string) => Promise<RunManifest[]>;

/** Reads every `manifest.json` of a purpose from its bucket. */
export function s3ManifestSource(s3: S3Client, bucketOf: (purpose: string) => Promise<string>): ManifestSource {
  return async (purpose) => {
    const store = s3Store(s3, await bucketOf(purpose));
    const keys = (await store.list(runManifestsPrefix(purpose))).map((o) => o.key).filter((k) => k.endsWith('/manifest.json'));
    const manifests = await Promise.all(keys.map((k) => store.read(k)));
    return manifests.flatMap((m) => (m === undefined ? [] : [JSON.parse(m) as RunManifest]));
  };
}

const same = (a: ManifestObject, b: ManifestObject) =>
  a.key === b.key && (a.versionId !== null && b.versionId !== null ? a.versionId === b.versionId : a.etag === b.etag);

const objectsLine = (objects: readonly ManifestObject[]) =>
  `${objects.length} object(s)${
    objects.length > 0
      ? `: ${objects
          .slice(0, 3)
          .map((o) => `${o.key}${o.versionId ? ` (${o.versionId})` : ''}`)
          .join(', ')}${objects.length > 3 ? ', ...' : ''}`
      : ''
  }`;

/** Prints the lineage of `purpose`'s result for the window holding `date`, following its upstream runs; returns how many runs it found. */
export async function printLineage(
  project: ProjectConfig,
  purposeName: string,
  date: string,
  manifestsOf: ManifestSource,
  out: (line: string) => void,
): Promise<number> {
  if (!isDate(date)) throw new UsageError(`--date must be a calendar date written YYYY-MM-DD, got ${JSON.stringify(date)}`);
  const cache = new Map<string, RunManifest[]>();
  const load = async (p: string) => {
    if (!cache.has(p)) cache.set(p, await manifestsOf(p));
    return cache.get(p)!;
  };
  const seen = new Set<string>();
  let found = 0;
  const show = async (m: RunManifest, depth: number, why: string): Promise<void> => {
    const pad = '  '.repeat(depth);
    out(
      `${pad}${why}run ${m.runId} of ${m.purpose} (window ${m.window.start} .. ${m.window.end}, ${m.trigger.kind}, image ${m.image}${m.gitCommit ? `, commit ${m.gitCommit.slice(0, 12)}` : ''})`,
    );
    if (seen.has(`${m.purpose}/${m.runId}`)) return;
    seen.add(`${m.purpose}/${m.runId}`);
    found++;
    for (const o of m.outputs) out(`${pad}  wrote ${o.name}: ${objectsLine(o.objects)}${o.truncated ? ' (truncated)' : ''}`);
    for (const i of m.inputs)
      out(
        `${pad}  read ${i.name} (s3://${i.bucket}/${i.prefixes[0]}${i.prefixes.length > 1 ? ` and ${i.prefixes.length - 1} more` : ''}): ${objectsLine(i.objects)}`,
      );
    const purpose = project.purposes.find((p) => p.name === m.purpose);
    // from: inputs, matched object by object against the upstream runs' outputs.
    for (const input of purpose?.inputs.filter((i) => i.from) ?? []) {
      const read = m.inputs.find((i) => i.name === input.name)?.objects ?? [];
      const upstream = (await load(input.from!.purpose)).filter((u) =>
        u.outputs.some((o) => o.name === input.from!.output && o.objects.some((w) => read.some((r) => same(r, w)))),
      );
      if (read.length > 0 && upstream.length === 0) {
        out(
          `${pad}  ${input.name} came from ${input.from!.purpose}/${input.from!.output}, but no run manifest of ${input.from!.purpose} wrote those versions`,
        );
      }
      for (const u of upstream) await show(u, depth + 1, `← ${input.name} (from ${input.from!.purpose}/${input.from!.output}): `);
    }
    // after: the upstream run that started this one.
    if (m.trigger.kind === 'upstream') {
      const t = m.trigger;
      const upstream = (await load(t.purpose)).find((u) => u.runId === t.runId);
      if (upstream) await show(upstream, depth + 1, `← started after `);
      else out(`${pad}  started after ${t.purpose} run ${t.runId}, which has no run manifest`);
    }
  };
  const runs = (await load(purposeName))
    .filter((m) => m.window.start <= date && date <= m.window.end)
    .sort((a, b) => a.outputsRecordedAt.localeCompare(b.outputsRecordedAt));
  if (runs.length === 0) {
    out(
      `no run manifest of ${purposeName} covers ${date}: no run of that window succeeded since run manifests exist (batcat runs lists the runs)`,
    );
    return 0;
  }
  out(`${purposeName}, the window holding ${date}: ${runs.length} successful run(s); the last one's result is the window's`);
  for (const [n, m] of runs.entries()) await show(m, 1, n === runs.length - 1 ? '(current) ' : '(replaced) ');
  return found;
}

/** `batcat lineage`: the buckets come from the deployed stack's outputs. */
export async function lineageCommand(
  project: ProjectConfig,
  purpose: string,
  date: string,
  deps: { s3: S3Client; cloudformation: CloudFormationClient; out: (line: string) => void },
): Promise<number> {
  const bucketOf = (p: string) => {
    const first = project.purposes.find((x) => x.name === p)?.outputs[0];
    if (!first) throw new UsageError(`project '${project.project}' has no purpose '${p}'`);
    return dataBucketOf(deps.cloudformation, project, first.prefix);
  };
  await printLineage(project, purpose, date, s3ManifestSource(deps.s3, bucketOf), deps.out);
  return 0;
}
