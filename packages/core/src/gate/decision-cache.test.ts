import { describe, expect, it } from 'vitest';
import type { Decision } from '../types';
import { decisionCache } from './decision-cache';

const d = (n: number) => ({ verdict: 'allow', tool: `t${n}` }) as Decision;

describe('decisionCache', () => {
  it('keeps at least max/2 most recent entries, forgets the oldest beyond max, and keeps executed marks', () => {
    const c = decisionCache(100);
    for (let i = 0; i < 1000; i++) c.set(`k${i}`, d(i));
    for (let i = 950; i < 1000; i++) expect(c.get(`k${i}`)?.decision.tool).toBe(`t${i}`);
    expect(c.get('k0')).toBeUndefined();
    c.markExecuted('k999', d(999));
    c.set('k999', d(999));
    expect(c.get('k999')).toMatchObject({ executed: true });
  });

  it('a hit in the old generation survives the next turnover', () => {
    const c = decisionCache(4);
    c.set('a', d(1));
    c.set('b', d(2)); // young full (2): next put ages it
    c.set('c', d(3));
    expect(c.get('a')?.decision.tool).toBe('t1'); // promoted back to young
    c.set('d', d(4));
    c.set('e', d(5));
    expect(c.get('a')).toBeDefined();
  });

  it('a set with the mark of a missed get skips its lookups only while nothing was written since', () => {
    const c = decisionCache(100);
    expect(c.get('k')).toBeUndefined();
    const mark = c.mark();
    c.markExecuted('k', d(1)); // another path wrote the key in between: the mark is stale
    c.set('k', d(2), mark);
    expect(c.get('k')).toMatchObject({ executed: true, decision: { tool: 't2' } });
    expect(c.get('j')).toBeUndefined();
    const fresh = c.mark();
    c.set('j', d(3), fresh);
    expect(c.get('j')).toMatchObject({ executed: false, decision: { tool: 't3' } });
    // A stale mark after aging: the entry found in the old generation keeps its executed flag.
    const small = decisionCache(4);
    small.set('a', d(1));
    small.markExecuted('a', d(1));
    const stale = small.mark() - 1;
    small.set('b', d(2));
    small.set('c', d(3)); // ages 'a' and 'b'
    small.set('a', d(4), stale);
    expect(small.get('a')).toMatchObject({ executed: true, decision: { tool: 't4' } });
  });

  it('claim: once per digest, in either generation; markExecuted hands back the entry as it was', () => {
    const c = decisionCache(4);
    const a = { ...d(1), digest: 'sha256:a' } as Decision;
    const other = { ...d(1), digest: 'sha256:b' } as Decision;
    expect(c.claim('a', a)).toBe(false); // never seen: claimed
    expect(c.claim('a', a)).toBe(true); // second run of the same call
    expect(c.claim('a', other)).toBe(false); // another digest under the key is not refused here
    expect(c.get('a')).toMatchObject({ executed: true, decision: { digest: 'sha256:a' } });
    c.set('x', d(2));
    c.set('y', d(3)); // 'a' ages into the old generation
    expect(c.claim('a', a)).toBe(true);
    expect(c.get('a')).toMatchObject({ executed: true });
    c.set('b', { ...d(4), digest: 'sha256:c' } as Decision);
    const before = c.markExecuted('b', a);
    expect(before).toMatchObject({ executed: false, decision: { tool: 't4' } });
    expect(c.markExecuted('b', a)).toMatchObject({ executed: true, decision: { tool: 't4' } });
    expect(c.claim('b', { ...d(4), digest: 'sha256:c' } as Decision)).toBe(true);
    expect(c.markExecuted('never', a)).toBeUndefined();
    expect(c.claim('never', a)).toBe(true);
  });
});
