/** Levenshtein distance: the fewest single-character edits that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** The `max` candidates closest to `value`, closest first. */
export function closest(value: string, candidates: readonly string[], max: number): string[] {
  return candidates
    .map((c) => ({ c, d: editDistance(value.toLowerCase(), c.toLowerCase()) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, max)
    .map((x) => x.c);
}

/** The candidate `value` is most likely a typo of (one edit off, two for longer words), else undefined. */
export function didYouMean(value: string, candidates: readonly string[]): string | undefined {
  const [best] = closest(value, candidates, 1);
  const allowed = best !== undefined && best.length > 4 ? 2 : 1;
  return best !== undefined && editDistance(value.toLowerCase(), best.toLowerCase()) <= allowed ? best : undefined;
}
