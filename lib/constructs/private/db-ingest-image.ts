import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DB_INGEST_PROGRAM } from '../../contract/db-source';
import { packageRoot } from '../../contract/package-root';

/*
 * The ingestion image of database source purposes: Node.js 22 (the ECR Public copy of Docker's
 * official image) and one bundled file with the PostgreSQL and MySQL drivers, the Parquet writer
 * and the Secrets Manager client. Built by `cdk deploy` from a folder staged here; run-local runs
 * the same bundle.
 */

/** The image the program runs on. */
export const DB_INGEST_BASE_IMAGE = 'public.ecr.aws/docker/library/node:22-slim';

function programEntry(): string {
  const root = packageRoot();
  const candidates = [
    path.join(root, 'lib', 'runtime', 'db-ingest-main.ts'),
    path.join(root, 'dist', 'lib', 'runtime', 'db-ingest-main.js'),
  ];
  const entry = candidates.find((f) => fs.existsSync(f));
  if (!entry) throw new Error(`the db-ingest program is missing: none of ${candidates.join(', ')} exists; reinstall batcat-cdk`);
  return entry;
}

/** Bundles the program into `file` (one CommonJS file, no dependencies left to install). */
export function bundleDbIngest(file: string): void {
  // Loaded here: a stack without a database source never pays for esbuild.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { buildSync } = require('esbuild') as typeof import('esbuild');
  const entry = programEntry();
  try {
    buildSync({
      entryPoints: [entry],
      outfile: file,
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      minify: true,
      legalComments: 'none',
      // pg's optional native binding, which the pure-JavaScript client never loads.
      external: ['pg-native'],
      logLevel: 'silent',
    });
  } catch (e) {
    const missing = /Could not resolve "([^"]+)"/.exec((e as Error).message);
    if (!missing) throw e;
    throw new Error(
      `the db-ingest program cannot be bundled: ${missing[1]} is not installed; the ingestion image carries it, so install it next to batcat-cdk (npm install --save-dev ${missing[1]})`,
      { cause: e },
    );
  }
}

let staged: string | undefined;

/**
 * A folder with the Dockerfile and the bundle, made once per process: the image asset's source.
 * With `skipBundling` (a unit test that leaves bundling out), the bundle is a stand-in line.
 */
export function dbIngestImageFolder(skipBundling: boolean): string {
  if (skipBundling) {
    const dir = path.join(os.tmpdir(), 'batcat-db-ingest-skipped');
    writeFolder(dir, (file) => fs.writeFileSync(file, '// bundling skipped\n'));
    return dir;
  }
  if (staged) return staged;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batcat-db-ingest-'));
  writeFolder(dir, bundleDbIngest);
  return (staged = dir);
}

function writeFolder(dir: string, bundle: (file: string) => void): void {
  fs.mkdirSync(dir, { recursive: true });
  bundle(path.join(dir, path.basename(DB_INGEST_PROGRAM)));
  fs.writeFileSync(
    path.join(dir, 'Dockerfile'),
    [
      `FROM ${DB_INGEST_BASE_IMAGE}`,
      `COPY ${path.basename(DB_INGEST_PROGRAM)} ${DB_INGEST_PROGRAM}`,
      `ENTRYPOINT ["node", "${DB_INGEST_PROGRAM}"]`,
      '',
    ].join('\n'),
  );
}
