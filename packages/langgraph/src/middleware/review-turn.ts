import type { AIMessage } from '@langchain/core/messages';
import { interrupt, type LangGraphRunnableConfig } from '@langchain/langgraph';
import { humanDecisionOf, isAllowed, type Decision, type Gate, type HumanAnswer, type RedactOptions, type ToolCall } from '@toolgate/core';
import type { DecisionMap } from '../governance-state';
import { answersFromResume, type HitlDecisionType, type WaitingCall } from '../hitl';
import { reviewInterrupt, withEditedArgs, type HumanReviewInterrupt } from '../human-gate-node';
import { decidedFor, duplicateIdDenial, ErrorCodes, mayBeHighStakes, refused, snapshotArgs } from '../reviewed-args';
import { genuineReview } from '../state-decisions';
import { lastAIMessage, messagesOf, toGateCall, unansweredCalls, type CallBuildOptions, type IdentifiedToolCall } from '../tool-calls';

/** What the afterModel review needs from the middleware. */
export interface TurnReviewSetup {
  gate: Gate;
  /** The checkpointed review (a LangGraph `task()`): replayed, not re-run, when the hook resumes. */
  review: (call: ToolCall) => Promise<Decision>;
  options: CallBuildOptions & { redact?: RedactOptions };
  approver: string;
  allowed: readonly HitlDecisionType[];
}

/** The afterModel update: the Decision for every high-stakes call, and the AIMessage with edited args. */
export interface TurnReviewUpdate {
  toolgateDecisions: DecisionMap;
  messages?: AIMessage[];
}

/**
 * Reviews every high-stakes call of the model's turn (as `humanInTheLoopMiddleware` does, in
 * `afterModel`, before any tool runs) and asks a human about all the calls that need one with ONE
 * `interrupt()`: a HITLRequest whose `actionRequests[i]` is the i-th waiting call, so a plain
 * `Command({ resume: { decisions } })` answers exactly the calls the human was shown. A count
 * mismatch rejects every waiting call. Each answer goes to `gate.resolveReview`.
 *
 * On resume LangGraph re-runs the hook from its first line: the reviews are replayed from the
 * checkpoint (the reviewer is asked once per call). A replayed review that is not for the call now
 * in state (the thread was changed while paused) is refused, never applied to another call.
 */
export async function reviewTurn(state: unknown, configurable: Record<string, unknown> | undefined, setup: TurnReviewSetup): Promise<TurnReviewUpdate | undefined> {
  const { gate, options } = setup;
  const messages = messagesOf(state);
  const judged: Array<{ call: IdentifiedToolCall; args: Record<string, unknown> }> = [];
  const open = unansweredCalls(messages);
  const idCounts = new Map<string, number>();
  for (const call of open) idCounts.set(call.id, (idCounts.get(call.id) ?? 0) + 1);
  // A high-stakes call whose id another call of the turn uses: refused, not reviewed or shown — a
  // Decision and an answer are keyed by id, so approving one of them could authorise the other.
  const duplicated = new Map<string, Decision>();
  for (const call of open) {
    if (!mayBeHighStakes(gate, call.name)) continue;
    const snapshot = snapshotArgs(call.args);
    // Arguments that are not JSON are refused by wrapToolCall (ARGS_NOT_JSON), unreviewed.
    if (!snapshot) continue;
    const args = snapshot.args as Record<string, unknown>;
    if (!gate.isHighStakes(call.name, args)) continue;
    if ((idCounts.get(call.id) ?? 0) > 1) {
      if (!duplicated.has(call.id)) {
        duplicated.set(call.id, duplicateIdDenial({ ...call, args }));
      }
      continue;
    }
    judged.push({ call, args });
  }
  if (judged.length === 0 && duplicated.size === 0) return undefined;

  const config = { configurable } as LangGraphRunnableConfig;
  const reviewed = await Promise.all(judged.map(({ call, args }) => setup.review(toGateCall({ ...call, args }, config, options))));
  const decided = judged.map(({ call, args }, i) => {
    const decision = reviewed[i]!;
    const forThisCall = decision.callId === call.id && (decision.verdict !== 'review' && !isAllowed(decision) ? decision.tool === call.name : decidedFor(decision, call.name, args));
    return {
      call,
      args,
      decision: forThisCall
        ? decision
        : refused({ tool: call.name, callId: call.id }, ErrorCodes.DENIED, 'the tool calls changed while the run was paused, so the review replayed from the checkpoint is for other arguments; denied — ask the model again'),
    };
  });

  const waiting = decided.filter((d) => d.decision.verdict === 'review');
  const decisions: DecisionMap = Object.fromEntries(duplicated);
  for (const { call, decision } of decided) decisions[call.id] = decision;
  if (waiting.length === 0) return { toolgateDecisions: decisions };

  const asked: WaitingCall[] = waiting.map(({ call, decision, args }) => ({ id: call.id, decision, args }));
  // Everything above is recomputed identically on resume (reviews replayed); nothing above has side effects.
  const resume: unknown = interrupt<HumanReviewInterrupt, unknown>(reviewInterrupt(asked, options.redact, setup.allowed));
  const answers = answersFromResume(resume, asked, setup.approver, setup.allowed);
  // The review replayed from the checkpoint may come from another process: the answer goes to the
  // gate's own review of the call (asked again when this gate does not hold it), so the approval is
  // re-checked against the policy now, with the review's real approvals and deadline.
  const resolved = await Promise.all(
    waiting.map(async ({ call, args, decision }, i) => {
      const genuine = await genuineReview(gate, { ...call, args }, decision, toGateCall({ ...call, args }, config, options));
      if (genuine.verdict === 'review') return gate.resolveReview(genuine, answers[i] as HumanAnswer);
      // The gate now decides the call itself: its deny stands; its allow runs only what the human approved as asked.
      if (!isAllowed(genuine) || humanDecisionOf(answers[i])?.type === 'approve') return genuine;
      return refused(genuine, ErrorCodes.DENIED, 'the human did not approve this call as asked, and the gate no longer holds it for review; denied — let the model ask again');
    }),
  );

  const editedArgs = new Map<string, Record<string, unknown>>();
  waiting.forEach(({ call }, i) => {
    const decision = resolved[i]!;
    decisions[call.id] = decision;
    if (isAllowed(decision) && decision.edited) editedArgs.set(call.id, decision.args as Record<string, unknown>);
  });
  // As humanInTheLoopMiddleware: the edited call replaces the original in the AIMessage (same id),
  // so the model's history shows what ran; wrapToolCall runs exactly the edited args.
  const rewritten = editedArgs.size > 0 ? withEditedArgs(lastAIMessage(messages), editedArgs) : undefined;
  return rewritten ? { toolgateDecisions: decisions, messages: [rewritten] } : { toolgateDecisions: decisions };
}
