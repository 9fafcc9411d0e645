import type { Decision, Gate, ToolCall } from '@toolgate/core';
import { ErrorCodes, ToolgateError } from '@toolgate/core';
import type { DecisionPhase, ResolvedOptions, ToolCallInfo } from './options';

const LOG_LIMIT = 1000;

/** State shared by `withGovernance` and `toolApproval` for one gate. */
interface GateState {
  /**
   * One Decision per tool call per step: the SDK hands the same `messages` array to
   * onInputAvailable, needsApproval / toolApproval and execute of a step, so keying by it
   * scopes the cache to that step (tool call ids alone repeat across runs).
   */
  steps: WeakMap<object, Map<string, StepEntry>>;
  /** Latest Decision per toolCallId, bounded. */
  log: Map<string, Decision>;
  /**
   * A live iterator over `log`'s keys, oldest first: evicting with a fresh `log.keys().next()`
   * skips every entry deleted before it (V8 keeps them as holes until the table is rebuilt), so
   * at the bound each record walked up to a thousand holes.
   */
  oldest: Iterator<string> | undefined;
}

/** A review asked in a step: the input object it was asked for, and its Decision. */
interface StepEntry {
  input: unknown;
  pending: Promise<Decision>;
}

const states = new WeakMap<Gate, GateState>();

function stateOf(gate: Gate): GateState {
  let s = states.get(gate);
  if (!s) {
    s = { steps: new WeakMap(), log: new Map(), oldest: undefined };
    states.set(gate, s);
  }
  return s;
}

/** Builds the gate's ToolCall for an AI SDK tool call. */
export function toToolCall(info: ToolCallInfo, options: ResolvedOptions): ToolCall {
  const call: ToolCall = { tool: info.toolName, args: info.input ?? {}, callId: info.toolCallId };
  const details = options.call(info);
  if (details?.runId !== undefined) call.runId = details.runId;
  if (details?.agent !== undefined) call.agent = details.agent;
  if (details?.context !== undefined) call.context = details.context;
  return call;
}

/** A gate that throws (it should not) is a closed door, not a crash of the run. */
function gateErrorDecision(call: ToolCall, error: unknown): Decision {
  const code = error instanceof ToolgateError ? error.code : ErrorCodes.REVIEWER_FAILED;
  const message = error instanceof Error ? error.message : String(error);
  const d: Decision = {
    verdict: 'deny',
    reason: `the gate failed (${message}); denied`,
    conditions: [],
    evaluated: [],
    source: 'fail_closed',
    tool: call.tool,
    digest: '',
    latencyMs: 0,
    error: { code, message },
  };
  if (call.callId !== undefined) d.callId = call.callId;
  return d;
}

/**
 * Asks the gate once per tool call per step; later phases of the same step get the same Decision.
 * A call is the same when its tool call id, tool name and input are: the SDK hands every phase of
 * a step the same input object, so that is compared first, and the input's JSON only when it is
 * another object (what the body runs is `decision.args`, the reviewed copy, either way).
 */
export function decideOnce(gate: Gate, options: ResolvedOptions, info: ToolCallInfo, signal?: AbortSignal): Promise<Decision> {
  const state = stateOf(gate);
  const stepKey = Array.isArray(info.messages) ? info.messages : undefined;
  const perStep = stepKey ? state.steps.get(stepKey) : undefined;
  const id = `${info.toolCallId}\u0000${info.toolName}`;
  let key = id;
  if (perStep) {
    const first = perStep.get(id);
    if (first && first.input === info.input) return first.pending;
    if (first) {
      const json = JSON.stringify(info.input) ?? '';
      if (json === (JSON.stringify(first.input) ?? '')) return first.pending;
      key = `${id}\u0000${json}`;
      const hit = perStep.get(key);
      if (hit) return hit.pending;
    }
  }
  const call = toToolCall(info, options);
  let pending: Promise<Decision>;
  try {
    pending = gate.review(call, signal ? { signal } : undefined).then(undefined, (error: unknown) => gateErrorDecision(call, error));
  } catch (error) {
    pending = Promise.resolve(gateErrorDecision(call, error));
  }
  if (stepKey) {
    const map = perStep ?? new Map<string, StepEntry>();
    map.set(key, { input: info.input, pending });
    if (!perStep) state.steps.set(stepKey, map);
  }
  return pending;
}

/** Records a Decision where `decisionsOf` finds it and tells `onDecision`. */
export function recordDecision(gate: Gate, options: ResolvedOptions, toolName: string, toolCallId: string, decision: Decision, phase: DecisionPhase): void {
  const state = stateOf(gate);
  const { log } = state;
  log.delete(toolCallId);
  log.set(toolCallId, decision);
  if (log.size > LOG_LIMIT) {
    let next = (state.oldest ??= log.keys()).next();
    if (next.done) next = (state.oldest = log.keys()).next();
    if (!next.done) log.delete(next.value);
  }
  if (options.onDecision) {
    try {
      options.onDecision({ toolName, toolCallId, decision, phase });
    } catch {
      // onDecision is for observation; it never changes enforcement.
    }
  }
}

const gateOfTools = new WeakMap<object, Gate>();

export function linkTools(tools: object, gate: Gate): void {
  gateOfTools.set(tools, gate);
}

/**
 * The latest Decision per tool call id (bounded to the last 1000 calls) for a tool set returned
 * by `withGovernance`, or for a gate. Read it after `generateText` / `streamText` finishes:
 * `decisionsOf(tools).get(toolCall.toolCallId)`.
 */
export function decisionsOf(toolsOrGate: object): ReadonlyMap<string, Decision> {
  const gate = gateOfTools.get(toolsOrGate) ?? (isGate(toolsOrGate) ? toolsOrGate : undefined);
  if (!gate) return new Map();
  return stateOf(gate).log;
}

function isGate(x: object): x is Gate {
  return typeof (x as Gate).review === 'function' && typeof (x as Gate).isHighStakes === 'function';
}
