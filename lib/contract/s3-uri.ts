/*
 * S3 and ECR addresses: parsed here once, so the config layer, the constructs, the CLI and the
 * IO library agree on what a valid one is.
 */

/** An S3 bucket name as S3 allows it (3-63 lowercase letters, digits, '.' and '-'). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** `s3://bucket/key` split into its parts (`key` may be empty or a folder). */
export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

/** Splits `s3://bucket/key`; throws naming the value if it is not an S3 URI. */
export function parseS3Uri(uri: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m || m[1] === '') throw new Error(`'${uri}' is not an S3 URI; write s3://<bucket>/<key>`);
  return { bucket: m[1], key: m[2] };
}

/** Splits `s3://bucket/key` (with the '/' after the bucket) if it names a valid bucket, else undefined. */
export function tryParseS3Uri(uri: string): S3Location | undefined {
  if (!/^s3:\/\/[^/]+\//.test(uri)) return undefined;
  const location = parseS3Uri(uri);
  return BUCKET.test(location.bucket) ? location : undefined;
}

/** `s3://<bucket>/<key>`. */
export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** An image in ECR, as SageMaker Processing pulls it. */
export interface EcrImage {
  readonly account: string;
  readonly region: string;
  readonly repository: string;
  /** The tag, when the URI names one. */
  readonly tag?: string;
  /** `sha256:...`, when the URI names a digest. */
  readonly digest?: string;
}

const ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9._/-]+)(?::([\w.-]{1,128})|@(sha256:[a-f0-9]{64}))$/;

/** Parses `<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>` (or `@sha256:...`), or returns undefined. */
export function parseEcrImageUri(uri: string): EcrImage | undefined {
  const m = ECR_IMAGE.exec(uri);
  return m ? { account: m[1], region: m[2], repository: m[3], tag: m[4], digest: m[5] } : undefined;
}
