/*
 * Stream ingestion: what the stack configures a Firehose stream with and what the rules check a
 * project file's `ingest:` entries against. Facts from the Firehose developer guide (S3 object
 * names, dynamic partitioning, record format conversion) and the API model's limits.
 */

/** The formats a stream writes: JSON lines as sent, or Parquet converted with the table's schema. */
export const INGEST_FORMATS = ['json', 'parquet'] as const;
export type IngestFormat = (typeof INGEST_FORMATS)[number];

/** The stream services an entry can name; Firehose Direct PUT is the one there is. */
export const INGEST_STREAMS = ['firehose'] as const;

/**
 * Firehose's buffering limits (BufferingHints): 0-900 seconds and 1-128 MiB. Record format
 * conversion and dynamic partitioning both need at least 64 MiB.
 */
export const INGEST_BUFFER_LIMITS = { minSeconds: 0, maxSeconds: 900, minMb: 1, maxMb: 128, minMbConverted: 64 } as const;

/** What a stream buffers unless told otherwise: five minutes or 64 MiB, whichever comes first. */
export const INGEST_BUFFER_DEFAULTS = { seconds: 300, mb: 64 } as const;

/**
 * The freshness alarm fires when the oldest record not yet delivered is older than the buffer
 * interval plus this much (Firehose's retries take up to 5 minutes before a record goes to the
 * error prefix).
 */
export const INGEST_FRESHNESS_MARGIN_SECONDS = 900;

/** Where every stream writes what it could not deliver or convert, below `<name>/`. */
export const INGEST_ERRORS_PREFIX = '_batcat/ingest-errors/';

/** Partition by the day a record arrived (UTC), or by the date at the start of a record's field. */
export type IngestPartitioning = { readonly kind: 'arrival' } | { readonly kind: 'field'; readonly field: string };

/** Firehose's key of the day a record arrived, in UTC. */
const ARRIVAL_DAY = '!{timestamp:yyyy-MM-dd}';
/** The dynamic partitioning key the metadata extraction query fills. */
export const INGEST_PARTITION_KEY = 'dt';

/** The S3 prefix Firehose writes to: the folder's `dt=YYYY-MM-DD/` partitions, as every purpose reads them. */
export function ingestDataPrefix(prefix: string, partitioning: IngestPartitioning): string {
  return `${prefix}dt=${partitioning.kind === 'arrival' ? ARRIVAL_DAY : `!{partitionKeyFromQuery:${INGEST_PARTITION_KEY}}`}/`;
}

/** The S3 prefix of what the stream `name` could not deliver, by error type and arrival day. */
export function ingestErrorPrefix(name: string): string {
  return `${INGEST_ERRORS_PREFIX}${name}/!{firehose:error-output-type}/dt=${ARRIVAL_DAY}/`;
}

/**
 * The jq query (Firehose's metadata extraction, JQ-1.6) that takes a record's day from `field`:
 * the first ten characters of an ISO 8601 date or timestamp (`2026-12-05T10:00:00Z`).
 */
export function ingestPartitionQuery(field: string): string {
  return `{${INGEST_PARTITION_KEY}: .${field}[0:10]}`;
}

/** The Glue table over an ingest folder unless the entry names one: `raw_<name>`. */
export function ingestTableName(name: string): string {
  return `raw_${name.replace(/-/g, '_')}`;
}

/** The stack output of an ingest stream's name or producer policy: `Ingest<name with '-' as 'X'><what>`. */
export function ingestOutputKey(name: string, what: 'Stream' | 'ProducerPolicy'): string {
  return `Ingest${name.replace(/-/g, 'X')}${what}`;
}
