import { ErrorCodes, ReviewerError } from '../errors';
import { abortError, sleep } from './deadline';

export interface RetryOptions {
  /** Attempts in all, first included. Default 4. */
  maxAttempts?: number;
  /** First backoff, in ms. Default 100. */
  baseDelayMs?: number;
  /** Largest backoff, in ms. Default 2 000. */
  maxDelayMs?: number;
}

export interface RetryScope {
  signal: AbortSignal;
  deadline: number;
  now?: () => number;
  random?: () => number;
}

const RETRYABLE = new Set<string>([
  ErrorCodes.REVIEWER_UNREACHABLE,
  ErrorCodes.REVIEWER_HTTP_ERROR,
  ErrorCodes.REVIEWER_RATE_LIMITED,
  ErrorCodes.REVIEWER_CONNECTION_RESET,
]);

/** Network trouble, 5xx and 429 are worth another try; bad responses and 4xx are not. */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof ReviewerError)) return false;
  if (!RETRYABLE.has(error.code)) return false;
  if (error.code === ErrorCodes.REVIEWER_HTTP_ERROR) return error.status === undefined || error.status >= 500;
  return true;
}

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error, runs out of attempts, or the
 * next try could not start before the deadline. Backoff is exponential with full jitter; a
 * reviewer's Retry-After is honoured (and, past the deadline, ends the retries at once).
 */
export async function withRetry<T>(
  attempt: (n: number) => Promise<T>,
  scope: RetryScope,
  options: RetryOptions = {},
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 4;
  const base = options.baseDelayMs ?? 100;
  const cap = options.maxDelayMs ?? 2_000;
  const now = scope.now ?? Date.now;
  const random = scope.random ?? Math.random;
  for (let n = 1; ; n++) {
    if (scope.signal.aborted) throw abortError(scope.signal);
    try {
      return await attempt(n);
    } catch (error) {
      if (scope.signal.aborted && !(error instanceof ReviewerError && error.code === ErrorCodes.REVIEWER_RATE_LIMITED)) {
        throw abortError(scope.signal);
      }
      if (!isRetryable(error) || n >= maxAttempts) throw error;
      const retryAfter = (error as ReviewerError).retryAfterMs;
      const backoff = Math.min(cap, base * 2 ** (n - 1)) * random();
      const wait = retryAfter !== undefined ? Math.max(retryAfter, backoff) : backoff;
      if (now() + wait >= scope.deadline) {
        // No time for another try: surface the reviewer's own error (e.g. 429 past the deadline).
        throw error;
      }
      await sleep(wait, scope.signal);
    }
  }
}

/** Parses a Retry-After header (seconds or HTTP date) into ms. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

