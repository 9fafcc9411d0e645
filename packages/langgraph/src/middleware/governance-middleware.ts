import { ToolMessage } from '@langchain/core/messages';
import { Command, interrupt, task, type LangGraphRunnableConfig } from '@langchain/langgraph';
import { GovernanceDeniedError, isAllowed, type Decision, type Gate, type RedactOptions, type ToolCall } from '@toolgate/core';
import { createMiddleware } from 'langchain';
import { GovernanceState } from '../governance-state';
import { answersFromResume, type HitlDecisionType } from '../hitl';
import { allowedDecisionsOption, reviewInterrupt, type HumanReviewInterrupt } from '../human-gate-node';
import { assertGate, assertOneOf } from '../options';
import { claimExecution, decidedFor, ErrorCodes, mayBeHighStakes, refused, snapshotArgs } from '../reviewed-args';
import { denialMessage, toGateCall, withEditNotice, type CallBuildOptions, type IdentifiedToolCall } from '../tool-calls';

/** Options of `governanceMiddleware`. */
export interface GovernanceMiddlewareOptions extends CallBuildOptions {
  /**
   * What a deny (including fail-closed and a human rejection) does: `'message'` (default) answers
   * the call with an error ToolMessage and the agent continues; `'throw'` fails the run (langchain
   * wraps the error: `error.cause` is the `GovernanceDeniedError`).
   */
  onDeny?: 'message' | 'throw';
  /** Extra secret keys and paths to redact from the args shown to the human. */
  redact?: RedactOptions;
  /** Approver recorded when an answer names none. Default `'human'`. */
  approver?: string;
  /** The decisions offered in `reviewConfigs[0].allowedDecisions` (default `approve`, `edit`, `reject`). A decision not offered is a rejection. */
  allowedDecisions?: readonly HitlDecisionType[];
  /** Middleware name (must be unique in the agent). Default `'toolgate'`. */
  name?: string;
}

/**
 * langchain `createAgent` middleware that governs every tool call in `wrapToolCall`.
 *
 * - Not high-stakes: straight to the tool.
 * - The review runs inside a LangGraph `task()`, so when a paused tool call is resumed (its
 *   task re-runs from the top) the checkpointed Decision is replayed: the reviewer is asked once.
 * - deny / fail-closed: an error ToolMessage (`content: denialText`, `artifact: decision`); the
 *   tool does not run.
 * - review: one `interrupt()` per call whose value is a LangChain `HITLRequest` with one action
 *   request (plus toolgate's `kind` and `requests`). Answer it with a LangChain `HITLResponse`
 *   (`{ decisions: [{ type: 'approve' | 'edit' | 'reject', … }] }`): with several calls waiting,
 *   address each interrupt by its id (`new Command({ resume: { [interrupt.id]: { decisions: [d] } } })`),
 *   because a plain resume value reaches every pending interrupt. Or answer them all at once with
 *   toolgate's `new Command({ resume: { [tool_call_id]: { approved, reason? } } })`. A call with no
 *   answer is rejected. An edit is a new call the gate reviews again; the tool runs with exactly
 *   the edited args and the model is told so (`editNotice`).
 * - allowed: runs the tool, reports the outcome, and writes the Decision to
 *   `state.toolgateDecisions[tool_call_id]` next to the ToolMessage.
 *
 * Put it FIRST in `middleware` (outermost, so it also governs retries) and keep `createAgent`'s
 * default `version: 'v2'`: in `v1` every resume re-runs the tool calls that already finished.
 * Needs a checkpointer and a `thread_id`.
 *
 * @example
 * const agent = createAgent({ model, tools, middleware: [governanceMiddleware(gate)], checkpointer: new MemorySaver() });
 */
