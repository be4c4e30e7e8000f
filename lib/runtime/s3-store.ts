import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ManifestObject } from '../contract/run-manifest';
import type { ObjectStore } from './commit';
import type { VersionLister } from './run-manifest';

/**
 * The current version of each object below a prefix, from ListObjectVersions: the versions S3
 * marks latest, without deleted keys (whose latest version is a delete marker). In a bucket
 * without versioning the version id is null.
 */
export function s3VersionLister(s3: S3Client): VersionLister {
  return async (bucket, prefix, atMost) => {
    const out: ManifestObject[] = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionMarker }),
      );
      for (const v of page.Versions ?? []) {
        if (!v.IsLatest) continue;
        out.push({
          key: v.Key!,
          size: v.Size ?? 0,
          etag: (v.ETag ?? '').replace(/"/g, ''),
          versionId: v.VersionId && v.VersionId !== 'null' ? v.VersionId : null,
        });
      }
      const truncated = page.IsTruncated && out.length <= atMost;
      keyMarker = truncated ? page.NextKeyMarker : undefined;
      versionMarker = truncated ? page.NextVersionIdMarker : undefined;
    } while (keyMarker !== undefined);
    return out;
  };
}

/** CopyObject copies objects up to 5 GiB; larger ones are copied in parts of this size. */
const SINGLE_COPY_LIMIT = 5 * 1024 ** 3;
const PART_SIZE = 1024 ** 3;

/** The commit's store on S3: one bucket. `partSize` and `singleCopyLimit` are for tests. */
export function s3Store(s3: S3Client, bucket: string, sizes = { singleCopyLimit: SINGLE_COPY_LIMIT, partSize: PART_SIZE }): ObjectStore {
  return {
    async list(prefix, atMost = Infinity) {
      const out: Array<{ key: string; size: number }> = [];
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0 });
        token = page.IsTruncated && out.length <= atMost ? page.NextContinuationToken : undefined;
      } while (token);
      return out;
    },
    copy: (from, to, size) => copyObject(s3, { bucket, key: from }, { bucket, key: to }, size, sizes),
    async delete(keys) {
      for (let i = 0; i < keys.length; i += 1000) {
        const batch = keys.slice(i, i + 1000);
        const out = await s3.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        );
        if (out.Errors?.length) {
          const e = out.Errors[0];
          throw new Error(`could not delete ${out.Errors.length} object(s) of s3://${bucket}/, e.g. ${e.Key}: ${e.Code} ${e.Message}`);
        }
      }
    },
    async read(key) {
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return await out.Body!.transformToString('utf8');
      } catch (e) {
        if ((e as Error).name === 'NoSuchKey') return undefined;
        throw e;
      }
    },
    async write(key, body) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }));
    },
    async readRange(key, versionId, start, end) {
      const out = await s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId ?? undefined, Range: `bytes=${start}-${end - 1}` }),
      );
      return out.Body!.transformToByteArray();
    },
  };
}

/** Copies one object (or one version of it), within a bucket or between two, by parts above `singleCopyLimit` (CopyObject's 5 GiB). */
export async function copyObject(
  s3: S3Client,
  from: { readonly bucket: string; readonly key: string; readonly versionId?: string },
  to: { readonly bucket: string; readonly key: string },
  size: number,
  sizes = { singleCopyLimit: SINGLE_COPY_LIMIT, partSize: PART_SIZE },
): Promise<void> {
  const source = `${from.bucket}/${from.key.split('/').map(encodeURIComponent).join('/')}${from.versionId ? `?versionId=${encodeURIComponent(from.versionId)}` : ''}`;
  if (size <= sizes.singleCopyLimit) {
    await s3.send(new CopyObjectCommand({ Bucket: to.bucket, CopySource: source, Key: to.key }));
    return;
  }
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: to.bucket, Key: to.key }));
  try {
    const parts = [];
    for (let start = 0, n = 1; start < size; start += sizes.partSize, n++) {
      const end = Math.min(start + sizes.partSize, size) - 1;
      const part = await s3.send(
        new UploadPartCopyCommand({
          Bucket: to.bucket,
          Key: to.key,
          UploadId,
          PartNumber: n,
          CopySource: source,
          CopySourceRange: `bytes=${start}-${end}`,
        }),
      );
      parts.push({ PartNumber: n, ETag: part.CopyPartResult!.ETag });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: to.bucket, Key: to.key, UploadId, MultipartUpload: { Parts: parts } }));
  } catch (e) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: to.bucket, Key: to.key, UploadId }));
    throw e;
  }
}
