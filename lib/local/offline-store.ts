/*
 * A feature group's offline store on this machine: what SageMaker writes to S3 for each
 * PutRecord, here from the same records the ingestion step puts (lib/runtime/feature-ingest.ts).
 * The layout is the offline store's: `<store folder>/<account>/sagemaker/<region>/offline-store/
 * <group>/data/year=YYYY/month=MM/day=DD/hour=HH/<file>.parquet`, partitioned by event time, each
 * record with the features and the three columns SageMaker adds (write_time,
 * api_invocation_time, is_deleted), so a training script or query written against the offline
 * store reads these files as it would read S3's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { FeatureIngestRequest, FeatureType } from '../contract/feature-store';
import type { ObjectStore } from '../runtime/commit';
import { featureRecords } from '../runtime/feature-ingest';

const PARQUET_TYPE: Readonly<Record<FeatureType, 'INT64' | 'DOUBLE' | 'STRING'>> = {
  Integral: 'INT64',
  Fractional: 'DOUBLE',
  String: 'STRING',
};

/** A feature's text as its type is stored. */
function stored(type: FeatureType, text: string | undefined): unknown {
  if (text === undefined) return null;
  return type === 'Integral' ? BigInt(text) : type === 'Fractional' ? Number(text) : text;
}

/**
 * Writes the records of `request`'s result below `folder` (the offline store's S3 URI, as a
 * local folder), one file per event-time hour for this run; the files written, and the records.
 */
export async function writeOfflineStore(
  store: ObjectStore,
  request: FeatureIngestRequest,
  folder: string,
  fileName: string,
  now = new Date(),
): Promise<{ readonly files: string[]; readonly records: number }> {
  const byHour = new Map<string, Array<Map<string, string>>>();
  for await (const { record } of featureRecords(store, request)) {
    const values = new Map(record.map((v) => [v.FeatureName, v.ValueAsString]));
    const eventTime = values.get(request.eventTime)!;
    const at = /^\d+(\.\d+)?$/.test(eventTime) ? new Date(Number(eventTime) * 1000) : new Date(eventTime);
    if (Number.isNaN(at.getTime()))
      throw new Error(`event time '${eventTime}' of a record of ${request.featureGroupName} is not a time Feature Store accepts`);
    const hour = at.toISOString().replace(/^(\d{4})-(\d{2})-(\d{2})T(\d{2}).*$/, 'year=$1/month=$2/day=$3/hour=$4');
    const rows = byHour.get(hour) ?? [];
    rows.push(values);
    byHour.set(hour, rows);
  }
  const root = path.join(folder, '000000000000', 'sagemaker', 'local', 'offline-store', request.featureGroupName, 'data');
  const files: string[] = [];
  for (const [hour, rows] of [...byHour].sort(([a], [b]) => a.localeCompare(b))) {
    const buffer = parquetWriteBuffer({
      columnData: [
        ...request.features.map((f) => ({
          name: f.name,
          data: rows.map((r) => stored(f.type, r.get(f.name))) as never,
          type: PARQUET_TYPE[f.type],
          nullable: true,
        })),
        { name: 'write_time', data: rows.map(() => now) as never, type: 'TIMESTAMP' as const },
        { name: 'api_invocation_time', data: rows.map(() => now) as never, type: 'TIMESTAMP' as const },
        { name: 'is_deleted', data: rows.map(() => false) as never, type: 'BOOLEAN' as const },
      ],
    });
    const file = path.join(root, ...hour.split('/'), `${fileName}.parquet`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, new Uint8Array(buffer));
    files.push(file);
  }
  return { files, records: [...byHour.values()].reduce((n, r) => n + r.length, 0) };
}
