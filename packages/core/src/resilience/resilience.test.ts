import { describe, expect, it } from 'vitest';
import { ReviewerError } from '../errors';
import { circuitBreaker } from './circuit-breaker';
import { deadlineScope } from './deadline';
import { isRetryable, parseRetryAfter, withRetry } from './retry';

const fail = (code: string, extra: { status?: number; retryAfterMs?: number } = {}) =>
  new ReviewerError(code, code, extra);

describe('withRetry', () => {
  it('retries retryable failures and returns the first success', async () => {
    const scope = deadlineScope(5_000);
    let n = 0;
    const value = await withRetry(
      async () => {
        n += 1;
        if (n < 3) throw fail('REVIEWER_HTTP_ERROR', { status: 503 });
        return 'ok';
      },
      scope,
      { baseDelayMs: 1 },
    );
    scope.dispose();
    expect(value).toBe('ok');
    expect(n).toBe(3);
  });

  it('does not retry a bad response or a 4xx', async () => {
    for (const err of [fail('REVIEWER_BAD_RESPONSE'), fail('REVIEWER_HTTP_ERROR', { status: 400 })]) {
      let n = 0;
      const scope = deadlineScope(5_000);
      await expect(withRetry(async () => { n += 1; throw err; }, scope, { baseDelayMs: 1 })).rejects.toBe(err);
      scope.dispose();
      expect(n).toBe(1);
    }
  });

  it('stops at once when Retry-After reaches past the deadline', async () => {
    const scope = deadlineScope(200);
    let n = 0;
    const err = fail('REVIEWER_RATE_LIMITED', { status: 429, retryAfterMs: 10_000 });
    await expect(withRetry(async () => { n += 1; throw err; }, scope)).rejects.toBe(err);
    scope.dispose();
    expect(n).toBe(1);
  });

  it('honours a Retry-After that fits in the deadline', async () => {
    const scope = deadlineScope(5_000);
    const starts: number[] = [];
    let t = 0;
    await withRetry(
      async () => {
        starts.push(t);
        if (starts.length === 1) throw fail('REVIEWER_RATE_LIMITED', { retryAfterMs: 30 });
        return 1;
      },
      { ...scope, now: () => t, random: () => 0 },
    );
    scope.dispose();
    expect(starts).toHaveLength(2);
  });

  it('classifies errors', () => {
    expect(isRetryable(fail('REVIEWER_UNREACHABLE'))).toBe(true);
    expect(isRetryable(fail('REVIEWER_CONNECTION_RESET'))).toBe(true);
    expect(isRetryable(fail('REVIEWER_TIMEOUT'))).toBe(false);
    expect(isRetryable(new Error('x'))).toBe(false);
  });

  it('parses Retry-After seconds and dates', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('circuitBreaker', () => {
  it('opens after N failures, refuses during cooldown, then lets one probe through', () => {
    let t = 0;
    const cb = circuitBreaker({ failureThreshold: 3, cooldownMs: 1_000, now: () => t });
    for (let i = 0; i < 3; i++) {
      expect(cb.tryAcquire()).toBe(true);
      cb.onFailure();
    }
    expect(cb.state).toBe('open');
    expect(cb.tryAcquire()).toBe(false);
    t = 1_000;
    expect(cb.tryAcquire()).toBe(true); // the probe
    expect(cb.tryAcquire()).toBe(false); // only one at a time
    cb.onFailure();
    expect(cb.state).toBe('open');
    t = 2_000;
    expect(cb.tryAcquire()).toBe(true);
    cb.onSuccess();
    expect(cb.state).toBe('closed');
    expect(cb.tryAcquire()).toBe(true);
  });
});

describe('deadlineScope', () => {
  it('aborts when the parent aborts', () => {
    const parent = new AbortController();
    const scope = deadlineScope(10_000, parent.signal);
    parent.abort(new Error('user'));
    expect(scope.signal.aborted).toBe(true);
    scope.dispose();
  });
});
