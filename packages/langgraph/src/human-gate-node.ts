import { AIMessage, type BaseMessage, type ToolMessage } from '@langchain/core/messages';
import { interrupt, type LangGraphRunnableConfig } from '@langchain/langgraph';
import { isAllowed, OptionsError, redact, type Decision, type Gate, type HumanAnswer, type RedactOptions } from '@toolgate/core';
import type { DecisionMap } from './governance-state';
import { answersFromResume, DEFAULT_ALLOWED_DECISIONS, hitlParts, type HitlDecisionType, type HitlRequest } from './hitl';
import { assertGate, missingChannelError } from './options';
import { genuineReview } from './state-decisions';
import { denialMessage, lastAIMessage, messagesOf, toGateCall, unansweredCalls, type CallBuildOptions, type IdentifiedToolCall } from './tool-calls';

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

/**
 * The value of toolgate's (single, batched) `interrupt()`. It IS a LangChain `HITLRequest`
 * (`actionRequests` / `reviewConfigs`, as `humanInTheLoopMiddleware` produces, so Agent Chat UI
 * and apps built for it render it unchanged) plus toolgate's own `kind` and `requests` (with the
 * `tool_call_id`, reason and digest of each call, same order as `actionRequests`).
 */
export interface HumanReviewInterrupt extends HitlRequest {
  kind: typeof REVIEW_INTERRUPT_KIND;
  requests: ReviewRequestItem[];
}

/** A human's answer for one call (toolgate's first resume shape; a LangChain `HITLResponse` works too). */
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
 * toolgate's resume value: answers keyed by `tool_call_id`.
 * `graph.invoke(new Command({ resume: { call_1: { approved: true } } satisfies HumanReviewResume }), config)`.
 * A LangChain `HITLResponse` (`{ decisions: [...] }`, one per action request, in order) is
 * accepted as well. A call with no (valid) answer is rejected: fail closed.
 */
export type HumanReviewResume = Record<string, HumanReviewAnswer>;

/** Options of `humanGateNode`. */
export interface HumanGateNodeOptions extends CallBuildOptions {
  /** Extra secret keys and paths to redact from the args shown to the human. */
  redact?: RedactOptions;
  /** Approver recorded when an answer names none. Default `'human'`. */
  approver?: string;
  /**
   * The decisions offered in each `reviewConfigs[i].allowedDecisions` (default all three:
   * `approve`, `edit`, `reject`). A decision not offered is a rejection.
   */
  allowedDecisions?: readonly HitlDecisionType[];
}

/** What the human gate node reads. */
export interface HumanGateNodeInput {
  messages: BaseMessage[];
  toolgateDecisions?: DecisionMap;
}

/** What the human gate node writes. */
export interface HumanGateNodeUpdate {
  /** Denials as error ToolMessages; for an approved edit, the AIMessage with that call's args replaced by the edited ones. */
  messages?: Array<ToolMessage | AIMessage>;
  toolgateDecisions?: DecisionMap;
}

/**
 * A graph node that asks a human about every call whose Decision is `review`, with ONE
 * batched `interrupt()`, and applies the answers.
 *
 * It is a pure function of the state and the resume value (LangGraph re-runs a node from its
 * first line on resume): it never asks for a review. After the answer it records each one with
 * `gate.resolveReview`; a rejection (or an expired review, or an edit the policy denies) becomes
 * an error ToolMessage (artifact: the Decision), an approval turns the Decision into an allow with
 * `source: 'human'`. An approved edit is a new call reviewed again by the gate; it replaces the
 * call's args in the AIMessage (as `humanInTheLoopMiddleware` does), and the tool node tells the
 * model the call ran with edited arguments.
 *
 * The interrupt value is a LangChain `HITLRequest` (plus toolgate's `kind` and `requests`).
 * Resume with a LangChain `HITLResponse` — `new Command({ resume: { decisions: [{ type: 'approve' }] } })`
 * — or with toolgate's `new Command({ resume: { [tool_call_id]: { approved, reason? } } })`.
 * Needs a checkpointer and a `thread_id`.
 *
 * @example
 * graph.addNode('human_gate', humanGateNode(gate))
 */
