import * as path from 'node:path';
import { Token } from 'aws-cdk-lib';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import type { Construct } from 'constructs';
import { CODE_INPUT_NAME, CODE_PATH } from '../../contract/processing';
import type { ProcessingInput } from '../sagemaker-create-processing-job';
import { scopedError } from './errors';

/**
 * Unpacks the code asset next to itself (once per instance; SageMaker delivers the asset as the
 * zip CDK uploaded) and replaces itself with `python3 <script> <arguments>`, so the script runs
 * as SKLearnProcessor would start it: same path, same argv, same working directory. One line,
 * because SageMaker matches each entrypoint string against `.*`, which stops at a line break.
 */
export const UNPACK_AND_RUN =
  'import os, sys, zipfile; a = sys.argv[1]; ' +
  'os.path.exists(a) and (zipfile.ZipFile(a).extractall(os.path.dirname(a)), os.remove(a)); ' +
  "os.execvp('python3', ['python3'] + sys.argv[2:])";

/** Script mode: the code input and the entrypoint that runs the script. */
export interface ScriptCode {
  readonly input: ProcessingInput;
  readonly entrypoint: string[];
}

/**
 * Uploads `script` (with `sourceDirectory`, the whole folder) as a zip asset and delivers it as
 * the input `code` at /opt/ml/processing/input/code/.
 */
export function scriptCode(scope: Construct, script: string, sourceDirectory?: string): ScriptCode {
  if (!path.isAbsolute(script)) throw scopedError(scope, `script must be an absolute path, got '${script}'`);
  const folder = sourceDirectory ?? path.dirname(script);
  const relative = path.relative(folder, script);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw scopedError(
      scope,
      `script '${script}' is not inside sourceDirectory '${folder}'; the script must be part of the folder uploaded with it`,
    );
  }
  const asset = new s3assets.Asset(scope, 'Code', {
    path: folder,
    // Without a source folder only the script travels, not its neighbours.
    exclude: sourceDirectory === undefined ? ['*', `!${path.basename(script)}`] : ['__pycache__', '*.pyc', '.venv', '.git'],
  });
  if (Token.isUnresolved(asset.s3ObjectKey))
    throw scopedError(scope, 'script mode needs a stack synthesizer that names asset objects at synth time');
  const archive = `${CODE_PATH}/${path.posix.basename(asset.s3ObjectKey)}`;
  return {
    input: { name: CODE_INPUT_NAME, bucket: asset.bucket, keyPrefix: asset.s3ObjectKey, localPath: CODE_PATH },
    entrypoint: ['python3', '-c', UNPACK_AND_RUN, archive, `${CODE_PATH}/${relative.split(path.sep).join('/')}`],
  };
}
