import type { AgentInfo, CallContext, Decision } from '@toolgate/core';
import { OptionsError } from '@toolgate/core';
import type { ModelMessage } from 'ai';

/** What the adapter knows about a tool call when it builds the gate's ToolCall. */
export interface ToolCallInfo {
  toolName: string;
  toolCallId: string;
  input: unknown;
  messages: ModelMessage[];
}

/** Extra fields for the gate's ToolCall: run id, agent, context. */
export interface CallDetails {
  /** Scopes idempotency keys: give each conversation/run its own id when tool call ids may repeat. */
  runId?: string;
  agent?: string | AgentInfo;
  context?: CallContext;
}

/** Where a Decision was taken. */
export type DecisionPhase = 'input' | 'approval' | 'execute';

/** Passed to `onDecision` once per Decision. */
export interface DecisionEvent {
  toolName: string;
  toolCallId: string;
  decision: Decision;
  /**
   * `input` (onInputAvailable, onDeny 'abort'), `approval` (needsApproval / toolApproval), or
   * `execute` (inside the tool's execute — the AI SDK's tool span is the active OTel span here).
   */
  phase: DecisionPhase;
}

/** Options shared by `withGovernance` and `toolApproval`. Pass the same object to both. */
export interface GovernanceOptions {
  /**
   * What a denied (or fail-closed) call does:
   * - `'return'` (default): the model receives the SDK's own `execution-denied` tool output with
   *   `denialText(decision)` as reason; the run continues.
   * - `'throw'`: the tool throws `GovernanceDeniedError`; the SDK turns it into a `tool-error`
   *   part and the model receives `error-text`; the run continues.
   * - `'abort'`: `GovernanceDeniedError` is thrown from the tool's `onInputAvailable` (before any
   *   tool of the step runs), which rejects `generateText` and errors `streamText`. On an approval
   *   continuation the SDK skips `onInputAvailable`; there a deny falls back to `'throw'`.
   */
  onDeny?: 'return' | 'throw' | 'abort';
  /**
   * The secret passed to `generateText({ experimental_toolApprovalSecret })`. A human approval
   * found in `messages` lets a `review` call run only when its `tool-approval-request` carries a
   * valid HMAC signature over (approvalId, toolCallId, toolName, input) under this secret.
   * Without it, approvals given through the SDK are never trusted (the call stays denied).
   */
  approvalSecret?: string | Uint8Array;
  /** Run id, agent and context for the gate's ToolCall: fixed, or computed per call. */
  call?: CallDetails | ((info: ToolCallInfo) => CallDetails | undefined);
  /**
   * Which tools `withGovernance` wraps: `'matching'` (default) those for which
   * `gate.isHighStakes(name)` is true; `'all'` every tool with an `execute` (use it when the
   * high-stakes spec has `{ tool, when(args) }` predicates that only match some arguments).
   */
  govern?: 'matching' | 'all';
  /** Called once per Decision (see DecisionEvent.phase). Errors thrown here are ignored. */
  onDecision?: (event: DecisionEvent) => void;
  /**
   * Who answers the approvals of this call: your authenticated user, recorded by the gate as the
   * approver of an approval or edit given through the SDK (the audit record's `approver`,
   * `decidedBy: 'human:<approver>'`). The SDK's approval response carries no identity, and the
   * client's word is not one; without this option the approver is `human`.
   */
  approver?: string | ((info: ToolCallInfo) => string | undefined);
}

export interface ResolvedOptions {
  onDeny: 'return' | 'throw' | 'abort';
  approvalSecret: string | Uint8Array | undefined;
  call: (info: ToolCallInfo) => CallDetails | undefined;
  govern: 'matching' | 'all';
  onDecision: ((event: DecisionEvent) => void) | undefined;
  approver: (info: ToolCallInfo) => string | undefined;
}

const ON_DENY = new Set(['return', 'throw', 'abort']);

/** Validates options once, with a message that says what to do. */
export function resolveOptions(options: GovernanceOptions | undefined, where: string): ResolvedOptions {
  const o = options ?? {};
  if (typeof o !== 'object') throw new OptionsError(`${where}: options must be an object`);
  const onDeny = o.onDeny ?? 'return';
  if (!ON_DENY.has(onDeny)) {
    throw new OptionsError(`${where}: onDeny must be 'return', 'throw' or 'abort' (got ${JSON.stringify(onDeny)})`);
  }
  const secret = o.approvalSecret;
  if (secret !== undefined && !(typeof secret === 'string' || secret instanceof Uint8Array)) {
    throw new OptionsError(`${where}: approvalSecret must be a string or Uint8Array — the same value you pass to generateText({ experimental_toolApprovalSecret })`);
  }
  if (secret !== undefined && secret.length < 16) {
    throw new OptionsError(`${where}: approvalSecret is too short (${secret.length}); use at least 32 random bytes, e.g. crypto.randomBytes(32).toString('base64url')`);
  }
  const govern = o.govern ?? 'matching';
  if (govern !== 'matching' && govern !== 'all') {
    throw new OptionsError(`${where}: govern must be 'matching' or 'all' (got ${JSON.stringify(govern)})`);
  }
  if (o.onDecision !== undefined && typeof o.onDecision !== 'function') {
    throw new OptionsError(`${where}: onDecision must be a function`);
  }
  const approver = o.approver;
  if (approver !== undefined && typeof approver !== 'function' && (typeof approver !== 'string' || approver.length === 0)) {
    throw new OptionsError(`${where}: approver must be a non-empty string (your authenticated user) or a function returning one`);
  }
  const call = o.call;
  if (call !== undefined && typeof call !== 'function' && (typeof call !== 'object' || call === null)) {
    throw new OptionsError(`${where}: call must be { runId?, agent?, context? } or a function returning one`);
  }
  return {
    onDeny,
    approvalSecret: secret,
    call: typeof call === 'function' ? call : () => call,
    govern,
    onDecision: o.onDecision,
    approver: typeof approver === 'function' ? approver : () => approver,
  };
}
