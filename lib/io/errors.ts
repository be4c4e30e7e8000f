/** Errors of the IO library: each names what it was working on, and keeps the SDK error as `cause`. */

/** An S3 call failed; `key` is absent for bucket-level calls. */
export class S3IoError extends Error {
  constructor(
    message: string,
    readonly bucket: string,
    readonly key?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'S3IoError';
  }
}

/** The bucket does not exist (or is in another partition). */
export class NoSuchBucketError extends S3IoError {
  constructor(bucket: string, key?: string, options?: { cause?: unknown }) {
    super(`bucket '${bucket}' does not exist${key !== undefined ? ` (reading s3://${bucket}/${key})` : ''}`, bucket, key, options);
    this.name = 'NoSuchBucketError';
  }
}

/** The object does not exist. */
export class NoSuchKeyError extends S3IoError {
  constructor(bucket: string, key: string, options?: { cause?: unknown }) {
    super(`object s3://${bucket}/${key} does not exist`, bucket, key, options);
    this.name = 'NoSuchKeyError';
  }
}

/** The caller may not do this; the message says which call on which object. */
export class S3AccessDeniedError extends S3IoError {
  constructor(action: string, bucket: string, key?: string, options?: { cause?: unknown }) {
    super(
      `access denied: ${action} on s3://${bucket}/${key ?? ''} (check the role's policy, the bucket policy and the KMS key policy)`,
      bucket,
      key,
      options,
    );
    this.name = 'S3AccessDeniedError';
  }
}

/** An Athena query ended FAILED or CANCELLED; `reason` is Athena's StateChangeReason. */
export class AthenaQueryError extends Error {
  constructor(
    readonly queryExecutionId: string,
    readonly state: string,
    readonly reason: string,
    readonly errorType?: string,
  ) {
    super(`Athena query ${queryExecutionId} ${state.toLowerCase()}: ${reason}`);
    this.name = 'AthenaQueryError';
  }
}

/** A query (Athena or Redshift) did not finish in time; it was stopped. */
export class QueryTimeoutError extends Error {
  constructor(
    readonly queryId: string,
    readonly timeoutMs: number,
  ) {
    super(`query ${queryId} did not finish within ${Math.round(timeoutMs / 1000)} s; it was stopped`);
    this.name = 'QueryTimeoutError';
  }
}

/** Glue tables a purpose depends on are missing; `available` lists what the database holds. */
export class GlueTableNotFoundError extends Error {
  constructor(
    readonly database: string,
    readonly tables: string[],
    readonly available?: string[],
  ) {
    super(
      `Glue ${tables.length === 1 ? 'table' : 'tables'} ${tables.map((t) => `${database}.${t}`).join(', ')} ${tables.length === 1 ? 'does' : 'do'} not exist` +
        (available === undefined
          ? ''
          : available.length > 0
            ? `; tables in ${database}: ${available.join(', ')}`
            : `; database ${database} has no tables`),
    );
    this.name = 'GlueTableNotFoundError';
  }
}

/** A Redshift Data API statement ended FAILED or ABORTED. */
export class RedshiftStatementError extends Error {
  constructor(
    readonly statementId: string,
    readonly status: string,
    readonly reason: string,
  ) {
    super(`Redshift statement ${statementId} ${status.toLowerCase()}: ${reason}`);
    this.name = 'RedshiftStatementError';
  }
}
