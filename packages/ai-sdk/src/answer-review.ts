import { ErrorCodes, type Decision, type Gate, type HumanDecision } from '@toolgate/core';
import type { ApprovalPair } from './approvals';
import { readApprovalEdit } from './edit-approval';
import { validateEditedInput } from './edited-input';

/**
 * Turns a trusted (signed) human approval of a `review` into the gate's Decision: an approval, or
 * an approval with edited input (re-reviewed by the gate as a new call of the same tool). The
 * approval id goes along as the answer's `answerId`: the gate lets one approval answer one review
 * (a client-held history replayed under another run id is refused, REVIEW_ALREADY_DECIDED — in
 * every process sharing the gate's ledger). An answer
 * after the review's deadline is REVIEW_EXPIRED: the gate keeps the deadline of the first ask. An edit that cannot be read, or whose
 * input the tool's schema rejects, is a deny: the call runs neither as asked nor as edited.
 */
export async function answerReview(gate: Gate, decision: Decision, approval: ApprovalPair, inputSchema: unknown, approver?: string): Promise<Decision> {
  const read = readApprovalEdit(approval.reason);
  if (read.kind === 'invalid') return refused(decision, `the approval's edit cannot be read (${read.problem})`);
  if (read.kind === 'edit' && read.approvalId !== approval.approvalId) {
    return refused(decision, `the approval's edit is for approval ${JSON.stringify(read.approvalId.slice(0, 80))}, not this one (${approval.approvalId})`);
  }
  let answer: HumanDecision;
  if (read.kind === 'none') {
    answer = { type: 'approve', answerId: approval.approvalId, ...(approver ? { approver } : {}), ...(approval.reason ? { reason: approval.reason } : {}) };
  } else {
    const checked = await validateEditedInput(inputSchema, read.edit.input);
    if (!checked.ok) return refused(decision, `the edited input does not match the tool's inputSchema (${checked.problem})`);
    answer = {
      type: 'edit',
      args: checked.value,
      answerId: approval.approvalId,
      ...(read.edit.toolName !== undefined ? { tool: read.edit.toolName } : {}),
      ...(approver ? { approver } : {}),
      ...(read.edit.reason ? { reason: read.edit.reason } : {}),
    };
  }
  return gate.resolveReview(decision, answer);
}

/** A deny for a human answer the adapter cannot pass on; the review stays pending. */
function refused(decision: Decision, why: string): Decision {
  const reason = `${why}; nothing ran. Send edits with editedApprovalResponse() / editedChatApproval() from @toolgate/ai-sdk`;
  const d: Decision = { ...decision, verdict: 'deny', source: 'fail_closed', reason, error: { code: ErrorCodes.INPUT_INVALID, message: reason } };
  delete d.proof;
  delete d.expiresAt;
  return d;
}

/**
 * A deny for a human edit of a call the gate no longer holds for review (it now allows the call as
 * asked): neither the original (the human asked for other input) nor the edit (not reviewed) runs.
 */
export function editNotPending(decision: Decision): Decision {
  const reason =
    'a human approved this call with edited input, but the gate no longer holds it for review (it now answers ' +
    `${decision.verdict} from ${decision.source} for the input as the model asked it); neither the original nor the edit ran — ask for the call again`;
  const d: Decision = { ...decision, verdict: 'deny', source: 'fail_closed', reason, error: { code: ErrorCodes.INPUT_INVALID, message: reason } };
  delete d.proof;
  return d;
}
