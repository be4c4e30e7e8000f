import { S3Client } from '@aws-sdk/client-s3';
import { commitOutputs, type CommitResult, type OutputCommit } from '../../lib/runtime/commit';
import { s3Store } from '../../lib/runtime/s3-store';

/*
 * Commits a successful run's outputs: called by the purpose's state machine after the output
 * check, with the bucket and each output's attempt and result folders. The logic is in
 * lib/runtime/commit.ts; an error is thrown for the state machine to retry (the commit resumes
 * from its manifest).
 */

const s3 = new S3Client({});

export interface CommitRequest {
  readonly bucket: string;
  readonly outputs: readonly OutputCommit[];
}

export async function handler(event: CommitRequest): Promise<CommitResult> {
  const result = await commitOutputs(s3Store(s3, event.bucket), event.outputs);
  console.info({ message: 'results committed', bucket: event.bucket, ...result });
  return result;
}
