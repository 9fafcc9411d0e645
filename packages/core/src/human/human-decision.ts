import type { HumanDecision } from '../types';

/**
 * Normalises a human's answer to a `review` into a `HumanDecision`, or `undefined` when it is not
 * one (then `resolveReview` denies it as `INPUT_INVALID`). Accepts the current shapes
 * (`{ type: 'approve' | 'edit' | 'reject' | 'expired', … }`) and the legacy
 * `{ approved, reason?, approver? }` (`approved: true` approves, `approved: false` rejects with
 * `reason` as the message). Strings are kept only when they are non-empty strings, made well-formed;
 * an `edit` must carry `args` (an object, or a JSON string that parses to one). Never throws: an
 * answer whose getters throw is `undefined`. Adapters use it to read framework answers.
 *
 * @example
 * humanDecisionOf({ approved: false, reason: 'too big' }); // { type: 'reject', message: 'too big' }
 * humanDecisionOf({ type: 'edit', args: { amount: 50 }, approver: 'alice' });
 */
export function humanDecisionOf(answer: unknown): HumanDecision | undefined {
  try {
    return read(answer);
  } catch {
    return undefined;
  }
}

function read(answer: unknown): HumanDecision | undefined {
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) return undefined;
  const a = answer as Record<string, unknown>;
  const type: unknown = a.type;
  if (type === undefined && 'approved' in a) {
    const approved: unknown = a.approved;
    const approver = text(a.approver);
    const reason = text(a.reason);
    if (approved === true) return { type: 'approve', ...(approver ? { approver } : {}), ...(reason ? { reason } : {}) };
    if (approved === false) return { type: 'reject', ...(reason ? { message: reason } : {}), ...(approver ? { approver } : {}) };
    return undefined;
  }
  switch (type) {
    case 'approve': {
      const approver = text(a.approver);
      const reason = text(a.reason);
      const answerId = text(a.answerId);
      return { type: 'approve', ...(approver ? { approver } : {}), ...(reason ? { reason } : {}), ...(answerId ? { answerId } : {}) };
    }
    case 'edit': {
      if (!('args' in a)) return undefined;
      const tool: unknown = a.tool;
      if (tool !== undefined && typeof tool !== 'string') return undefined;
      const approver = text(a.approver);
      const reason = text(a.reason);
      return {
        type: 'edit',
        args: a.args,
        ...(tool !== undefined ? { tool: tool.toWellFormed() } : {}),
        ...(approver ? { approver } : {}),
        ...(reason ? { reason } : {}),
        ...(text(a.answerId) ? { answerId: text(a.answerId)! } : {}),
      };
    }
    case 'reject': {
      // `reason` is read too: it is what the legacy shape (and many UIs) call the message.
      const message = text(a.message) ?? text(a.reason);
      const approver = text(a.approver);
      return { type: 'reject', ...(message ? { message } : {}), ...(approver ? { approver } : {}) };
    }
    case 'expired':
      return { type: 'expired' };
    default:
      return undefined;
  }
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v.toWellFormed() : undefined;
}
