/*
 * Calendar dates as the run contract writes them (`YYYY-MM-DD`, UTC days) and the windows
 * built from them. Used by the trigger, the CLI, the IO library and the constructs alike.
 */

/** The days a run covers, both inclusive, as `YYYY-MM-DD`. */
export interface RunWindow {
  readonly start: string;
  readonly end: string;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** True if `value` is a real calendar date written `YYYY-MM-DD` (not 2026-02-30). */
export function isDate(value: unknown): value is string {
  const m = typeof value === 'string' ? DATE.exec(value) : null;
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

/** The problem with a date value, named by `field`, or undefined. */
export function dateProblem(value: unknown, field: string): string | undefined {
  return isDate(value) ? undefined : `${field} must be a calendar date written YYYY-MM-DD, got ${JSON.stringify(value)}`;
}

/** The problem with a window (each date, and the order), or undefined. */
export function windowProblem(window: RunWindow, field = 'window'): string | undefined {
  return (
    dateProblem(window.start, `${field}.start`) ??
    dateProblem(window.end, `${field}.end`) ??
    (window.end < window.start ? `${field} ends (${window.end}) before it starts (${window.start})` : undefined)
  );
}

/** `date` plus `days` (which may be negative). */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** The number of days from `start` to `end`, both included. */
export function daysIn(window: RunWindow): number {
  return Math.round((Date.parse(`${window.end}T00:00:00Z`) - Date.parse(`${window.start}T00:00:00Z`)) / DAY_MS) + 1;
}

/** The calendar date of `instant` in `timezone` (an IANA name such as `Europe/Berlin`). */
export function localDate(instant: Date, timezone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(
    instant,
  );
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** True if `timezone` is an IANA time zone this runtime knows. */
export function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Every purpose's windows lie on one calendar grid: `days`-long windows starting on
 * 1970-01-05 (a Monday), so 7-day windows are ISO weeks, Monday to Sunday, and 1-day windows
 * are days. Every trigger maps its event onto this grid, so two windows of a purpose never overlap.
 */
const GRID_ANCHOR = '1970-01-05';

/** The window of the grid (see GRID_ANCHOR) that holds `day`. */
export function gridWindowOf(day: string, days: number): RunWindow {
  const offset = daysIn({ start: GRID_ANCHOR, end: day }) - 1;
  return windowStartingOn(addDays(day, -(((offset % days) + days) % days)), days);
}

/** The newest grid window that ended before the day of `instant` (in `timezone`): what a schedule tick covers. */
export function windowJustEnded(instant: Date, days: number, timezone: string): RunWindow {
  const yesterday = addDays(localDate(instant, timezone), -1);
  const holding = gridWindowOf(yesterday, days);
  return holding.end === yesterday ? holding : windowStartingOn(addDays(holding.start, -days), days);
}

/** The `days`-long window starting on `start`. */
export function windowStartingOn(start: string, days: number): RunWindow {
  return { start, end: addDays(start, days - 1) };
}

/** The partition folder of a window's results: `dt=<start>/`. */
export function partitionOf(window: RunWindow): string {
  return `dt=${window.start}/`;
}

/** `dt=YYYY-MM-DD` in a key (the Hive partition convention), if it holds a real date. */
export function partitionDateOf(key: string): string | undefined {
  const m = /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})\//.exec(key);
  return m && isDate(m[1]) ? m[1] : undefined;
}

/** The local wall-clock time of `instant` as seen through `format`, as `YYYY-MM-DD HH:MM`. */
function localMinute(format: Intl.DateTimeFormat, instant: number): string {
  const p = Object.fromEntries(format.formatToParts(new Date(instant)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

/** Reads instants as wall-clock minutes in `timezone` (for localMinute). */
function minuteFormat(timezone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  });
}

/** The instant `day` begins in `timezone` (its local midnight). */
export function startOfDay(day: string, timezone: string): Date {
  const format = minuteFormat(timezone);
  const wallClock = Date.parse(`${day}T00:00:00Z`);
  // Shift by the zone's offset as read at the current guess; twice, for an offset change in between.
  let instant = wallClock;
  for (let i = 0; i < 2; i++) instant = wallClock - (Date.parse(`${localMinute(format, instant).replace(' ', 'T')}:00Z`) - instant);
  return new Date(instant);
}

/**
 * The days (of the 366 from `from`) on which the wall-clock time `hour:minute` does not exist in
 * `timezone`: it falls in the hour skipped when daylight saving time starts.
 */
export function daysWithoutLocalTime(hour: number, minute: number, timezone: string, from = new Date()): string[] {
  const format = minuteFormat(timezone);
  const offsetAt = (instant: number) =>
    Date.parse(`${localMinute(format, instant).replace(' ', 'T')}:00Z`) - Math.floor(instant / 60_000) * 60_000;
  const hhmm = `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
  const out: string[] = [];
  const start = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
  for (let d = 0; d < 366; d++) {
    const day = new Date(start + d * 86_400_000).toISOString().slice(0, 10);
    const wallClock = Date.parse(`${day}T${hhmm}:00Z`);
    // A local time exists if one of the offsets in use around that day shows it.
    const offsets = new Set([offsetAt(wallClock - 86_400_000), offsetAt(wallClock), offsetAt(wallClock + 86_400_000)]);
    if (offsets.size === 1) continue;
    if (![...offsets].some((o) => localMinute(format, wallClock - o) === `${day} ${hhmm}`)) out.push(day);
  }
  return out;
}
