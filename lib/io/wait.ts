/** Polling with backoff, a deadline and an abort signal, shared by the Athena and Redshift helpers. */

export interface PollOptions {
  /**
   * Give up (and stop the query) after this long.
   *
   * @default 30 minutes
   */
  readonly timeoutMs?: number;
  /** @default 500 ms, doubling up to `maxPollMs` */
  readonly pollMs?: number;
  /** @default 5000 ms */
  readonly maxPollMs?: number;
  /** Aborting stops the query and rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** How to wait; tests pass a fake. @default setTimeout */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The clock; tests pass a fake. @default Date.now */
  readonly now?: () => number;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Calls `check` until it returns a value, sleeping with exponential backoff between calls.
 * On timeout or abort it calls `stop` (best effort) and throws `onTimeout()` or the abort reason.
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined>,
  stop: () => Promise<unknown>,
  onTimeout: (timeoutMs: number) => Error,
  options: PollOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30 * 60_000;
  const now = options.now ?? Date.now;
  const wait = options.sleep ?? sleep;
  const deadline = now() + timeoutMs;
  let delay = options.pollMs ?? 500;
  const stopQuietly = () => stop().catch(() => undefined);
  for (;;) {
    if (options.signal?.aborted) {
      await stopQuietly();
      throw options.signal.reason;
    }
    const done = await check();
    if (done !== undefined) return done;
    if (now() >= deadline) {
      await stopQuietly();
      throw onTimeout(timeoutMs);
    }
    try {
      await wait(Math.min(delay, Math.max(0, deadline - now())), options.signal);
    } catch (err) {
      await stopQuietly();
      throw options.signal?.aborted ? options.signal.reason : err;
    }
    delay = Math.min(delay * 2, options.maxPollMs ?? 5000);
  }
}
