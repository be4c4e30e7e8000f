import { S3Client } from '@aws-sdk/client-s3';
import { PutRecordCommand, SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import type { FeatureIngestRequest } from '../../lib/contract/feature-store';
import { ingestFeatures } from '../../lib/runtime/feature-ingest';
import { s3Store } from '../../lib/runtime/s3-store';

/*
 * Puts a run's committed output into its feature group, record by record (PutRecord; the
 * processing job's Feature Store output is for SageMaker's own containers only). The logic is in
 * lib/runtime/feature-ingest.ts; an error fails the step, and a redrive puts the result again
 * (a record put twice keeps the newest in the online store; the offline store keeps both writes).
 */

const s3 = new S3Client({});
const featureStore = new SageMakerFeatureStoreRuntimeClient({ maxAttempts: 8 });

export async function handler(event: FeatureIngestRequest): Promise<{ records: number }> {
  const result = await ingestFeatures(s3Store(s3, event.bucket), event, async (record) => {
    await featureStore.send(new PutRecordCommand({ FeatureGroupName: event.featureGroupName, Record: record }));
  });
  console.info({ message: 'features put', featureGroup: event.featureGroupName, prefix: event.prefix, ...result });
  return result;
}
