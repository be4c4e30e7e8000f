import { bucketsPerStage, homeOf, ownedFolders, purposeBucketOutputKey } from '../../lib/contract/storage';

/* Which bucket holds which folder: the stack and the command line both decide it here. */

const PURPOSES = [
  { name: 'ingest', reads: ['raw/events/2026/', 'raw/fleet/'], writes: ['results/ingest/clean/'] },
  { name: 'features', reads: ['raw/events/', 'raw/weather/'], writes: ['results/features/vectors/', 'curated/features/'] },
  { name: 'report', reads: ['raw/fleet/'], writes: ['results/report/daily/'] },
];

test('outputs are owned by their purpose; a read folder by its first reader, overlapping reads joined under the shorter prefix', () => {
  const byPrefix = (a: { prefix: string }, b: { prefix: string }) => a.prefix.localeCompare(b.prefix);
  expect(ownedFolders('per-purpose', PURPOSES).sort(byPrefix)).toEqual(
    [
      { prefix: 'results/ingest/clean/', purpose: 'ingest' },
      { prefix: 'results/features/vectors/', purpose: 'features' },
      { prefix: 'curated/features/', purpose: 'features' },
      { prefix: 'results/report/daily/', purpose: 'report' },
      // raw/events/2026/ (ingest) and raw/events/ (features) overlap: one folder, in the first reader's bucket.
      { prefix: 'raw/fleet/', purpose: 'ingest' },
      { prefix: 'raw/weather/', purpose: 'features' },
      { prefix: 'raw/events/', purpose: 'ingest' },
    ].sort(byPrefix),
  );
});

test('with shared storage no purpose owns anything: the project bucket holds every folder', () => {
  const owned = ownedFolders('shared', PURPOSES);
  expect(owned).toEqual([]);
  expect(homeOf(owned, 'raw/events/')).toEqual({ kind: 'project' });
});

test("a folder's home: its owner, the one owner of everything below it, the project bucket, or several buckets", () => {
  const owned = ownedFolders('per-purpose', PURPOSES);
  expect(homeOf(owned, 'raw/events/2026/dt=2026-01-01/')).toEqual({ kind: 'purpose', purpose: 'ingest' });
  expect(homeOf(owned, 'results/features/')).toEqual({ kind: 'purpose', purpose: 'features' });
  expect(homeOf(owned, 'athena-results/adhoc/')).toEqual({ kind: 'project' });
  expect(homeOf(owned, 'results/')).toEqual({
    kind: 'several',
    folders: [
      { prefix: 'results/ingest/clean/', purpose: 'ingest' },
      { prefix: 'results/features/vectors/', purpose: 'features' },
      { prefix: 'results/report/daily/', purpose: 'report' },
    ],
  });
});

test('bucket counts and output keys', () => {
  expect(bucketsPerStage('per-purpose', 100)).toBe(102);
  expect(bucketsPerStage('shared', 100)).toBe(2);
  // '-' becomes 'X': output keys are alphanumeric, and purpose names are lowercase, so no two collide.
  expect(purposeBucketOutputKey('usage-analysis')).toBe('PurposeBucketusageXanalysis');
  expect(purposeBucketOutputKey('usage-analysis')).not.toBe(purposeBucketOutputKey('usageanalysis'));
});
