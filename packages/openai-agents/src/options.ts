import { OptionsError, type CallContext } from '@toolgate/core';
import type { RunContext } from '@openai/agents';

/** Options of `GovernanceHooks`, `governAgent` and `governTool`. Validated once, at construction. */
export interface GovernanceOptions<TContext = unknown> {
  /**
   * What a deny (or a fail-closed) does. `'message'` (default): the tool does not run, the model
   * receives the denial text as the tool result and the run continues. `'throw'`: the run aborts;
   * `runner.run` rejects with the SDK's `ToolCallError` whose `.error` is a `GovernanceDeniedError`
   * (unwrap with `governanceErrorFrom(err)`).
   */
  onDeny?: 'message' | 'throw';
  /**
   * A high-stakes hosted tool (runs at OpenAI, cannot be gated). `'refuse'` (default) throws
   * `UngateableToolError` (code `HOSTED_TOOL_UNGATEABLE`); `'warn'` lets it run ungated and warns.
   */
  allowHostedTools?: 'refuse' | 'warn';
  /** Where warnings go. Default `console.warn`. */
  onWarning?: (message: string) => void;
  /** A stable id for the run (e.g. a conversation id from your context): makes reviews idempotent across processes. */
  runId?: (runContext: RunContext<TContext>) => string | undefined;
  /** Extra context for the reviewer (task, reversibility, change request…) per call. */
  context?: (runContext: RunContext<TContext>, call: { tool: string; args: unknown; callId?: string }) => CallContext | undefined;
  /** Who is recorded as the approver of a `state.approve()` / `state.reject()`. Default `'human'`. */
  approver?: string | ((runContext: RunContext<TContext>) => string | undefined);
  /** Add a `toolgate.review` custom span per gated call to the SDK's trace. Default true. */
  traceSpans?: boolean;
  /**
   * Which human answers (`state.approve`, `state.reject`, `approveWithEdits`) read back from a
   * resumed RunState count. `'any'` (default): an answer counts for the call in the RunState's
   * interruptions — refused only when this process showed that call id to a human with other
   * arguments or under another run id; a RunState saved in another process resumes. `'paused-here'`:
   * an answer counts only for a call these hooks paused for a human in this process (same tool,
   * call id, run id and arguments); any other answered call is denied (`fail_closed`,
   * `ANSWER_NOT_PAUSED_HERE`) and never runs — this also stops a client-held string whose call id
   * was renamed. For single-process apps, or sticky sessions that resume where they paused.
   */
  resumeAnswers?: 'any' | 'paused-here';
}

export interface ResolvedOptions {
  onDeny: 'message' | 'throw';
  allowHostedTools: 'refuse' | 'warn';
  onWarning: (message: string) => void;
  runId: ((runContext: RunContext<unknown>) => string | undefined) | undefined;
  context: GovernanceOptions['context'];
  approver: GovernanceOptions['approver'];
  traceSpans: boolean;
  resumeAnswers: 'any' | 'paused-here';
}

const KNOWN = new Set(['onDeny', 'allowHostedTools', 'onWarning', 'runId', 'context', 'approver', 'traceSpans', 'resumeAnswers']);

/** Checks options once and fills defaults; throws OptionsError that says what to change. */
export function resolveOptions<TContext>(options: GovernanceOptions<TContext> | undefined, where: string): ResolvedOptions {
  const o = (options ?? {}) as GovernanceOptions<unknown>;
  if (typeof o !== 'object' || o === null) throw new OptionsError(`${where}: options must be an object`);
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw new OptionsError(`${where}: unknown option "${key}" (known: ${[...KNOWN].join(', ')})`);
  }
  if (o.onDeny !== undefined && o.onDeny !== 'message' && o.onDeny !== 'throw') {
    throw new OptionsError(`${where}: onDeny must be 'message' or 'throw', got ${JSON.stringify(o.onDeny)}`);
  }
  if (o.allowHostedTools !== undefined && o.allowHostedTools !== 'refuse' && o.allowHostedTools !== 'warn') {
    throw new OptionsError(`${where}: allowHostedTools must be 'refuse' or 'warn', got ${JSON.stringify(o.allowHostedTools)}`);
  }
  for (const fn of ['onWarning', 'runId', 'context'] as const) {
    if (o[fn] !== undefined && typeof o[fn] !== 'function') throw new OptionsError(`${where}: ${fn} must be a function`);
  }
  if (o.approver !== undefined && typeof o.approver !== 'string' && typeof o.approver !== 'function') {
    throw new OptionsError(`${where}: approver must be a string or a function of the run context`);
  }
  if (o.traceSpans !== undefined && typeof o.traceSpans !== 'boolean') throw new OptionsError(`${where}: traceSpans must be a boolean`);
  if (o.resumeAnswers !== undefined && o.resumeAnswers !== 'any' && o.resumeAnswers !== 'paused-here') {
    throw new OptionsError(`${where}: resumeAnswers must be 'any' or 'paused-here', got ${JSON.stringify(o.resumeAnswers)}`);
  }
  return {
    onDeny: o.onDeny ?? 'message',
    allowHostedTools: o.allowHostedTools ?? 'refuse',
    onWarning: o.onWarning ?? ((m) => console.warn(m)),
    runId: o.runId,
    context: o.context,
    approver: o.approver,
    traceSpans: o.traceSpans ?? true,
    resumeAnswers: o.resumeAnswers ?? 'any',
  };
}
