import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AthenaClient } from '@aws-sdk/client-athena';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ProjectConfig } from '../config/load-project';
import { runAthenaQuery } from '../io/athena';
import { parseS3Uri, s3Error } from '../io/s3';
import type { RunWindow } from '../contract/dates';
import { countPlaceholders, executionParameters } from '../io/sql';
import { runLocalQuery } from '../local/local-sql';
import { formatBytes, formatSeconds } from './format';
import { UsageError } from './project-context';
import { checkedDates } from './run-command';

export interface QueryOptions {
  readonly sql: string;
  readonly date?: string;
  readonly from?: string;
  readonly to?: string;
  /** A local file; without it the CSV goes to standard output. */
  readonly out?: string;
  readonly timeoutMinutes: number;
  /** Run it here with DuckDB over the project's tables in this data folder, instead of Athena. */
  readonly local?: string;
}

export interface QueryDeps {
  readonly athena: AthenaClient;
  readonly s3: S3Client;
  /** Standard output: the CSV when there is no --out. */
  readonly write: (text: string) => void;
  /** Progress, on standard error. */
  readonly progress: (line: string) => void;
  readonly signal?: AbortSignal;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly now?: () => number;
}

/** The window of --date or --from/--to (--to defaults to --from), or undefined when none is given. */
function windowOf(o: QueryOptions): RunWindow | undefined {
  const d = checkedDates({ date: o.date, from: o.from, to: o.to ?? o.from });
  if (d.date !== undefined) return { start: d.date, end: d.date };
  if (d.from === undefined) return undefined;
  if (d.to! < d.from) throw new UsageError(`--to ${d.to} is before --from ${d.from}`);
  return { start: d.from, end: d.to! };
}

/**
 * Runs a query file in the project's workgroup and database, with the window bound to its `?`
 * placeholders (start, end), and streams the result CSV to a file or standard output.
 */
export async function queryCommand(project: ProjectConfig, rootDir: string, o: QueryOptions, deps: QueryDeps): Promise<number> {
  const file = path.resolve(rootDir, o.sql);
  if (!fs.existsSync(file)) throw new UsageError(`query file ${file} does not exist`);
  const sql = fs.readFileSync(file, 'utf8');
  if (sql.trim() === '') throw new UsageError(`query file ${file} is empty`);
  const window = windowOf(o);
  const placeholders = countPlaceholders(sql);
  if (placeholders > 0 && !window)
    throw new UsageError(`${o.sql} has ${placeholders} '?' placeholder(s); give the window with --from and --to (or --date)`);
  try {
    executionParameters(sql, placeholders === 0 ? undefined : window);
  } catch (e) {
    throw new UsageError(`${o.sql}: ${(e as Error).message}`);
  }
  const out = o.out === undefined ? undefined : path.resolve(rootDir, o.out);
  if (out !== undefined && fs.existsSync(out) && fs.statSync(out).isDirectory())
    throw new UsageError(`--out ${o.out} is a folder; give a file name`);

  if (o.local !== undefined) return localQuery(project, rootDir, sql, placeholders > 0 ? window : undefined, o, out, deps);

  deps.progress(
    `query ${o.sql} in workgroup ${project.workgroup}, database ${project.database}${window && placeholders > 0 ? `, window ${window.start} .. ${window.end}` : ''}`,
  );
  let lastState = '';
  const result = await runAthenaQuery(deps.athena, {
    sql,
    window: placeholders > 0 ? window : undefined,
    workgroup: project.workgroup,
    database: project.database,
    timeoutMs: o.timeoutMinutes * 60_000,
    signal: deps.signal,
    sleep: deps.sleep,
    now: deps.now,
    onProgress: (p) => {
      const line = `  ${p.state.toLowerCase()} ${formatSeconds(p.elapsedMs)}, ${formatBytes(p.dataScannedBytes)} scanned`;
      if (line !== lastState) deps.progress(line);
      lastState = line;
    },
  });
  deps.progress(
    `query ${result.queryExecutionId} succeeded: ${formatBytes(result.dataScannedBytes)} scanned in ${formatSeconds(result.engineExecutionTimeMs)}`,
  );
  if (!result.outputLocation) throw new Error(`query ${result.queryExecutionId} reported no result location`);

  const { bucket, key } = parseS3Uri(result.outputLocation);
  let body: Readable;
  try {
    body = (await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: deps.signal })).Body as Readable;
  } catch (e) {
    throw s3Error(e, 'GetObject', bucket, key);
  }
  let bytes = 0;
  let last = Date.now();
  const counted = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      bytes += chunk.length;
      if (Date.now() - last > 2000) {
        last = Date.now();
        deps.progress(`  ${formatBytes(bytes)} received`);
      }
      yield chunk;
    }
  };
  if (out === undefined) {
    for await (const chunk of counted(body)) deps.write(chunk.toString('utf8'));
  } else {
    // Written under a temporary name, so an interrupted download never looks like a result.
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const part = `${out}.batcat-part`;
    try {
      await pipeline(body, counted, fs.createWriteStream(part), { signal: deps.signal });
    } catch (e) {
      fs.rmSync(part, { force: true });
      throw e;
    }
    fs.renameSync(part, out);
    deps.progress(`wrote ${o.out} (${formatBytes(bytes)}) from ${result.outputLocation}`);
  }
  return 0;
}

/** `query --local`: the same SQL and window, run with DuckDB over the tables in the data folder. */
async function localQuery(
  project: ProjectConfig,
  rootDir: string,
  sql: string,
  window: RunWindow | undefined,
  o: QueryOptions,
  out: string | undefined,
  deps: QueryDeps,
): Promise<number> {
  const dataDir = path.resolve(rootDir, o.local!);
  if (!fs.existsSync(dataDir))
    throw new UsageError(`data folder ${dataDir} does not exist; give --local <dir>, the folder run-local writes`);
  const target = out ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'batcat-query-')), 'result.csv');
  deps.progress(
    `query ${o.sql} with DuckDB over the tables in ${path.relative(rootDir, dataDir) || '.'}/${window ? `, window ${window.start} .. ${window.end}` : ''}`,
  );
  const r = await runLocalQuery({
    sql,
    sqlFile: o.sql,
    parameters: executionParameters(sql, window) ?? [],
    project,
    dataDir,
    out: target,
  });
  if (out === undefined) {
    deps.write(fs.readFileSync(target, 'utf8'));
    fs.rmSync(path.dirname(target), { recursive: true, force: true });
  } else {
    deps.progress(`wrote ${o.out} (${r.rows} row(s))`);
  }
  return 0;
}
