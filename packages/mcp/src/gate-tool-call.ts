import type { AgentInfo, Decision, Gate, HumanAnswer, ToolCall } from '@toolgate/core';
import { GovernanceDeniedError, isAllowed, runGoverned } from '@toolgate/core';
import { CallCancelledError } from './errors';
import { deniedToolResult, withDecisionMeta, type ToolCallResult } from './tool-result';

/** Asks a human about a `review` Decision; `undefined` means nobody could be asked. */
export type AskHuman = (decision: Decision, args: unknown) => Promise<HumanAnswer | undefined>;

export interface GateToolCallInput {
  name: string;
  /** The call's `arguments` (an absent one is reviewed as `{}`, and `{}` is what is forwarded). */
  args: unknown;
  callId: string;
  runId?: string;
  agent?: string | AgentInfo;
  context?: ToolCall['context'];
  signal?: AbortSignal;
  askHuman?: AskHuman;
}

/**
 * Decides one `tools/call`: the gate's review, then — for a `review` verdict — the human, whose
 * answer is recorded with `gate.resolveReview` (audited as a human decision) before anything runs.
 */
export async function decideToolCall(gate: Gate, input: GateToolCallInput): Promise<Decision> {
  const call: ToolCall = {
    tool: input.name,
    args: input.args === undefined ? {} : input.args,
    callId: input.callId,
    ...(input.runId !== undefined ? { runId: input.runId } : {}),
    ...(input.agent !== undefined ? { agent: input.agent } : {}),
    ...(input.context !== undefined ? { context: input.context } : {}),
  };
  const decision = await gate.review(call, input.signal ? { signal: input.signal } : {});
  if (decision.verdict !== 'review' || !input.askHuman) return decision;
  let answer: HumanAnswer | undefined;
  try {
    answer = await input.askHuman(decision, decision.args);
  } catch (error) {
    answer = { approved: false, reason: `asking a human failed: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (answer === undefined) return decision;
  return gate.resolveReview(decision, answer);
}

/**
 * Runs `send` (which forwards the call to the MCP server) only for an allowing Decision, with the
 * reviewed copy of the arguments; every other Decision becomes an `isError` tool result and
 * `send` is never called. The outcome is reported to the gate.
 */
export async function executeDecided(
  gate: Gate,
  decision: Decision,
  frameworkArgs: unknown,
  send: (args: unknown) => Promise<unknown>,
  signal?: AbortSignal,
): Promise<unknown> {
  if (!isAllowed(decision)) return deniedToolResult(decision);
  // Cancelled while it was being reviewed: a (possibly fail-open) allow must not send it anyway.
  if (signal?.aborted) throw new CallCancelledError(decision.tool, signal.reason);
  try {
    const result = await runGoverned(gate, decision, (args) => send(args), frameworkArgs === undefined ? {} : frameworkArgs);
    return withDecisionMeta(result, decision);
  } catch (error) {
    // runGoverned refused to run the body (already executed, arguments not reviewed).
    if (error instanceof GovernanceDeniedError) return deniedToolResult(error.decision);
    if (error instanceof Error && (error as { code?: unknown }).code === 'ARGS_NOT_REVIEWED') {
      return deniedToolResult(decision, ` — not forwarded: ${error.message}`);
    }
    throw error;
  }
}

export type { ToolCallResult };