export function governanceMiddleware(gate: Gate, options: GovernanceMiddlewareOptions = {}) {
  assertGate(gate, 'governanceMiddleware');
  assertOneOf(options.onDeny, ['message', 'throw'], 'onDeny', 'governanceMiddleware');
  const onDeny = options.onDeny ?? 'message';
  const approver = options.approver ?? 'human';
  const name = options.name ?? 'toolgate';
  const allowed = allowedDecisionsOption(options.allowedDecisions, 'governanceMiddleware');

  // Checkpointed per tool-call task: replayed, not re-run, when the task resumes after interrupt().
  const reviewTask = task(`${name}_review`, async (call: ToolCall): Promise<Decision> => gate.review(call));

  return createMiddleware({
    name,
    stateSchema: GovernanceState,
    wrapToolCall: async (request, handler) => {
      const call = request.toolCall;
      if (!mayBeHighStakes(gate, call.name)) return handler(request);
      const id = call.id ?? '';
      const identified: IdentifiedToolCall = { ...call, id };
      const deny = (decision: Decision) => {
        if (onDeny === 'throw') throw new GovernanceDeniedError(decision);
        return record(denialMessage(identified, decision), id, decision);
      };
      // One frozen copy of the arguments: judged, reviewed, digest-checked and run. The message's
      // args object is never read again, so nothing done to it afterwards reaches the body.
      const snapshot = snapshotArgs(call.args);
      if (!snapshot) {
        return deny(refused({ tool: call.name, callId: id }, ErrorCodes.ARGS_NOT_JSON, 'the tool call arguments are not JSON, so they cannot be reviewed'));
      }
      const args = snapshot.args as typeof call.args;
      if (!gate.isHighStakes(call.name, args)) return handler({ ...request, toolCall: { ...call, args } });
      const config = { configurable: request.runtime.configurable } as LangGraphRunnableConfig;

      let decision = await reviewTask(toGateCall({ ...identified, args }, config, options));
      if (decision.verdict === 'review') {
        const waiting = [{ id, decision, args }];
        const resume: unknown = interrupt<HumanReviewInterrupt, unknown>(reviewInterrupt(waiting, options.redact, allowed));
        const [answer] = answersFromResume(resume, waiting, approver, allowed);
        decision = await gate.resolveReview(decision, answer!);
      }

      if (!isAllowed(decision)) return deny(decision);
      // On a resume the review is replayed from the checkpoint while the call comes from state,
      // which `graph.updateState` (or another node) may have changed since the human looked. An
      // edited Decision was taken for the call the human saw (its originalDigest) and runs with
      // exactly the edited args the gate reviewed again (decision.args).
      const asked = decision.edited ? { ...decision, digest: decision.edited.originalDigest } : decision;
      if (!decidedFor(asked, call.name, args)) {
        return deny(refused(decision, ErrorCodes.DENIED, 'the tool call arguments changed after the review (the Decision is for a different tool or different arguments); denied'));
      }
      const runArgs = decision.edited ? snapshotArgs(decision.args) : { args };
      if (!runArgs) return deny(refused(decision, ErrorCodes.ARGS_NOT_JSON, 'the edited arguments are not JSON; denied'));
      const reviewed = { ...request, toolCall: { ...call, args: runArgs.args as typeof call.args } };
      const claimRefused = await claimExecution(gate, decision);
      if (claimRefused) return deny(claimRefused);

      const started = performance.now();
      let result: ToolMessage | Command;
      try {
        result = await handler(reviewed);
      } catch (error) {
        void gate.reportOutcome(decision, { status: 'error', message: error instanceof Error ? error.message : String(error), durationMs: performance.now() - started });
        throw error;
      }
      const failed = ToolMessage.isInstance(result) && result.status === 'error';
      void gate.reportOutcome(decision, {
        status: failed ? 'error' : 'success',
        durationMs: performance.now() - started,
        ...(failed && ToolMessage.isInstance(result) ? { message: typeof result.content === 'string' ? result.content : JSON.stringify(result.content) } : {}),
      });
      return ToolMessage.isInstance(result) ? record(failed ? result : withEditNotice(result, decision), id, decision) : result;
    },
  });
}

/** The ToolMessage plus the Decision in state, as one update. */
function record(message: ToolMessage, id: string, decision: Decision): Command {
  return new Command({ update: { messages: [message], toolgateDecisions: { [id]: decision } } });
}
