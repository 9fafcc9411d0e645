import type { BaseMessage, ToolMessage } from '@langchain/core/messages';
import { interrupt } from '@langchain/langgraph';
import { isAllowed, redact, type Decision, type Gate, type HumanAnswer, type RedactOptions } from '@toolgate/core';
import type { DecisionMap } from './governance-state';
import { assertGate, missingChannelError } from './options';
import { denialMessage, messagesOf, unansweredCalls } from './tool-calls';

/** `kind` of toolgate's interrupt payload, to tell it from other interrupts in the same graph. */
export const REVIEW_INTERRUPT_KIND = 'toolgate_review';

/** One call waiting for a human, as shown in the interrupt payload. */
export interface ReviewRequestItem {
  tool_call_id: string;
  tool: string;
  /** The call's arguments with secrets redacted. */
  args: unknown;
  /** Why the reviewer wants a human. */
  reason: string;
  /** The reviewer's review id, when it has one. */
  reviewId?: string;
  /** `sha256:<hex>` of `{ tool, args }`: binds the answer to the exact call. */
  digest: string;
}

/** The value of toolgate's (single, batched) `interrupt()`. */
export interface HumanReviewInterrupt {
  kind: typeof REVIEW_INTERRUPT_KIND;
  requests: ReviewRequestItem[];
}

/** A human's answer for one call. */
export interface HumanReviewAnswer {
  approved: boolean;
  reason?: string;
  /** Who answered (recorded in the Decision and the audit trail). */
  approver?: string;
  /**
   * The `digest` of the request the human looked at (from `pendingReviews()`). When given, the
   * answer counts only for a call with exactly that digest: if the call was changed in the
   * meantime (`graph.updateState`, another node) the answer is a rejection. Always send it — an
   * answer without it approves whatever call has this `tool_call_id` when the resume arrives.
   */
  digest?: string;
}

/**
 * The resume value: answers keyed by `tool_call_id`.
 * `graph.invoke(new Command({ resume: { call_1: { approved: true } } satisfies HumanReviewResume }), config)`.
 * A call with no (valid) answer is rejected: fail closed.
 */
export type HumanReviewResume = Record<string, HumanReviewAnswer>;

/** Options of `humanGateNode`. */
export interface HumanGateNodeOptions {
  /** Extra secret keys and paths to redact from the args shown to the human. */
  redact?: RedactOptions;
  /** Approver recorded when an answer names none. Default `'human'`. */
  approver?: string;
}

/** What the human gate node reads. */
export interface HumanGateNodeInput {
  messages: BaseMessage[];
  toolgateDecisions?: DecisionMap;
}

/** What the human gate node writes. */
export interface HumanGateNodeUpdate {
  messages?: ToolMessage[];
  toolgateDecisions?: DecisionMap;
}

/**
 * A graph node that asks a human about every call whose Decision is `review`, with ONE
 * batched `interrupt()`, and applies the answers.
 *
 * It is a pure function of the state and the resume value (LangGraph re-runs a node from its
 * first line on resume): it never calls the reviewer. After the answer it records each one with
 * `gate.resolveReview`; a rejection becomes an error ToolMessage (artifact: the Decision), an
 * approval turns the Decision into an allow with `source: 'human'`.
 *
 * Resume with `new Command({ resume: { [tool_call_id]: { approved, reason? } } })`.
 * Needs a checkpointer and a `thread_id`.
 *
 * @example
 * graph.addNode('human_gate', humanGateNode(gate))
 */
export function humanGateNode(gate: Gate, options: HumanGateNodeOptions = {}) {
  assertGate(gate, 'humanGateNode');
  const defaultApprover = options.approver ?? 'human';

  return async function toolgateHumanGate(state: HumanGateNodeInput): Promise<HumanGateNodeUpdate> {
    const known = state.toolgateDecisions;
    if (known === undefined) throw missingChannelError('humanGateNode');
    const waiting = unansweredCalls(messagesOf(state)).flatMap((call) => {
      const decision = known[call.id];
      return decision?.verdict === 'review' ? [{ call, decision }] : [];
    });
    if (waiting.length === 0) return {};

    const payload: HumanReviewInterrupt = {
      kind: REVIEW_INTERRUPT_KIND,
      requests: waiting.map(({ call, decision }) => reviewItem(call.id, decision, call.args, options.redact)),
    };
    // Everything above is recomputed identically on resume; nothing above has side effects.
    const resume: unknown = interrupt<HumanReviewInterrupt, unknown>(payload);

    const resolved = await Promise.all(
      waiting.map(async ({ call, decision }) => ({
        call,
        decision: await gate.resolveReview(decision, answerFor(resume, call.id, defaultApprover, decision.digest)),
      })),
    );
    const decisions: DecisionMap = {};
    const messages: ToolMessage[] = [];
    for (const { call, decision } of resolved) {
      decisions[call.id] = decision;
      if (!isAllowed(decision)) messages.push(denialMessage(call, decision));
    }
    return messages.length > 0 ? { messages, toolgateDecisions: decisions } : { toolgateDecisions: decisions };
  };
}

/** The interrupt payload entry for one call. */
export function reviewItem(toolCallId: string, decision: Decision, args: unknown, redactOptions?: RedactOptions): ReviewRequestItem {
  const item: ReviewRequestItem = {
    tool_call_id: toolCallId,
    tool: decision.tool,
    args: redact(args ?? {}, redactOptions),
    reason: decision.reason,
    digest: decision.digest,
  };
  if (decision.reviewId) item.reviewId = decision.reviewId;
  return item;
}

/** Reads the human's answer for one call from a resume value; anything missing or malformed rejects. */
export function answerFor(resume: unknown, toolCallId: string, defaultApprover: string, digest?: string): HumanAnswer {
  const raw = typeof resume === 'object' && resume !== null ? (resume as Record<string, unknown>)[toolCallId] : undefined;
  const a = raw as Partial<HumanReviewAnswer> | undefined;
  const approver = typeof a?.approver === 'string' && a.approver.length > 0 ? a.approver : defaultApprover;
  if (typeof a !== 'object' || a === null || typeof a.approved !== 'boolean') {
    return { approved: false, approver, reason: `no valid answer for tool call ${toolCallId} in the resume value; rejected` };
  }
  if (a.digest !== undefined && (typeof a.digest !== 'string' || a.digest !== digest)) {
    return { approved: false, approver, reason: `the answer for tool call ${toolCallId} was given for other arguments than the call now waiting (the call changed after the human looked); rejected` };
  }
  const answer: HumanAnswer = { approved: a.approved, approver };
  if (typeof a.reason === 'string' && a.reason.length > 0) answer.reason = a.reason;
  return answer;
}
