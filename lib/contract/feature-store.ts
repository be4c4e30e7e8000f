/*
 * A feature group over a purpose's output: what the project file, the construct, the ingestion
 * step (lib/runtime/feature-ingest.ts) and run-local agree on. Each run's committed result is put
 * into the group record by record (PutRecord); SageMaker copies each record to the offline store,
 * a folder of the purpose's bucket with a Glue table, which training reads with Athena, and, with
 * the online store, serves the newest record per identifier (GetRecord).
 */
import { shortHash } from './run-input';

/** Feature Store's three value types. */
export type FeatureType = 'Integral' | 'Fractional' | 'String';

/** Columns the offline store adds to every record: a feature may not be named so. */
export const RESERVED_FEATURE_NAMES = ['is_deleted', 'write_time', 'api_invocation_time'] as const;
export const FEATURE_NAME = /^[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}$/;
export const MAX_FEATURES = 2500;
export const MAX_FEATURE_GROUP_NAME_LENGTH = 64;

/** The offline store's folder in the purpose's bucket; SageMaker writes below `<account>/sagemaker/<region>/offline-store/`. */
export const featureStorePrefix = (purpose: string, output: string) => `features/${purpose}/${output}/`;

/** The Glue table SageMaker creates over the offline store, in the project database. */
export const featureTableName = (purpose: string, output: string) => `${purpose}_${output}_features`.replace(/-/g, '_');

/** `<prefix>-<purpose>-<output>`, as Feature Store allows (letters, digits, inner hyphens, at most 64), hashed if longer. */
export function featureGroupName(prefix: string, purpose: string, output: string): string {
  const name = `${prefix}-${purpose}-${output}`.replace(/[^a-zA-Z0-9]+/g, '-');
  if (name.length <= MAX_FEATURE_GROUP_NAME_LENGTH) return name;
  const hash = shortHash(8, name);
  return `${name.slice(0, MAX_FEATURE_GROUP_NAME_LENGTH - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

/**
 * The feature type of a column of a Glue type: integers are Integral, floating and exact numbers
 * Fractional, everything else String (timestamps as ISO 8601 text, as the event time wants them).
 */
export function featureType(glueType: string): FeatureType {
  const t = glueType.toLowerCase();
  if (/^(tinyint|smallint|int|integer|bigint)$/.test(t)) return 'Integral';
  if (/^(float|double|real|decimal(\(.*\))?)$/.test(t)) return 'Fractional';
  return 'String';
}

/** What the ingestion step is asked to put, for one output of one run. */
export interface FeatureIngestRequest {
  /** The bucket and folder of the window's committed result. */
  readonly bucket: string;
  readonly prefix: string;
  readonly featureGroupName: string;
  readonly recordIdentifier: string;
  readonly eventTime: string;
  readonly features: ReadonlyArray<{ readonly name: string; readonly type: FeatureType }>;
}

/**
 * A value as PutRecord takes it (text); an event time as ISO 8601 in UTC, as Feature Store requires
 * (`yyyy-MM-ddTHH:mm:ss[.SSS]Z`: `2026-12-04 08:00:00` becomes `2026-12-04T08:00:00Z`; a time without
 * a zone is taken as UTC).
 */
export function featureValue(value: unknown, isEventTime: boolean): string | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (value instanceof Date) return value.toISOString();
  const text =
    typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : (value as number | bigint | boolean).toString();
  if (!isEventTime) return text;
  const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text);
  if (!m) return text;
  const [, date, hms = '00:00:00', fraction, zone] = m;
  const ms = fraction !== undefined ? `.${fraction.padEnd(3, '0').slice(0, 3)}` : '';
  if (zone === undefined || zone === 'Z') return `${date}T${hms}${ms}Z`;
  // Feature Store reads the event time in UTC ('Z'): an offset is converted.
  return new Date(`${date}T${hms}${ms}${zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone}`).toISOString();
}
