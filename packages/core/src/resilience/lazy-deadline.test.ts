import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../errors';
import { DEADLINE_EXCEEDED, LazyDeadlineScope } from './deadline';

describe('LazyDeadlineScope', () => {
  it('rejects the race at the deadline even when the callee never reads the signal; a late read gets an aborted signal', async () => {
    const scope = new LazyDeadlineScope(20);
    const err = await scope.race(new Promise(() => {})).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCodes.REVIEWER_TIMEOUT });
    expect(scope.signal.aborted).toBe(true);
    expect(scope.signal.reason).toBe(DEADLINE_EXCEEDED);
    scope.dispose();
  });

  it('a signal read before the deadline aborts with it, and its listeners run', async () => {
    const scope = new LazyDeadlineScope(20);
    const signal = scope.signal;
    let heard = false;
    signal.addEventListener('abort', () => (heard = true));
    await scope.race(new Promise(() => {})).catch(() => {});
    expect(heard).toBe(true);
    expect(signal.reason).toBe(DEADLINE_EXCEEDED);
    scope.dispose();
  });

  it("the caller's abort (before or during) is REVIEWER_ABORTED with the caller's reason", async () => {
    const before = new AbortController();
    before.abort('stop');
    const early = new LazyDeadlineScope(10_000, before.signal);
    await expect(early.race(Promise.resolve(1))).rejects.toMatchObject({ code: ErrorCodes.REVIEWER_ABORTED });
    expect(early.signal.reason).toBe('stop');
    early.dispose();
    const during = new AbortController();
    const scope = new LazyDeadlineScope(10_000, during.signal);
    const p = scope.race(new Promise(() => {}));
    during.abort('later');
    await expect(p).rejects.toMatchObject({ code: ErrorCodes.REVIEWER_ABORTED });
    expect(scope.signal.reason).toBe('later');
    scope.dispose();
  });

  it('passes the answer or the error of work that settles first, and nothing fires after dispose', async () => {
    const scope = new LazyDeadlineScope(30);
    await expect(scope.race(Promise.resolve('ok'))).resolves.toBe('ok');
    await expect(scope.race(Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    scope.dispose();
    await new Promise((r) => setTimeout(r, 50));
    expect(scope.aborted).toBe(false);
  });
});
