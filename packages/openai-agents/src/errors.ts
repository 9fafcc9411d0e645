import { GovernanceDeniedError, ToolgateError } from '@toolgate/core';

/** Error codes this adapter adds to core's. */
export const AgentsErrorCodes = {
  /** A high-stakes tool runs at OpenAI (hosted) and cannot be gated before it runs. */
  HOSTED_TOOL_UNGATEABLE: 'HOSTED_TOOL_UNGATEABLE',
  /** `governAgent` / `governTool` on an object another gate already governs. */
  ALREADY_GOVERNED: 'ALREADY_GOVERNED',
  /** A call the gate sent for review ran into an SDK approval no human gave to it (e.g. `alwaysApprove`). */
  HUMAN_ANSWER_MISSING: 'HUMAN_ANSWER_MISSING',
  /** An `approveWithEdits` answer for a call that was not awaiting a review (nothing ran, neither the original nor the edit). */
  EDIT_NOT_APPLIED: 'EDIT_NOT_APPLIED',
  /** `resumeAnswers: 'paused-here'`: a human answer read back from a RunState for a call these hooks did not pause in this process (nothing ran). */
  ANSWER_NOT_PAUSED_HERE: 'ANSWER_NOT_PAUSED_HERE',
} as const;

/**
 * `governAgent(x, gateB)` / `governTool(x, gateB)` on an object that `gateA` already governs. An
 * object has one gate of its own, for every run; to decide per run (per request, per tenant),
 * leave the object alone and attach the gate to the runner: `new GovernanceHooks(gate).attach(runner)`.
 */
export class AlreadyGovernedError extends ToolgateError {
  constructor(label: string) {
    super(
      AgentsErrorCodes.ALREADY_GOVERNED,
      `toolgate: ${label} is already governed by another gate (governAgent/governTool govern an object for every run, with one gate). ` +
        'To use a different gate per run or per request, attach it to the runner instead: new GovernanceHooks(gate).attach(runner).',
    );
  }
}

/**
 * A high-stakes tool that toolgate cannot stop before it runs: a hosted tool (web search, file
 * search, code interpreter, image generation, hosted MCP, hosted shell) or a computer tool.
 * Thrown by `governAgent`, `governTool` and by `runner.run` of an attached runner, before
 * anything runs. Opt out with `allowHostedTools: 'warn'`.
 */
export class UngateableToolError extends ToolgateError {
  /** The tool's name. */
  readonly tool: string;
  /** The agent that carries it, when known. */
  readonly agent?: string;
  constructor(tool: string, kind: string, agent?: string) {
    super(
      AgentsErrorCodes.HOSTED_TOOL_UNGATEABLE,
      `toolgate: "${tool}"${agent ? ` on agent "${agent}"` : ''} is high-stakes but is a ${kind}, which ` +
        'toolgate cannot stop before it runs. Remove it from the agent, take it off the HIGH_STAKES ' +
        "list, or pass { allowHostedTools: 'warn' } to run it ungated with a warning.",
    );
    this.tool = tool;
    if (agent !== undefined) this.agent = agent;
  }
}

/**
 * The GovernanceDeniedError behind a run that aborted because of `onDeny: 'throw'`. The SDK wraps
 * what a tool guardrail throws in a `ToolCallError` (`.error` is the original); this unwraps it.
 * Returns undefined for any other error.
 */
export function governanceErrorFrom(error: unknown): GovernanceDeniedError | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e; depth++) {
    if (e instanceof GovernanceDeniedError) return e;
    const next = (e as { error?: unknown; cause?: unknown }).error ?? (e as { cause?: unknown }).cause;
    if (next === e) break;
    e = next;
  }
  return undefined;
}
