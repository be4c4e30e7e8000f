import * as path from 'node:path';
import { Stack, Token } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { DB_INGEST_ENTRYPOINT, dbIngestArguments } from '../../contract/db-source';
import { CODE_INPUT_NAME, CODE_PATH, defaultOutputPath } from '../../contract/processing';
import { databaseSourceProblems } from '../../contract/rules';
import type { PurposeProps } from '../purpose-props';
import { dbIngestImageFolder } from './db-ingest-image';
import { check, scopedError } from './errors';
import type { ScriptCode } from './script-code';

/** The props a database source stands for: what any purpose would give to run BatCat's ingestion program. */
export interface DatabaseSourceJob {
  readonly image: tasks.DockerImage;
  readonly entrypoint: string[];
  readonly arguments: string[];
  /** The query file as the input `code`, with the entrypoint; absent for a table. */
  readonly code?: ScriptCode;
}

/**
 * Checks a database source with the project file's rules, and builds its job: the ingestion
 * image (`Image`, from the package's program), the query file (`Code`), the arguments.
 */
export function databaseSourceJob(scope: Construct, props: PurposeProps): DatabaseSourceJob {
  const s = props.source!;
  const other = (['containerDirectory', 'image', 'script', 'spark', 'entrypoint', 'arguments', 'query', 'redshiftQuery'] as const).filter(
    (k) => props[k] !== undefined,
  );
  for (const p of databaseSourceProblems({
    engine: s.engine,
    secret: s.secret === undefined ? undefined : 'given',
    table: s.table,
    query: s.queryFile,
    incremental: s.incremental,
    otherSettings: [...other, ...((props.inputs ?? []).length > 0 ? ['inputs'] : [])],
    vpc: props.vpc !== undefined || props.vpcSubnets !== undefined,
    networkIsolation: props.networkIsolation,
    outputs: props.outputs.length,
  }))
    check(scope, `${p.field}: ${p.message}`);
  if (s.queryFile !== undefined && !path.isAbsolute(s.queryFile))
    throw scopedError(scope, `source.queryFile must be an absolute path, got '${s.queryFile}'`);

  const folder = dbIngestImageFolder(!Stack.of(scope).bundlingRequired);
  const image = tasks.DockerImage.fromAsset(scope, 'Image', { directory: folder, platform: Platform.LINUX_AMD64 });
  let code: ScriptCode | undefined;
  let queryFile: string | undefined;
  if (s.queryFile !== undefined) {
    const asset = new s3assets.Asset(scope, 'Code', { path: s.queryFile });
    if (Token.isUnresolved(asset.s3ObjectKey))
      throw scopedError(scope, 'a query file needs a stack synthesizer that names asset objects at synth time');
    // SageMaker puts the object named by the prefix at the local path under its own name.
    queryFile = `${CODE_PATH}/${path.posix.basename(asset.s3ObjectKey)}`;
    code = {
      input: { name: CODE_INPUT_NAME, bucket: asset.bucket, keyPrefix: asset.s3ObjectKey, localPath: CODE_PATH },
      entrypoint: [...DB_INGEST_ENTRYPOINT],
    };
  }
  const output = props.outputs[0];
  return {
    image,
    entrypoint: [...DB_INGEST_ENTRYPOINT],
    arguments: dbIngestArguments({
      engine: s.engine,
      table: s.table,
      queryFile,
      incremental: s.incremental,
      output: output.localPath ?? defaultOutputPath(output.name),
    }),
    code,
  };
}
