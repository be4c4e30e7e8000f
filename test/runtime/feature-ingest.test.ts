import { parquetWriteBuffer } from 'hyparquet-writer';
import type { FeatureIngestRequest } from '../../lib/contract/feature-store';
import { featureGroupName, featureType, featureValue } from '../../lib/contract/feature-store';
import type { ObjectStore } from '../../lib/runtime/commit';
import { ingestFeatures, type FeatureRecord } from '../../lib/runtime/feature-ingest';

/*
 * The feature ingestion step's logic: every row of a committed result (CSV with a header, and
 * Parquet read by byte ranges) becomes one PutRecord, values as text, the event time as ISO 8601;
 * a row without its identifier, or a refused put, fails the step naming the file and row.
 */

/** An object store of the given objects, read by ranges as S3 serves them. */
function storeOf(objects: Record<string, string | Uint8Array>): ObjectStore {
  const bytes = (k: string) => (typeof objects[k] === 'string' ? new TextEncoder().encode(objects[k]) : objects[k]);
  return {
    list: (prefix) =>
      Promise.resolve(
        Object.keys(objects)
          .filter((k) => k.startsWith(prefix))
          .sort()
          .map((key) => ({ key, size: bytes(key).length })),
      ),
    read: (key) => Promise.resolve(typeof objects[key] === 'string' ? objects[key] : undefined),
    readRange: (key, _v, start, end) => Promise.resolve(bytes(key).slice(start, end)),
    copy: () => Promise.reject(new Error('not here')),
    delete: () => Promise.reject(new Error('not here')),
    write: () => Promise.reject(new Error('not here')),
  };
}

const REQUEST: FeatureIngestRequest = {
  bucket: 'b',
  prefix: 'results/p/features/dt=2026-12-04/',
  featureGroupName: 'batcat-demo-dev-p-features',
  recordIdentifier: 'vin',
  eventTime: 'at',
  features: [
    { name: 'vin', type: 'String' },
    { name: 'at', type: 'String' },
    { name: 'trips', type: 'Integral' },
    { name: 'soc', type: 'Fractional' },
  ],
};

test('CSV and Parquet rows become records: values as text, nulls left out, the event time in ISO 8601 with a zone', async () => {
  const parquet = new Uint8Array(
    parquetWriteBuffer({
      columnData: [
        { name: 'vin', data: ['V3'], type: 'STRING' },
        { name: 'at', data: [new Date('2026-12-04T10:00:00Z')], type: 'TIMESTAMP' },
        { name: 'trips', data: [12n], type: 'INT64' },
        { name: 'soc', data: [null], type: 'DOUBLE', nullable: true },
      ],
    }),
  );
  const store = storeOf({
    [`${REQUEST.prefix}a.csv`]: 'vin,at,trips,soc,extra\nV1,2026-12-04 08:00:00,3,0.5,x\n"V2","2026-12-04T09:00:00+01:00",,0.25,y\n',
    [`${REQUEST.prefix}b.parquet`]: parquet,
    [`${REQUEST.prefix}_SUCCESS`]: '',
  });
  const put: FeatureRecord[] = [];
  expect(await ingestFeatures(store, REQUEST, async (r) => void put.push(r))).toEqual({ records: 3 });
  expect(put).toEqual([
    [
      { FeatureName: 'vin', ValueAsString: 'V1' },
      { FeatureName: 'at', ValueAsString: '2026-12-04T08:00:00Z' },
      { FeatureName: 'trips', ValueAsString: '3' },
      { FeatureName: 'soc', ValueAsString: '0.5' },
    ],
    [
      { FeatureName: 'vin', ValueAsString: 'V2' },
      { FeatureName: 'at', ValueAsString: '2026-12-04T08:00:00.000Z' },
      { FeatureName: 'soc', ValueAsString: '0.25' },
    ],
    [
      { FeatureName: 'vin', ValueAsString: 'V3' },
      { FeatureName: 'at', ValueAsString: '2026-12-04T10:00:00.000Z' },
      { FeatureName: 'trips', ValueAsString: '12' },
    ],
  ]);
});

test('a row without its record identifier fails the step, naming the file and row', async () => {
  const store = storeOf({ [`${REQUEST.prefix}a.csv`]: 'vin,at\nV1,2026-12-04\n,2026-12-04\n' });
  await expect(ingestFeatures(store, REQUEST, async () => undefined)).rejects.toThrow(
    `${REQUEST.prefix}a.csv, row 2 has no record identifier (column vin); feature group batcat-demo-dev-p-features needs one in every record`,
  );
});

test('a refused put fails the step with the record and the reason, after the puts under way end', async () => {
  const store = storeOf({
    [`${REQUEST.prefix}a.csv`]: `vin,at\n${Array.from({ length: 100 }, (_, n) => `V${n},2026-12-04`).join('\n')}\n`,
  });
  let inFlight = 0;
  let most = 0;
  const refused = ingestFeatures(store, REQUEST, async (r) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 1));
    inFlight--;
    if (r[0].ValueAsString === 'V40') throw Object.assign(new Error('Feature soc is not a number'), { name: 'ValidationError' });
  });
  await expect(refused).rejects.toThrow(
    `PutRecord of ${REQUEST.prefix}a.csv, row 41 into batcat-demo-dev-p-features failed: ValidationError: Feature soc is not a number`,
  );
  expect(inFlight).toBe(0);
  expect(most).toBeGreaterThan(1);
  expect(most).toBeLessThanOrEqual(32);
});

test('names, types and values as Feature Store takes them', () => {
  expect(featureGroupName('batcat-demo-dev', 'usage', 'summary')).toBe('batcat-demo-dev-usage-summary');
  const long = featureGroupName('batcat-a-very-long-project-name-dev', 'a-long-purpose-name-here', 'an_output_name');
  expect(long).toHaveLength(64);
  expect(long).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/);
  expect(['bigint', 'int', 'double', 'decimal(10,2)', 'string', 'timestamp', 'boolean'].map(featureType)).toEqual([
    'Integral',
    'Integral',
    'Fractional',
    'Fractional',
    'String',
    'String',
    'String',
  ]);
  expect(featureValue('2026-12-04', true)).toBe('2026-12-04T00:00:00Z');
  expect(featureValue('1733300000.5', true)).toBe('1733300000.5');
  expect(featureValue('2026-12-04 08:00:00.123456', true)).toBe('2026-12-04T08:00:00.123Z');
  expect(featureValue('', false)).toBeUndefined();
});
