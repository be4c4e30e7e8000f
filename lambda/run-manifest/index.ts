import { S3Client } from '@aws-sdk/client-s3';
import { recordRunInputs, recordRunOutputs, type RecordInputsRequest, type RecordOutputsRequest } from '../../lib/runtime/run-manifest';
import { s3Store, s3VersionLister } from '../../lib/runtime/s3-store';

/*
 * The run manifest of a purpose's run (lib/runtime/run-manifest.ts), in two steps of its state
 * machine: `inputs` before the job records the versions it will read (BatCat.RunManifestTooLarge
 * when there are too many), `outputs` after the commit adds the versions it wrote and writes
 * manifest.json.
 */

const s3 = new S3Client({});

export type RunManifestEvent = ({ readonly step: 'inputs' } & RecordInputsRequest) | ({ readonly step: 'outputs' } & RecordOutputsRequest);

export async function handler(event: RunManifestEvent): Promise<unknown> {
  const store = s3Store(s3, event.bucket);
  const result =
    event.step === 'inputs'
      ? await recordRunInputs(s3VersionLister(s3), store, event)
      : await recordRunOutputs(s3VersionLister(s3), store, event);
  console.info({ message: `run manifest: ${event.step} recorded`, ...result });
  return result;
}