export function humanGateNode(gate: Gate, options: HumanGateNodeOptions = {}) {
  assertGate(gate, 'humanGateNode');
  const defaultApprover = options.approver ?? 'human';
  const allowed = allowedDecisionsOption(options.allowedDecisions, 'humanGateNode');

  return async function toolgateHumanGate(state: HumanGateNodeInput, config?: LangGraphRunnableConfig): Promise<HumanGateNodeUpdate> {
    const known = state.toolgateDecisions;
    if (known === undefined) throw missingChannelError('humanGateNode');
    const asking = unansweredCalls(messagesOf(state)).filter((call) => known[call.id]?.verdict === 'review');
    if (asking.length === 0) return {};
    // The review to show is the gate's, not state's copy (whose approvals, tool or verdict anyone who
    // can write state could have changed): its own when it holds it, else asked again (idempotent).
    const genuine = await Promise.all(asking.map((call) => genuineReview(gate, call, known[call.id]!, toGateCall(call, config, options), config?.signal)));
    const waiting: Array<{ call: IdentifiedToolCall; decision: Decision }> = [];
    const settled: DecisionMap = {};
    const settledMessages: ToolMessage[] = [];
    asking.forEach((call, i) => {
      const decision = genuine[i]!;
      if (decision.verdict === 'review') return void waiting.push({ call, decision });
      // The gate has a final answer for this call (a policy that allows or denies it): no human is asked.
      settled[call.id] = decision;
      if (!isAllowed(decision)) settledMessages.push(denialMessage(call, decision));
    });
    if (waiting.length === 0) return settledMessages.length > 0 ? { messages: settledMessages, toolgateDecisions: settled } : { toolgateDecisions: settled };

    const payload = reviewInterrupt(
      waiting.map(({ call, decision }) => ({ id: call.id, decision, args: call.args })),
      options.redact,
      allowed,
    );
    // Everything above is recomputed identically on resume; nothing above has side effects.
    const resume: unknown = interrupt<HumanReviewInterrupt, unknown>(payload);

    const answers = answersFromResume(resume, waiting.map(({ call, decision }) => ({ id: call.id, decision, args: call.args })), defaultApprover, allowed);
    const resolved = await Promise.all(
      waiting.map(async ({ call, decision }, i) => ({
        call,
        decision: await gate.resolveReview(decision, answers[i] as HumanAnswer),
      })),
    );
    const decisions: DecisionMap = { ...settled };
    const messages: Array<ToolMessage | AIMessage> = [...settledMessages];
    const editedArgs = new Map<string, Record<string, unknown>>();
    for (const { call, decision } of resolved) {
      decisions[call.id] = decision;
      if (!isAllowed(decision)) messages.push(denialMessage(call, decision));
      else if (decision.edited) editedArgs.set(call.id, decision.args as Record<string, unknown>);
    }
    const rewritten = editedArgs.size > 0 ? withEditedArgs(lastAIMessage(messagesOf(state)), editedArgs) : undefined;
    if (rewritten) messages.unshift(rewritten);
    return messages.length > 0 ? { messages, toolgateDecisions: decisions } : { toolgateDecisions: decisions };
  };
}

/** The interrupt value for calls waiting for a human: a LangChain `HITLRequest` plus toolgate's `kind` and `requests`. */
export function reviewInterrupt(
  waiting: ReadonlyArray<{ id: string; decision: Decision; args: unknown }>,
  redactOptions: RedactOptions | undefined,
  allowed: readonly HitlDecisionType[],
): HumanReviewInterrupt {
  const requests = waiting.map(({ id, decision, args }) => reviewItem(id, decision, args, redactOptions));
  const parts = requests.map((r, i) => hitlParts(waiting[i]!.decision, r.args, allowed));
  return {
    actionRequests: parts.map((p) => p.action),
    reviewConfigs: parts.map((p) => p.config),
    kind: REVIEW_INTERRUPT_KIND,
    requests,
  };
}

/**
 * The AIMessage with the edited calls' args replaced by exactly the edited args (same message id,
 * so the messages reducer replaces it): what the tool node runs and checks against the edited
 * Decision's digest, and what the model's history shows, as with `humanInTheLoopMiddleware`.
 */
export function withEditedArgs(message: AIMessage | undefined, edited: Map<string, Record<string, unknown>>): AIMessage | undefined {
  if (!message?.id) return undefined;
  return new AIMessage({
    id: message.id,
    content: message.content,
    name: message.name,
    additional_kwargs: message.additional_kwargs,
    response_metadata: message.response_metadata,
    ...(message.usage_metadata ? { usage_metadata: message.usage_metadata } : {}),
    invalid_tool_calls: message.invalid_tool_calls ?? [],
    tool_calls: (message.tool_calls ?? []).map((c) => (c.id && edited.has(c.id) ? { ...c, args: edited.get(c.id)! } : c)),
  });
}

/** Validates the `allowedDecisions` option. */
export function allowedDecisionsOption(value: unknown, where: string): readonly HitlDecisionType[] {
  if (value === undefined) return DEFAULT_ALLOWED_DECISIONS;
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => v === 'approve' || v === 'edit' || v === 'reject')) {
    throw new OptionsError(`${where}: allowedDecisions must be a non-empty array of 'approve', 'edit', 'reject'; got ${JSON.stringify(value)}`);
  }
  return [...new Set(value as HitlDecisionType[])];
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
