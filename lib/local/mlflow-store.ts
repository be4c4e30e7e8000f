/*
 * Local runs in MLflow's file-store layout, so that `mlflow ui --backend-store-uri runs` browses
 * and compares them: `runs/` is the store, each purpose an experiment (`runs/<purpose>/meta.yaml`,
 * its id the purpose's name), each run a run of it (`runs/<purpose>/<run id>/` with meta.yaml,
 * params/, metrics/, tags/ and artifacts/). The files batcat itself reads (status.json, the
 * manifest, the logs) stay where they were; artifacts/ holds hard links to them and to the
 * outputs, which keep the run's bytes after a later run replaces the window's result.
 *
 * The layout is MLflow's FileStore's (mlflow/store/tracking/file_store.py): a run's meta.yaml
 * holds its status as RunStatus's number, times in milliseconds; a param or tag is a file whose
 * text is the value; a metric is a file of `<timestamp ms> <value> <step>` lines.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';

/** MLflow's RunStatus numbers, as meta.yaml stores them. */
export const MLFLOW_RUN_STATUS = { RUNNING: 1, FINISHED: 3, FAILED: 4 } as const;

/** Where a script logs metrics for its local run: lines of `<name> <value> [<step>]`. */
export const METRICS_FILE = '/opt/ml/output/metrics';

/** MLflow cuts param values here (older servers refuse longer ones). */
const MAX_PARAM_LENGTH = 250;

/** A metric as MLflow keeps it. */
export interface MlflowMetric {
  readonly name: string;
  readonly value: number;
  readonly step: number;
  readonly timestamp: number;
}

export interface MlflowRun {
  /** The experiment: the purpose's name. */
  readonly experiment: string;
  readonly runId: string;
  readonly status: keyof typeof MLFLOW_RUN_STATUS;
  readonly startTime: number;
  readonly endTime?: number;
  readonly params?: Readonly<Record<string, string>>;
  readonly tags?: Readonly<Record<string, string>>;
  readonly metrics?: readonly MlflowMetric[];
  /** Files shown as the run's artifacts: name below artifacts/ -> the file it is a hard link of. */
  readonly artifacts?: Readonly<Record<string, string>>;
}

/** Names MLflow accepts for params, metrics and tags (its _VALID_PARAM_AND_METRIC_NAMES); others are made so. */
function safeName(name: string): string {
  return name.replace(/[^/\w.\- ]/g, '_');
}

function writeValues(dir: string, values: Readonly<Record<string, string>>): void {
  for (const [k, v] of Object.entries(values)) {
    const file = path.join(dir, ...safeName(k).split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, v);
  }
}

/** Writes the experiment of a purpose once (`runs/<purpose>/meta.yaml`). */
export function writeExperiment(storeDir: string, experiment: string, now: number): void {
  const dir = path.join(storeDir, experiment);
  const meta = path.join(dir, 'meta.yaml');
  if (fs.existsSync(meta)) return;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    meta,
    stringify({
      artifact_location: pathToFileURL(path.resolve(dir)).href,
      creation_time: now,
      experiment_id: experiment,
      last_update_time: now,
      lifecycle_stage: 'active',
      name: experiment,
    }),
  );
}

/** Writes (or rewrites, as the run goes on) one run's MLflow files below `runs/<experiment>/<run id>/`. */
export function writeMlflowRun(storeDir: string, run: MlflowRun): void {
  writeExperiment(storeDir, run.experiment, run.startTime);
  const dir = path.join(storeDir, run.experiment, run.runId);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'meta.yaml'),
    stringify({
      artifact_uri: pathToFileURL(path.resolve(dir, 'artifacts')).href,
      end_time: run.endTime ?? null,
      entry_point_name: '',
      experiment_id: run.experiment,
      lifecycle_stage: 'active',
      run_id: run.runId,
      run_name: run.runId,
      run_uuid: run.runId,
      source_name: '',
      source_type: 4, // SourceType.LOCAL
      source_version: '',
      start_time: run.startTime,
      status: MLFLOW_RUN_STATUS[run.status],
      tags: [],
      user_id: userName(),
    }),
  );
  writeValues(
    path.join(dir, 'params'),
    Object.fromEntries(Object.entries(run.params ?? {}).map(([k, v]) => [k, v.slice(0, MAX_PARAM_LENGTH)])),
  );
  writeValues(path.join(dir, 'tags'), { 'mlflow.runName': run.runId, 'mlflow.user': userName(), ...run.tags });
  const metrics = new Map<string, string[]>();
  for (const m of run.metrics ?? []) metrics.set(m.name, [...(metrics.get(m.name) ?? []), `${m.timestamp} ${m.value} ${m.step}\n`]);
  writeValues(path.join(dir, 'metrics'), Object.fromEntries([...metrics].map(([k, lines]) => [k, lines.join('')])));
  for (const [name, target] of Object.entries(run.artifacts ?? {})) {
    const link = path.join(dir, 'artifacts', ...name.split('/'));
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.rmSync(link, { force: true });
    try {
      // A hard link keeps this run's bytes when a later run of the window replaces the result.
      fs.linkSync(target, link);
    } catch {
      fs.copyFileSync(target, link); // another file system
    }
  }
}

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

/**
 * The metrics a script wrote to METRICS_FILE: one `<name> <value> [<step>]` per line. A line
 * that is not one is skipped and named in `problems`, so a typo does not fail the run.
 */
export function parseMetrics(text: string, timestamp: number): { metrics: MlflowMetric[]; problems: string[] } {
  const metrics: MlflowMetric[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, n) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [name, value, step, ...rest] = line.split(/\s+/);
    const v = Number(value);
    const s = step === undefined ? 0 : Number(step);
    if (value === undefined || rest.length > 0 || !Number.isFinite(v) || !Number.isInteger(s) || !/^[/\w.-]+$/.test(name)) {
      problems.push(`line ${n + 1}: ${JSON.stringify(raw)} is not '<name> <number> [<whole step>]'`);
      return;
    }
    metrics.push({ name, value: v, step: s, timestamp });
  });
  return { metrics, problems };
}
