import { ToolMessage } from '@langchain/core/messages';
import { Command, task, type LangGraphRunnableConfig } from '@langchain/langgraph';
import { GovernanceDeniedError, isAllowed, type Decision, type Gate, type RedactOptions, type ToolCall } from '@toolgate/core';
import { createMiddleware } from 'langchain';
import { GovernanceState } from '../governance-state';
import type { HitlDecisionType } from '../hitl';
import { allowedDecisionsOption } from '../human-gate-node';
import { assertGate, assertOneOf } from '../options';
import { claimExecution, decidedFor, ErrorCodes, mayBeHighStakes, refused, snapshotArgs } from '../reviewed-args';
import { decisionOfGate, UNVOUCHED } from '../state-decisions';
import { decisionsOf, denialMessage, toGateCall, withEditNotice, type CallBuildOptions, type IdentifiedToolCall } from '../tool-calls';
import { reviewTurn } from './review-turn';

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
  /** The decisions offered in each `reviewConfigs[i].allowedDecisions` (default `approve`, `edit`, `reject`). A decision not offered is a rejection. */
  allowedDecisions?: readonly HitlDecisionType[];
  /** Middleware name (must be unique in the agent). Default `'toolgate'`. */
  name?: string;
}

/**
 * langchain `createAgent` middleware that governs every tool call: reviewed in `afterModel`,
 * enforced in `wrapToolCall`.
 *
 * - Not high-stakes: straight to the tool (no review, no interrupt).
 * - `afterModel` (as `humanInTheLoopMiddleware`, before any tool of the turn runs): every
 *   high-stakes call of the model's turn is reviewed inside a LangGraph `task()`, so when the hook
 *   resumes the checkpointed Decision is replayed: the reviewer is asked once per call. When any
 *   call needs a human, ONE `interrupt()` asks about all of them: a LangChain `HITLRequest` whose
 *   `actionRequests[i]` is the i-th waiting call (plus toolgate's `kind` and `requests`). Answer
 *   with a LangChain `HITLResponse` — `new Command({ resume: { decisions: [d0, d1] } })`, one
 *   decision per action request, in order (what Agent Chat UI sends); a count mismatch rejects
 *   every waiting call — or with toolgate's `{ [tool_call_id]: { approved, reason? } }`. A call
 *   with no answer is rejected. An edit is a new call the gate reviews again; it replaces the
 *   call's args in the AIMessage (as `humanInTheLoopMiddleware` does). The Decisions go to
 *   `state.toolgateDecisions`.
 * - `wrapToolCall` enforces the stored Decision of the call (for this tool and exactly these
 *   args, or the args the human edited): deny / fail-closed / rejected / expired → an error
 *   ToolMessage (`content: denialText`, `artifact: decision`), the tool does not run; allowed →
 *   runs once, with exactly the edited args after an edit (the model is told: `editNotice`), and
 *   the outcome is reported. A high-stakes call with no stored Decision (added after `afterModel`,
 *   e.g. by `graph.updateState` or a middleware listed before this one) is reviewed there; if it
 *   needs a human it is denied (`REVIEW_REQUIRED`) instead of raising an interrupt of its own,
 *   since a second interrupt would be answered by the same plain resume value.
 *
 * Put it FIRST in `middleware` (outermost: its `afterModel` runs last, after every other
 * middleware changed the calls, and its `wrapToolCall` also governs retries) and keep
 * `createAgent`'s default `version: 'v2'`: in `v1` every resume re-runs the tool calls that
 * already finished. Needs a checkpointer and a `thread_id`.
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

  // Checkpointed: replayed, not re-run, when the hook (or tool call) resumes after interrupt().
  const turnReviewTask = task(`${name}_turn_review`, async (call: ToolCall): Promise<Decision> => gate.review(call));
  const lateReviewTask = task(`${name}_review`, async (call: ToolCall): Promise<Decision> => gate.review(call));
  const turn = { gate, review: async (call: ToolCall): Promise<Decision> => await turnReviewTask(call), options, approver, allowed };

  return createMiddleware({
    name,
    stateSchema: GovernanceState,
    afterModel: (state, runtime) => reviewTurn(state, runtime.configurable, turn),
    wrapToolCall: async (request, handler) => {
      // One reading of the call (name, id, args), handed on as such: a name that answers one tool
      // to these checks and another to the tool lookup cannot run the other one unreviewed.
      const call = { ...request.toolCall };
      if (!mayBeHighStakes(gate, call.name)) return handler({ ...request, toolCall: call });
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

      // The Decision afterModel stored for this call (reviewer and human answers included).
      // State is not the gate: an allow stored there counts only as the gate's own copy of it.
      const stored = decisionsOf(request.state)[id];
      const config = { configurable: request.runtime.configurable } as LangGraphRunnableConfig;
      const gateCall = toGateCall({ ...identified, args }, config, options);
      const own = stored && stored.verdict !== 'review' ? await decisionOfGate(gate, stored, { callId: id, runId: gateCall.runId }) : undefined;
      let decision: Decision;
      if (own) {
        decision = own;
      } else {
        decision = await lateReviewTask(gateCall);
        if (decision.verdict === 'review') {
          const why = stored && stored.verdict !== 'review'
            ? `${UNVOUCHED}, and reviewed again it needs a human; denied — give every process the same gate ledger, and keep toolgateDecisions out of what clients can write`
            : 'this call needs a human but was not in the model turn toolgate reviewed (it was added after the afterModel review, e.g. by graph.updateState or a middleware listed before toolgate); denied — put governanceMiddleware first and let the model ask again';
          return deny(refused(decision, ErrorCodes.REVIEW_REQUIRED, why));
        }
      }

      if (!isAllowed(decision)) return deny(decision);
      // The Decision was taken for the call the human saw; state may have been changed since
      // (`graph.updateState`, another node). It holds only for this tool and exactly these args —
      // for an edit, the edited args afterModel wrote into the AIMessage (digest-checked here, so
      // the body gets exactly what the gate reviewed again). An edit whose AIMessage still holds
      // the original call (originalDigest) runs with the edited args the gate returned
      // (`decision.args`, which a checkpoint does not keep: then it is denied, fail closed).
      const original = decision.edited ? { ...decision, digest: decision.edited.originalDigest } : undefined;
      let runArgs: { args: unknown } | undefined;
      if (decidedFor(decision, call.name, args)) runArgs = { args };
      else if (original && decidedFor(original, call.name, args)) runArgs = decision.args === undefined ? undefined : snapshotArgs(decision.args);
      else return deny(refused(decision, ErrorCodes.DENIED, 'the tool call arguments changed after the review: the Decision was given for other arguments (or another tool); denied'));
      if (!runArgs) return deny(refused(decision, ErrorCodes.ARGS_NOT_REVIEWED, 'the edited arguments are not available to run (the AIMessage still holds the original call); denied — ask the human again'));
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
