import { parquetMetadataAsync, type AsyncBuffer } from 'hyparquet';
import type { ManifestObject } from '../contract/run-manifest';
import type { ObjectStore } from './commit';

/** How many footers are read at once. */
const PARALLEL_READS = 16;

/** A Parquet file of `size` bytes as hyparquet reads it: the byte ranges it asks for, read by `range`. */
export function parquetFile(size: number, range: (start: number, end: number) => Promise<Uint8Array>): AsyncBuffer {
  return {
    byteLength: size,
    slice: async (start, end) => {
      const bytes = await range(start, end ?? size);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
}

/** The rows a Parquet file of `size` bytes holds, from its footer: its last bytes, read by `range` (mostly one read). */
export async function parquetRows(size: number, range: (start: number, end: number) => Promise<Uint8Array>): Promise<number> {
  return Number((await parquetMetadataAsync(parquetFile(size, range))).num_rows);
}

/**
 * The objects, each `.parquet` one with its rows (the version listed), and the keys whose footer
 * could not be read: a file named .parquet that is not one is reported, not fatal, as the
 * results are committed by now.
 */
export async function withParquetRows(
  store: ObjectStore,
  objects: readonly ManifestObject[],
): Promise<{ objects: ManifestObject[]; unreadable: string[] }> {
  const out = [...objects];
  const unreadable: string[] = [];
  const readRange = store.readRange?.bind(store);
  if (!readRange) return { objects: out, unreadable };
  const parquet = out.map((o, n) => [o, n] as const).filter(([o]) => o.key.endsWith('.parquet'));
  let next = 0;
  const worker = async () => {
    while (next < parquet.length) {
      const [o, n] = parquet[next++];
      try {
        out[n] = { ...o, rows: await parquetRows(o.size, (start, end) => readRange(o.key, o.versionId, start, end)) };
      } catch {
        unreadable.push(o.key);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_READS, parquet.length) }, worker));
  return { objects: out, unreadable: unreadable.sort() };
}
