import type { Gate } from '@toolgate/core';
import { GovernanceDeniedError, OptionsError, denialText, isAllowed } from '@toolgate/core';
import type { ModelMessage } from 'ai';
import { findApproval } from './approvals';
import { decideOnce, recordDecision } from './gate-state';
import { ownNeedsApproval, type LooseTool } from './loose-tool';
import { resolveOptions, type GovernanceOptions } from './options';
import { warnSecretProblem } from './secret-warning';

/** What ai@7 passes to a generic `toolApproval` function (the fields used here). */
export interface ToolApprovalRequestInfo {
  toolCall: { toolName: string; toolCallId: string; input: unknown };
  tools?: unknown;
  toolsContext?: unknown;
  messages: ModelMessage[];
}

/** The statuses this function returns; a subset of ai@7's `ToolApprovalStatus`. */
export type GovernedApprovalStatus =
  | 'not-applicable'
  | 'user-approval'
  | { type: 'user-approval'; reason: string }
  | { type: 'denied'; reason: string };

/**
 * A generic `toolApproval` function for ai@7 `generateText` / `streamText` / `ToolLoopAgent`.
 * A call's `review` verdict becomes a `user-approval` (the run pauses with a
 * `tool-approval-request` whose reason the approver sees); a deny becomes the SDK's own
 * `denied` status (the model gets `execution-denied`, the stream a `tool-output-denied` part).
 * Tools that are not high-stakes keep their own `needsApproval`. This is the native UI of the
 * decision; enforcement stays in `withGovernance`'s execute, which you still need.
 *
 * Pass it whenever you pass a `toolApproval` at all: any caller `toolApproval` makes ai@7 ignore
 * the tools' `needsApproval`, so reviews would be denied instead of paused.
 *
 * @example
 * const options = { approvalSecret: SECRET };
 * const tools = withGovernance({ transfer }, gate, options);
 * await generateText({ model, tools, toolApproval: toolApproval(gate, options),
 *   experimental_toolApprovalSecret: SECRET, prompt });
 */
export function toolApproval(gate: Gate, options?: GovernanceOptions): (request: ToolApprovalRequestInfo) => Promise<GovernedApprovalStatus> {
  if (!gate || typeof gate.review !== 'function' || typeof gate.isHighStakes !== 'function') {
    throw new OptionsError('toolApproval(gate): gate must come from createGate() in @toolgate/core');
  }
  const o = resolveOptions(options, 'toolApproval');
  return async function governedToolApproval({ toolCall, tools, toolsContext, messages }) {
    const { toolName, toolCallId, input } = toolCall;
    const tool = (tools as Record<string, LooseTool> | undefined)?.[toolName];
    // Re-validation of an approval continuation: anything but 'denied' lets it through to execute,
    // which verifies the approval's signature and asks the gate again.
    if (findApproval(messages, toolCallId)) return 'user-approval';
    const ownOptions = { toolCallId, messages, context: (toolsContext as Record<string, unknown> | undefined)?.[toolName] };
    if (!gate.isHighStakes(toolName, input)) {
      return (await ownNeedsApproval(tool, input, ownOptions)) ? 'user-approval' : 'not-applicable';
    }
    const decision = await decideOnce(gate, o, { toolName, toolCallId, input, messages });
    if (decision.verdict === 'review') {
      recordDecision(gate, o, toolName, toolCallId, decision, 'approval');
      if (o.approvalSecret === undefined) warnSecretProblem(gate, 'no-secret');
      return { type: 'user-approval', reason: denialText(decision) };
    }
    if (!isAllowed(decision)) {
      if (o.onDeny === 'throw') return 'not-applicable'; // execute throws GovernanceDeniedError
      recordDecision(gate, o, toolName, toolCallId, decision, 'approval');
      if (o.onDeny === 'abort') throw new GovernanceDeniedError(decision); // rejects the whole call
      return { type: 'denied', reason: denialText(decision) };
    }
    // Allowed: the tool's own approval rule (a governed tool's needsApproval answers from the same Decision).
    return (await ownNeedsApproval(tool, input, ownOptions)) ? 'user-approval' : 'not-applicable';
  };
}
