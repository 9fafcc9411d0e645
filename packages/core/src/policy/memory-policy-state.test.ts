import { describe, expect, it } from 'vitest';
import { memoryPolicyState } from './memory-policy-state';

describe('memoryPolicyState', () => {
  it('counts and sums entries newer than sinceMs', () => {
    const s = memoryPolicyState();
    s.add('k', 100, 5, 1000);
    s.add('k', 200, 7, 1000);
    s.add('other', 200, 1, 1000);
    expect(s.count('k', 99)).toBe(2);
    expect(s.count('k', 100)).toBe(1);
    expect(s.sum('k', 0)).toBe(12);
    expect(s.sum('k', 150)).toBe(7);
    expect(s.count('missing', 0)).toBe(0);
    expect(s.sum('missing', 0)).toBe(0);
  });

  it('keeps entries sorted when time goes back', () => {
    const s = memoryPolicyState();
    s.add('k', 300, 1, 1000);
    s.add('k', 100, 2, 1000);
    s.add('k', 200, 4, 1000);
    expect(s.sum('k', 150)).toBe(5);
    expect(s.count('k', 250)).toBe(1);
  });

  it('stays bounded: drops entries and keys older than the largest window seen', () => {
    const s = memoryPolicyState();
    for (let i = 0; i < 10_000; i++) s.add(`agent-${i % 50}`, i * 10, 1, 1000);
    const { keys, entries } = s.stats();
    expect(keys).toBe(50);
    // 1000 ms window, one write per 10 ms: about 100 live entries (plus at most a sweep's worth).
    expect(entries).toBeLessThanOrEqual(101 + 1024);
    // Much later, a single write sweeps the idle keys away.
    s.add('late', 10_000_000, 1, 1000);
    expect(s.stats()).toEqual({ keys: 1, entries: 1 });
    s.clear();
    expect(s.stats()).toEqual({ keys: 0, entries: 0 });
  });
});
