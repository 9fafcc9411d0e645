import { describe, expect, it } from 'vitest';
import type { Decision } from '../types';
import { decisionCache } from './decision-cache';

const d = (n: number) => ({ verdict: 'allow', tool: `t${n}` }) as Decision;

describe('decisionCache', () => {
  it('keeps at least max/2 most recent entries, forgets the oldest beyond max, and keeps executed marks', () => {
    const c = decisionCache({ brief: 100, lasting: 100 });
    for (let i = 0; i < 1000; i++) c.set(`k${i}`, d(i));
    for (let i = 950; i < 1000; i++) expect(c.get(`k${i}`)?.decision.tool).toBe(`t${i}`);
    expect(c.get('k0')).toBeUndefined();
    c.markExecuted('k999', d(999));
    c.set('k999', d(999));
    expect(c.get('k999')).toMatchObject({ executed: true });
  });

  it('a hit in the old generation survives the next turnover', () => {
    const c = decisionCache({ brief: 4, lasting: 4 });
    c.set('a', d(1));
    c.set('b', d(2)); // young full (2): next put ages it
    c.set('c', d(3));
    expect(c.get('a')?.decision.tool).toBe('t1'); // promoted back to young
    c.set('d', d(4));
    c.set('e', d(5));
    expect(c.get('a')).toBeDefined();
  });

  it('a set with the mark of a missed get skips its lookups only while nothing was written since', () => {
    const c = decisionCache({ brief: 100, lasting: 100 });
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
    const small = decisionCache({ brief: 4, lasting: 4 });
    small.set('a', d(1));
    small.markExecuted('a', d(1));
    const stale = small.mark() - 1;
    small.set('b', d(2));
    small.set('c', d(3)); // ages 'a' and 'b'
    small.set('a', d(4), stale);
    expect(small.get('a')).toMatchObject({ executed: true, decision: { tool: 't4' } });
  });

  it('claim: once per digest, in either generation; markExecuted hands back the entry as it was', () => {
    const c = decisionCache({ brief: 4, lasting: 4 });
    const a = { ...d(1), digest: 'sha256:a' } as Decision;
    const other = { ...d(1), digest: 'sha256:b' } as Decision;
    expect(c.claim('a', a)).toBe('claimed'); // never seen: claimed
    expect(c.claim('a', a)).toBe('ran'); // second run of the same call
    expect(c.claim('a', other)).toBe('ran'); // one execution per key, whatever the digest
    expect(c.get('a')).toMatchObject({ executed: true, decision: { digest: 'sha256:a' } });
    c.set('x', d(2));
    c.set('y', d(3)); // 'a' ages into the old generation
    expect(c.claim('a', a)).toBe('ran');
    expect(c.get('a')).toMatchObject({ executed: true });
    c.set('b', { ...d(4), digest: 'sha256:c' } as Decision);
    const before = c.markExecuted('b', a);
    expect(before).toMatchObject({ executed: false, decision: { tool: 't4' } });
    expect(c.markExecuted('b', a)).toMatchObject({ executed: true, decision: { tool: 't4' } });
    expect(c.claim('b', { ...d(4), digest: 'sha256:c' } as Decision)).toBe('ran');
    expect(c.markExecuted('never', a)).toBeUndefined();
    expect(c.claim('never', a)).toBe('ran');
  });

  it('tiers: a reviewer answer is brief, an execution and a human answer are lasting, and lasting wins', () => {
    const c = decisionCache({ brief: 10, lasting: 100 });
    const allow = (n: number) => ({ ...d(n), digest: `sha256:${n}` }) as Decision;
    c.set('ran', allow(1));
    expect(c.claim('ran', allow(1))).toBe('claimed'); // runs: the key moves to the lasting tier
    c.set('human', allow(2));
    c.keep('human', { ...allow(2), verdict: 'deny', source: 'human' } as Decision);
    c.set('ledger-human', { ...allow(3), source: 'human' } as Decision); // a human's answer read from a ledger
    for (let i = 10; i < 60; i++) c.set(`k${i}`, allow(i)); // five brief tiers' worth of other answers
    expect(c.get('k10')).toBeUndefined(); // a reviewer answer that never ran is gone: the gate asks again
    expect(c.get('k59')).toMatchObject({ executed: false });
    expect(c.claim('ran', allow(1))).toBe('ran'); // the execution is remembered
    expect(c.get('human')).toMatchObject({ executed: false, decision: { verdict: 'deny', source: 'human' } });
    expect(c.get('ledger-human')).toMatchObject({ decision: { source: 'human' } });
    // A reviewer answer written again for a lasting key replaces its Decision there, keeping the mark.
    c.set('ran', { ...allow(1), reason: 'again' } as Decision);
    expect(c.get('ran')).toMatchObject({ executed: true, decision: { reason: 'again' } });
    expect(c.claim('ran', allow(1))).toBe('ran');
    // markExecuted on a brief key hands back the brief entry and moves it.
    c.set('b', allow(7));
    expect(c.markExecuted('b', allow(8))).toMatchObject({ executed: false, decision: { tool: 't7' } });
    for (let i = 60; i < 90; i++) c.set(`k${i}`, allow(i));
    expect(c.get('b')).toMatchObject({ executed: true, decision: { tool: 't7' } });
    // A held answer that does not allow overrules a claim, in either tier; nothing is written.
    c.set('no', { ...allow(9), verdict: 'deny' } as Decision);
    expect(c.claim('no', allow(9))).toBe('overruled');
    c.keep('rejected', { ...allow(10), verdict: 'deny', source: 'human' } as Decision);
    expect(c.claim('rejected', allow(10))).toBe('overruled');
    expect(c.get('rejected')).toMatchObject({ executed: false });
    // A reviewer's answer does not replace a human's, and nothing but another no replaces a final no.
    c.set('rejected', allow(10));
    expect(c.get('rejected')).toMatchObject({ decision: { verdict: 'deny', source: 'human' } });
    c.keep('rejected', { ...allow(10), source: 'human' } as Decision);
    expect(c.claim('rejected', allow(10))).toBe('overruled');
    // Of two reviewer answers for one key, the later ask's stands, whichever is written last.
    c.set('asked', allow(13), undefined, 2);
    c.set('asked', { ...allow(13), verdict: 'deny' } as Decision, undefined, 1);
    expect(c.get('asked')).toMatchObject({ decision: { verdict: 'allow' }, asked: 2 });
    expect(c.askedLater('asked', 1)).toBe(true);
    expect(c.askedLater('asked', 3)).toBe(false);
    c.set('asked', { ...allow(13), verdict: 'deny' } as Decision, undefined, 3);
    expect(c.get('asked')).toMatchObject({ decision: { verdict: 'deny' } });
    // A human's allow is replaced by another human's answer, not by a reviewer's.
    c.keep('approved', { ...allow(11), source: 'human' } as Decision);
    c.set('approved', { ...allow(11), verdict: 'deny' } as Decision);
    expect(c.get('approved')).toMatchObject({ decision: { verdict: 'allow', source: 'human' } });
    // An allow for other arguments under the key (a human's edit on the reviewer) overrules the original's.
    c.keep('edited', { ...allow(12), digest: 'sha256:edited', source: 'human' } as Decision);
    expect(c.claim('edited', allow(12))).toBe('overruled');
    expect(c.claim('edited', { ...allow(12), digest: 'sha256:edited' } as Decision)).toBe('claimed');
    expect(c.claim('edited', allow(12))).toBe('ran');
  });
});
