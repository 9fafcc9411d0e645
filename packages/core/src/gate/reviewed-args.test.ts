import { describe, expect, it } from 'vitest';
import { memoryAudit } from '../audit/index';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import type { Decision, ReviewRequest } from '../types';
import { createGate } from './create-gate';
import { runGoverned } from './governed';
import { reviewedArgs } from './reviewed-args';

/** Allows transfers up to 100; a "bank" whose transfers are the side effect we count. */
function bank() {
  const audit = memoryAudit();
  const asked: ReviewRequest[] = [];
  const gate = createGate({
    reviewer: callbackReviewer((r) => {
      asked.push(r);
      return (r.call.args as { amount: number }).amount <= 100 ? { verdict: 'allow' } : { verdict: 'deny', reason: 'too much' };
    }),
    highStakes: ['transfer'],
    audit,
    telemetry: false,
  });
  const moved: number[] = [];
  const transfer = (args: unknown) => {
    moved.push((args as { amount: number }).amount);
    return 'ok';
  };
  return { gate, audit, asked, moved, transfer };
}

describe('decision.args: what was reviewed is what runs', () => {
  it('a toJSON that shows the reviewer a small amount cannot hand the body a big one', async () => {
    const { gate, moved, transfer, asked } = bank();
    const args = { amount: 5000, toJSON: () => ({ amount: 5 }) };
    const d = await gate.review({ tool: 'transfer', args, callId: 'c1' });
    expect(d.verdict).toBe('allow');
    expect(asked[0]!.call.args).toEqual({ amount: 5 });
    await runGoverned(gate, d, transfer, args);
    expect(moved).toEqual([5]);
  });

  it('a getter that answers differently the second time cannot change what runs', async () => {
    const { gate, moved, transfer } = bank();
    let reads = 0;
    const args = {
      get amount() {
        reads += 1;
        return reads === 1 ? 5 : 5000;
      },
    };
    const d = await gate.review({ tool: 'transfer', args, callId: 'c2' });
    expect(d.verdict).toBe('allow');
    await runGoverned(gate, d, transfer, args);
    expect(moved).toEqual([5]);
    expect(args.amount).toBe(5000);
  });

  it("mutating the caller's object after the review cannot change what runs", async () => {
    const { gate, moved, transfer } = bank();
    const args = { amount: 5 };
    const d = await gate.enforce({ tool: 'transfer', args, callId: 'c3' });
    args.amount = 5000;
    await runGoverned(gate, d, transfer, args);
    expect(moved).toEqual([5]);
  });

  it('every read is a fresh copy: a body that mutates its arguments does not change the next read', async () => {
    const { gate } = bank();
    const d = await gate.review({ tool: 'transfer', args: '{"amount":7}', callId: 'c4' });
    const first = d.args as { amount: number };
    first.amount = 9999;
    expect(d.args).toEqual({ amount: 7 });
    expect(() => {
      (d as { args?: unknown }).args = { amount: 9999 };
    }).toThrow(TypeError);
    expect(d.args).toEqual({ amount: 7 });
  });

  it('a cached Decision (framework re-execution) carries the reviewed arguments too', async () => {
    const { gate, asked } = bank();
    await gate.review({ tool: 'transfer', args: { amount: 8 }, callId: 'c5' });
    const again = await gate.review({ tool: 'transfer', args: { amount: 8 }, callId: 'c5' });
    expect(asked).toHaveLength(1);
    expect(again.args).toEqual({ amount: 8 });
  });

  it('stays out of JSON and of the audit record, so secrets in arguments are not copied unredacted', async () => {
    const { gate, audit } = bank();
    const d = await gate.review({ tool: 'transfer', args: { amount: 5, api_key: 'sk-live-SECRET123' }, callId: 'c6' });
    expect((d.args as { api_key: string }).api_key).toBe('sk-live-SECRET123');
    expect(JSON.stringify(d)).not.toContain('SECRET123');
    expect(JSON.stringify({ ...d })).not.toContain('SECRET123');
    expect(JSON.stringify(audit.records)).not.toContain('SECRET123');
    expect(audit.records[0]!.decision).not.toHaveProperty('args');
  });

  it('runGoverned runs no body for a deny, nor for an allowing copy without reviewed arguments', async () => {
    const { gate, moved, transfer } = bank();
    const denied = await gate.review({ tool: 'transfer', args: { amount: 5000 }, callId: 'c7' });
    await expect(runGoverned(gate, denied, transfer, { amount: 5000 })).rejects.toMatchObject({ code: 'DENIED' });
    const allowed = await gate.review({ tool: 'transfer', args: { amount: 5 }, callId: 'c8' });
    const copy: Decision = { ...allowed };
    const relayed = JSON.parse(JSON.stringify(allowed)) as Decision;
    for (const d of [copy, relayed]) {
      await expect(runGoverned(gate, d, transfer, { amount: 5000 })).rejects.toMatchObject({ code: 'ARGS_NOT_REVIEWED' });
    }
    expect(moved).toEqual([]);
  });

  it('a plain passthrough runs with the framework arguments; a predicate passthrough with the judged copy', async () => {
    const gate = createGate({
      reviewer: callbackReviewer(() => ({ verdict: 'deny' })),
      highStakes: [{ tool: 'pay', when: (a) => (a as { amount: number }).amount > 100 }],
      telemetry: false,
    });
    const plain = await gate.review({ tool: 'search', args: { q: 'x' } });
    expect(plain.source).toBe('not_high_stakes');
    expect(reviewedArgs(plain, { q: 'x' })).toEqual({ q: 'x' });
    let reads = 0;
    const args = {
      get amount() {
        reads += 1;
        return reads === 1 ? 5 : 5000;
      },
    };
    const judged = await gate.review({ tool: 'pay', args });
    expect(judged.source).toBe('not_high_stakes');
    expect(reviewedArgs(judged, args)).toEqual({ amount: 5 });
  });
});
