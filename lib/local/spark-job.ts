/*
 * A Spark purpose's job on this machine: its script run by `spark-submit` in Spark's local mode,
 * with the arguments the state machine rendered (S3 locations mapped to the data folder), the
 * purpose's Spark properties and --py-files. Whether the state machine asked EMR Serverless or
 * SageMaker for it, the script sees the same arguments.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PurposeConfig, ProjectConfig } from '../config/load-project';
import { sparkProperties, stagePyFiles } from '../contract/spark';
import { LocalRunError } from './container-spec';
import { taskError } from './interpreter';
import { localPathOf } from './processing-job';

/** What a local Spark run needs. */
export interface LocalSparkJob {
  readonly project: ProjectConfig;
  readonly purpose: PurposeConfig;
  readonly dataDir: string;
  readonly runDir: string;
  readonly jobName: string;
  /** The arguments as the state machine rendered them, with their s3:// locations. */
  readonly arguments: readonly string[];
  readonly print: (line: string) => void;
}

const STDERR_TAIL_LINES = 5;

/** The `spark-submit` on PATH, or an error saying what to install. */
export function sparkSubmit(purpose: PurposeConfig): string {
  const found = spawnSync('sh', ['-c', 'command -v spark-submit'], { encoding: 'utf8' }).stdout.trim();
  if (found !== '') return found;
  throw new LocalRunError(
    `purpose '${purpose.name}' runs with Spark, and run-local runs its script with spark-submit in Spark's local mode, but there is no spark-submit on PATH. ` +
      `Install PySpark of the job's Spark version (${purpose.spark!.runtime === 'sagemaker' ? `Spark ${purpose.spark!.release}` : `${purpose.spark!.release} brings Spark 3.5`}), ` +
      "which brings spark-submit, and a Java runtime it runs on: pip install 'pyspark==3.5.*' and e.g. apt install openjdk-17-jre-headless; then run again",
  );
}

/** Every `s3://bucket/key` in `argument` as its folder under the data folder. */
function localArgument(job: LocalSparkJob, argument: string): string {
  return argument.replace(/s3a?:\/\/[a-z0-9][a-z0-9.-]*\/[^\s,]*/g, (uri) => {
    const local = localPathOf(job.project, job.dataDir, uri.replace(/^s3a:/, 's3:'));
    return uri.endsWith('/') && !local.endsWith(path.sep) ? `${local}${path.sep}` : local;
  });
}

/** The py-files zipped as the deployed job gets them: a folder under its own name, a file at the top. */
function zipPyFiles(job: LocalSparkJob): string | undefined {
  const files = job.purpose.spark!.pyFiles;
  if (files.length === 0) return undefined;
  const stage = path.join(job.runDir, 'pyfiles');
  fs.rmSync(stage, { recursive: true, force: true });
  stagePyFiles(files, stage);
  const zip = path.join(job.runDir, 'pyfiles.zip');
  const made = spawnSync(
    'python3',
    ['-c', 'import shutil, sys; shutil.make_archive(sys.argv[1], "zip", sys.argv[2])', zip.replace(/\.zip$/, ''), stage],
    {
      encoding: 'utf8',
    },
  );
  if (made.status !== 0) throw new LocalRunError(`cannot zip the py-files of purpose '${job.purpose.name}': ${made.stderr.trim()}`);
  return zip;
}

/** Files a local file system adds that S3 would not hold: Hadoop's checksums. */
function removeChecksums(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) removeChecksums(p);
    else if (e.name.endsWith('.crc')) fs.rmSync(p);
  }
}

/**
 * Runs the job; a failed script throws the shape a failed EMR Serverless job run reports
 * (`JobRun.StateDetails`), so the state machine's failure path reads its reason.
 */
export async function runSparkJobLocally(job: LocalSparkJob): Promise<{ outputs: string[] }> {
  const { purpose, print } = job;
  const spark = purpose.spark!;
  const submit = sparkSubmit(purpose);
  const pyFiles = zipPyFiles(job);
  const config = sparkProperties(spark.config);
  const args = [
    '--master',
    'local[*]',
    '--name',
    job.jobName,
    ...Object.entries(config).flatMap(([k, v]) => ['--conf', `${k}=${v}`]),
    ...(pyFiles ? ['--py-files', pyFiles] : []),
    ...(spark.mainClass ? ['--class', spark.mainClass] : []),
    purpose.script!,
    ...job.arguments.map((a) => localArgument(job, a)),
  ];
  print(`  $ spark-submit ${args.map((a) => (/^[A-Za-z0-9_./:=@%+,*[\]-]+$/.test(a) ? a : `'${a}'`)).join(' ')}`);
  const outputs = job.arguments.flatMap((a) =>
    [...a.matchAll(/s3:\/\/[^\s,]*\/_attempts\/[^\s,]*/g)].map((m) => localPathOf(job.project, job.dataDir, m[0])),
  );
  const env = {
    ...process.env,
    ...purpose.environment,
    BATCAT_PURPOSE: purpose.name,
    PYSPARK_PYTHON: process.env.PYSPARK_PYTHON ?? 'python3',
  };
  const log = fs.createWriteStream(path.join(job.runDir, 'spark.log'));
  let tail: string[] = [];
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(submit, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = (chunk: Buffer, isErr: boolean) => {
      log.write(chunk);
      for (const line of chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '')) {
        print(`  | ${line}`);
        if (isErr) tail = [...tail, line].slice(-STDERR_TAIL_LINES);
      }
    };
    child.stdout.on('data', (c: Buffer) => lines(c, false));
    child.stderr.on('data', (c: Buffer) => lines(c, true));
    child.on('error', (e) => reject(new LocalRunError(`cannot start ${submit}: ${e.message}`)));
    child.on('close', (c) => resolve(c ?? 1));
  });
  await new Promise((r) => log.end(r));
  for (const o of outputs) removeChecksums(o);
  if (code !== 0) {
    throw taskError(
      'States.TaskFailed',
      JSON.stringify({
        JobRun: {
          JobRunId: 'local',
          State: 'FAILED',
          StateDetails:
            `spark-submit exited with code ${code}` +
            (tail.length > 0 ? `; the last lines of its stderr: ${tail.join(' | ')}` : '; it wrote nothing to stderr'),
        },
      }),
    );
  }
  return { outputs };
}
