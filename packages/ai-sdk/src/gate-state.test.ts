import { callbackReviewer, createGate, type Gate } from '@toolgate/core';
import { describe, expect, it } from 'vitest';
import { decideOnce, decisionsOf, recordDecision } from './gate-state';
import { resolveOptions } from './options';

/** A gate whose review() calls are counted (the gate's own cache may answer without its reviewer). */
function counting(): { gate: Gate; reviews: () => number } {
  let n = 0;
  const inner = createGate({ reviewer: callbackReviewer(() => ({ verdict: 'allow', reason: 'ok' })), highStakes: ['transfer'], telemetry: false });
  const gate: Gate = {
    ...inner,
    review: (call, options) => {
      n++;
      return inner.review(call, options);
    },
  };
  return { gate, reviews: () => n };
}

describe('decideOnce: one review per tool call per step', () => {
  const o = resolveOptions(undefined, 'test');

  it('the same input object, or an equal copy, in the same step is one review; other input is another', async () => {
    const { gate, reviews } = counting();
    const messages = [{ role: 'user' as const, content: 'send' }];
    const input = { amount: 5, currency: 'EUR' };
    const first = await decideOnce(gate, o, { toolName: 'transfer', toolCallId: 'c1', input, messages });
    expect(await decideOnce(gate, o, { toolName: 'transfer', toolCallId: 'c1', input, messages })).toBe(first);
    expect(await decideOnce(gate, o, { toolName: 'transfer', toolCallId: 'c1', input: { amount: 5, currency: 'EUR' }, messages })).toBe(first);
    expect(reviews()).toBe(1);
    const other = await decideOnce(gate, o, { toolName: 'transfer', toolCallId: 'c1', input: { amount: 6, currency: 'EUR' }, messages });
    expect(other).not.toBe(first);
    expect(other.args).toEqual({ amount: 6, currency: 'EUR' });
    expect(await decideOnce(gate, o, { toolName: 'transfer', toolCallId: 'c1', input: { amount: 6, currency: 'EUR' }, messages })).toBe(other);
    expect(reviews()).toBe(2);
    // Another step (another messages array) or another call id is another review.
    await decideOnce(gate, o, { toolName: 'transfer', toolCallId: 'c1', input, messages: [...messages] });
    await decideOnce(gate, o, { toolName: 'transfer', toolCallId: 'c2', input, messages });
    expect(reviews()).toBe(4);
  });

  it('a gate that throws gives a fail-closed deny, not a crash', async () => {
    const gate = { review: () => { throw new Error('boom'); }, isHighStakes: () => true } as unknown as Gate;
    const d = await decideOnce(gate, o, { toolName: 'transfer', toolCallId: 'c1', input: {}, messages: [] });
    expect(d.verdict).toBe('deny');
    expect(d.source).toBe('fail_closed');
  });
});

describe('decisionsOf: the latest Decision of the last 1000 calls', () => {
  it('stays bounded and drops the oldest first, also when calls are recorded again', async () => {
    const { gate } = counting();
    const o = resolveOptions(undefined, 'test');
    const d = await gate.review({ tool: 'transfer', args: {} });
    for (let i = 0; i < 2_500; i++) {
      recordDecision(gate, o, 'transfer', `c${i}`, d, 'execute');
      // c0 is recorded again now and then: it moves to the newest end and is kept.
      if (i % 300 === 0) recordDecision(gate, o, 'transfer', 'c0', d, 'execute');
    }
    const log = decisionsOf(gate);
    expect(log.size).toBe(1000);
    const keys = [...log.keys()];
    expect(keys.at(-1)).toBe('c2499');
    expect(keys).toContain('c0');
    expect(keys.filter((k) => k !== 'c0')).toEqual(Array.from({ length: 999 }, (_, i) => `c${2500 - 999 + i}`));
  });
});
