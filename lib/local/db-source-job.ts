/*
 * A database source purpose's job, carried out on this machine: the ingestion program's code
 * (lib/runtime/db-ingest.ts, what its image's bundle runs) reads the database that
 * `source.local` or BATCAT_SOURCE_URL names, in place of the secret, with the arguments the
 * state machine rendered; its Parquet files are uploaded (copied to data/) as SageMaker would.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DB_URL_ENV, parseDbIngestArguments } from '../contract/db-source';
import { runDbIngest, urlConnection } from '../runtime/db-ingest';
import { LocalRunError } from './container-spec';
import { failure, filesBelow, localPathOf, type LocalJob, type LocalJobResult, type ProcessingJobParams } from './processing-job';

/** The database run-local reads for `purpose`, or why there is none. */
export function localSourceUrl(purpose: LocalJob['purpose'], env: NodeJS.ProcessEnv = process.env): string {
  const url = env[DB_URL_ENV] ?? purpose.source!.local;
  if (url === undefined || url === '') {
    throw new LocalRunError(
      `purpose '${purpose.name}' reads ${purpose.source!.engine} through the secret ${purpose.source!.secret}, which run-local does not read: ` +
        `add source.local to the project file (a URL without password, e.g. ${purpose.source!.engine}://postgres@127.0.0.1/shop) or set ${DB_URL_ENV}`,
    );
  }
  return url;
}

export async function runDbSourceLocally(
  job: Pick<LocalJob, 'project' | 'purpose' | 'dataDir' | 'print'>,
  params: ProcessingJobParams,
): Promise<LocalJobResult> {
  const { purpose, print } = job;
  const output = params.ProcessingOutputConfig!.Outputs[0];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batcat-db-source-'));
  try {
    const request = parseDbIngestArguments(params.AppSpecification?.ContainerArguments ?? []);
    const url = localSourceUrl(purpose);
    const folder = path.join(tmp, 'output');
    print(`  $ db-ingest ${(params.AppSpecification?.ContainerArguments ?? []).join(' ')}  (the image's program, here in-process)`);
    try {
      // The query file is the project's own, where the job reads its copy from the input `code`.
      await runDbIngest(
        { ...request, output: folder, queryFile: request.queryFile !== undefined ? purpose.source!.queryFile : undefined },
        urlConnection(request.engine, url),
        (line) => print(`  | ${line}`),
      );
    } catch (e) {
      // The reason the program writes to /opt/ml/output/message, which SageMaker makes the job's FailureReason.
      throw failure(params.ProcessingJobName, `db-ingest: ${(e as Error).message}`.slice(0, 1024));
    }
    const target = localPathOf(job.project, job.dataDir, output.S3Output.S3Uri);
    const outputs = filesBelow(folder).map((rel) => {
      const to = path.join(target, ...rel.split('/'));
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(path.join(folder, rel), to);
      return to;
    });
    return { outputs, written: outputs.length > 0 ? [output.S3Output.LocalPath] : [], metrics: '' };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
