import { S3Client } from '@aws-sdk/client-s3';
import { s3Store } from '../../lib/runtime/s3-store';
import { writeWindowManifests, type WindowManifestRequest, type WindowManifestResult } from '../../lib/runtime/window-manifest';

/*
 * The partition step of a run over several days: called by the purpose's state machine before
 * the job, it lists each partitioned input's `dt=` partitions in the window and writes the
 * manifests the job reads them through (lib/runtime/window-manifest.ts). A missing day of a
 * `complete` input, an empty window or a manifest over its limit is thrown as a named error
 * (BatCat.MissingPartitions, BatCat.EmptyWindow, BatCat.ManifestTooLarge) that fails the run.
 */

const s3 = new S3Client({});

export async function handler(event: WindowManifestRequest): Promise<WindowManifestResult> {
  const result = await writeWindowManifests((bucket) => s3Store(s3, bucket), event);
  console.info({ message: 'window manifests written', window: event.window, ...result });
  return result;
}
