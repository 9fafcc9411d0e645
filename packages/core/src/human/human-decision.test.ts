import { describe, expect, it } from 'vitest';
import { humanDecisionOf } from './human-decision';

describe('humanDecisionOf', () => {
  it('reads the legacy { approved } shape', () => {
    expect(humanDecisionOf({ approved: true, approver: 'alice', reason: 'ok' })).toEqual({ type: 'approve', approver: 'alice', reason: 'ok' });
    expect(humanDecisionOf({ approved: false, reason: 'too big' })).toEqual({ type: 'reject', message: 'too big' });
    expect(humanDecisionOf({ approved: 'yes' })).toBeUndefined();
  });

  it('reads the four decisions and drops what is not a string', () => {
    expect(humanDecisionOf({ type: 'approve', approver: 7 })).toEqual({ type: 'approve' });
    expect(humanDecisionOf({ type: 'edit', args: { a: 1 }, approver: 'bob' })).toEqual({ type: 'edit', args: { a: 1 }, approver: 'bob' });
    expect(humanDecisionOf({ type: 'edit', tool: 'shell', args: {} })).toEqual({ type: 'edit', tool: 'shell', args: {} });
    expect(humanDecisionOf({ type: 'reject', message: 'no' })).toEqual({ type: 'reject', message: 'no' });
    expect(humanDecisionOf({ type: 'reject', reason: 'no' })).toEqual({ type: 'reject', message: 'no' });
    expect(humanDecisionOf({ type: 'expired', approver: 'x' })).toEqual({ type: 'expired' });
  });

  it('is undefined for anything else, and never throws', () => {
    const throwing = Object.defineProperty({}, 'type', { get: () => { throw new Error('boom'); }, enumerable: true });
    for (const a of [null, undefined, 'approve', [], {}, { type: 'maybe' }, { type: 'edit' }, { type: 'edit', args: {}, tool: 3 }, throwing]) {
      expect(humanDecisionOf(a)).toBeUndefined();
    }
  });
});
