/*
 * The units a project file writes values in, parsed once here; the schema checks the parsed
 * numbers with the shared rules, and the resolved config holds only the numbers.
 */

/** `30m`, `2h`, `1d` or a whole number of seconds. */
export function parseDuration(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  const m = /^(\d+)\s*(s|m|h|d)$/.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/** `7d`: a whole number of days. */
export function parseDays(v: string): number | undefined {
  const m = /^(\d+)d$/.exec(v);
  return m ? Number(m[1]) : undefined;
}

/** `10GB`, `500MB`, `1TB`: decimal units, as Athena bills. */
export function parseSize(v: string): number | undefined {
  const m = /^(\d+)\s*(MB|GB|TB)$/i.exec(v.trim());
  return m ? Number(m[1]) * { MB: 1e6, GB: 1e9, TB: 1e12 }[m[2].toUpperCase() as 'MB' | 'GB' | 'TB'] : undefined;
}

/** `64`, `64 vCPU`: EMR Serverless' CPU unit. */
export function parseVcpu(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v > 0 ? v : undefined;
  const m = /^(\d+)\s*(vCPU)?$/i.exec(v.trim());
  return m && Number(m[1]) > 0 ? Number(m[1]) : undefined;
}
