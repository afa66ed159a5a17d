import { RetryableError } from '../../core/errors.ts';

/** Knobs for {@link retryWithBackoff}; defaults suit AWS control-plane calls. */
export interface RetryOptions {
  /** Total attempts including the first (default 6). */
  readonly maxAttempts?: number;
  /** Base delay in ms for attempt 2; doubles per attempt (default 100). */
  readonly baseDelayMs?: number;
  /** Upper bound of any single delay in ms (default 5000). */
  readonly maxDelayMs?: number;
  /** Injected for tests: waits `ms` milliseconds. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Injected for tests: uniform random in [0, 1). */
  readonly random?: () => number;
  /** Called before each wait, e.g. to log or count the retry. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export const DEFAULT_RETRY: Required<Pick<RetryOptions, 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs'>> = {
  maxAttempts: 6,
  baseDelayMs: 100,
  maxDelayMs: 5000,
};

/** Resolves after `ms` milliseconds. */
export function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Full-jitter delay (AWS Architecture Blog "Exponential Backoff and Jitter"):
 * uniform in [0, min(cap, base · 2^(attempt-1))).
 */
export function fullJitterDelay(attempt: number, options: RetryOptions = {}): number {
  const base = options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
  const cap = options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
  const ceiling = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

/**
 * Runs `fn` until it succeeds, `isRetryable(error)` is false, or attempts run out; waits a
 * full-jitter delay between attempts. When attempts run out the last error is wrapped in a
 * {@link RetryableError} whose `cause` is the original.
 */
export async function retryWithBackoff<T>(
  what: string,
  fn: (attempt: number) => Promise<T>,
  isRetryable: (error: unknown) => boolean,
  options: RetryOptions = {},
): Promise<T> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_RETRY.maxAttempts);
  const sleep = options.sleep ?? sleepMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!isRetryable(error)) throw error;
      if (attempt >= maxAttempts) {
        throw new RetryableError(`${what}: still failing after ${attempt} attempts: ${describeError(error)}`, {
          cause: error,
        });
      }
      const delay = fullJitterDelay(attempt, options);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}

/** `name: message` of an error-like value, for messages. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** HTTP status from an AWS SDK v3 service exception, if any. */
export function httpStatusOf(error: unknown): number | undefined {
  const meta = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return typeof meta?.httpStatusCode === 'number' ? meta.httpStatusCode : undefined;
}

/** Error name (AWS error code) of an SDK v3 exception or any Error. */
export function errorNameOf(error: unknown): string | undefined {
  const e = error as { name?: unknown; Code?: unknown } | undefined;
  if (typeof e?.name === 'string' && e.name !== 'Error') return e.name;
  return typeof e?.Code === 'string' ? e.Code : undefined;
}
