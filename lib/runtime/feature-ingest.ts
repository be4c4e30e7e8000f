import { parquetReadObjects } from 'hyparquet';
import { CsvParser } from '../contract/csv';
import { featureValue, type FeatureIngestRequest } from '../contract/feature-store';
import type { ObjectStore } from './commit';
import { parquetFile } from './parquet-rows';

/*
 * The feature ingestion of one output of one run: every row of the window's committed result
 * (its CSV files with a header line, its Parquet files) as a Feature Store record, put by `put`
 * (PutRecord on AWS; run-local writes the offline store's layout). A row without its record
 * identifier or event time fails the step, naming the file and row: Feature Store would refuse it.
 */

/** One record as PutRecord takes it. */
export type FeatureRecord = Array<{ readonly FeatureName: string; readonly ValueAsString: string }>;

/** How many records are put at once. */
const PARALLEL_PUTS = 32;

/** The rows of one result file, as column name -> value. */
async function* fileRows(store: ObjectStore, key: string, size: number): AsyncGenerator<Record<string, unknown>> {
  if (key.endsWith('.parquet')) {
    const readRange = store.readRange?.bind(store);
    if (!readRange) throw new Error(`cannot read ${key}: the store reads no byte ranges`);
    yield* await parquetReadObjects({ file: parquetFile(size, (start, end) => readRange(key, null, start, end)) });
    return;
  }
  const text = (await store.read(key)) ?? '';
  const parser = new CsvParser();
  const [header, ...records] = [...parser.push(text), ...parser.end()];
  for (const r of records) yield Object.fromEntries(header.map((h, n) => [h, r[n]]));
}

/** Each row of the result as a record, with where it came from (`<key>, row <n>`). */
export async function* featureRecords(
  store: ObjectStore,
  request: FeatureIngestRequest,
): AsyncGenerator<{ readonly record: FeatureRecord; readonly at: string }> {
  const files = (await store.list(request.prefix)).filter((f) => /\.(csv|parquet)$/.test(f.key));
  for (const f of files) {
    let n = 0;
    for await (const row of fileRows(store, f.key, f.size)) {
      n++;
      const at = `${f.key}, row ${n}`;
      const record: FeatureRecord = [];
      for (const feature of request.features) {
        const value = featureValue(row[feature.name], feature.name === request.eventTime);
        if (value !== undefined) record.push({ FeatureName: feature.name, ValueAsString: value });
      }
      for (const [what, name] of [
        ['record identifier', request.recordIdentifier],
        ['event time', request.eventTime],
      ] as const) {
        if (!record.some((v) => v.FeatureName === name))
          throw new Error(`${at} has no ${what} (column ${name}); feature group ${request.featureGroupName} needs one in every record`);
      }
      yield { record, at };
    }
  }
}

/** Puts every record of the result, `PARALLEL_PUTS` at a time; how many were put. */
export async function ingestFeatures(
  store: ObjectStore,
  request: FeatureIngestRequest,
  put: (record: FeatureRecord) => Promise<void>,
): Promise<{ readonly records: number }> {
  let records = 0;
  const pending = new Set<Promise<void>>();
  let failed: Error | undefined;
  for await (const { record, at } of featureRecords(store, request)) {
    if (failed) break;
    const p = put(record)
      .catch((e: Error) => {
        failed ??= new Error(`PutRecord of ${at} into ${request.featureGroupName} failed: ${e.name}: ${e.message}`);
      })
      .finally(() => pending.delete(p));
    pending.add(p);
    records++;
    if (pending.size >= PARALLEL_PUTS) await Promise.race(pending);
  }
  await Promise.all(pending);
  if (failed) throw failed;
  return { records };
}
