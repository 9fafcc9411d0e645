import { describe, expect, it } from 'vitest';
import { auditIdSource, isoClock, isPromiseLike } from './audit-entry-parts';

describe('auditIdSource', () => {
  it('issues UUID-shaped (version 8, RFC variant) ids, unique within a source and across sources', () => {
    const a = auditIdSource();
    const b = auditIdSource();
    const ids = new Set<string>();
    for (let i = 0; i < 5_000; i++) {
      ids.add(a());
      ids.add(b());
    }
    expect(ids.size).toBe(10_000);
    for (const id of [...ids].slice(0, 50)) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('ids of one source sort in issue order', () => {
    const next = auditIdSource();
    const ids = Array.from({ length: 300 }, () => next());
    expect([...ids].sort()).toEqual(ids);
  });
});

describe('isoClock', () => {
  it('formats the clock as ISO 8601, again whenever the millisecond changes', () => {
    let t = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
    const now = isoClock(() => t);
    expect(now()).toBe('2026-01-02T03:04:05.006Z');
    expect(now()).toBe('2026-01-02T03:04:05.006Z');
    t += 1;
    expect(now()).toBe('2026-01-02T03:04:05.007Z');
  });

  it('throws for a clock that gives no valid time, as new Date(x).toISOString() does', () => {
    expect(() => isoClock(() => Number.NaN)()).toThrow(RangeError);
  });
});

describe('isPromiseLike', () => {
  it('is true for promises and thenables only', () => {
    expect(isPromiseLike(Promise.resolve(1))).toBe(true);
    expect(isPromiseLike({ then: () => undefined })).toBe(true);
    expect(isPromiseLike({ seq: 1, hash: 'x' })).toBe(false);
    expect(isPromiseLike(undefined)).toBe(false);
  });
});
