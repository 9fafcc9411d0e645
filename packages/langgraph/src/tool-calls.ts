import { AIMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import type { ToolCall as LcToolCall } from '@langchain/core/messages/tool';
import type { LangGraphRunnableConfig } from '@langchain/langgraph';
import { denialText, editNotice, type Decision, type ToolCall } from '@toolgate/core';
import type { DecisionMap } from './governance-state';

/** A LangChain tool call that has an id (every call toolgate governs has one). */
export type IdentifiedToolCall = LcToolCall & { id: string };

/** The most recent AIMessage in `messages`. */
export function lastAIMessage(messages: ReadonlyArray<BaseMessage>): AIMessage | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m && AIMessage.isInstance(m)) return m;
  }
  return undefined;
}

/** Ids of tool calls that already have a ToolMessage. */
export function answeredIds(messages: ReadonlyArray<BaseMessage>): Set<string> {
  const ids = new Set<string>();
  for (const m of messages) if (ToolMessage.isInstance(m)) ids.add(m.tool_call_id);
  return ids;
}

/** Tool calls of the last AIMessage that have an id and no ToolMessage yet. */
export function unansweredCalls(messages: ReadonlyArray<BaseMessage>): IdentifiedToolCall[] {
  const calls = lastAIMessage(messages)?.tool_calls ?? [];
  if (calls.length === 0) return [];
  const answered = answeredIds(messages);
  return calls.filter((c): c is IdentifiedToolCall => typeof c.id === 'string' && c.id.length > 0 && !answered.has(c.id));
}

/** The thread id of a run, the stable `runId` for reviews (so a resumed thread reaches the same review). */
export function threadIdOf(config: LangGraphRunnableConfig | undefined): string | undefined {
  const id: unknown = config?.configurable?.thread_id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

/** Options shared by every entry point that builds a gate ToolCall. */
export interface CallBuildOptions {
  /** The agent making the calls (default: the gate's `agent`). */
  agent?: ToolCall['agent'];
  /** Extra context for the reviewer (task, reversibility, …), per call. */
  context?: ToolCall['context'] | ((call: IdentifiedToolCall) => ToolCall['context'] | undefined);
  /** Overrides the runId (default: the run's `thread_id`). */
  runId?: (config: LangGraphRunnableConfig | undefined) => string | undefined;
}

/** Builds the gate's ToolCall for a LangChain tool call: callId = tool_call_id, runId = thread_id. */
export function toGateCall(call: IdentifiedToolCall, config: LangGraphRunnableConfig | undefined, options: CallBuildOptions): ToolCall {
  const gateCall: ToolCall = { tool: call.name, args: call.args ?? {}, callId: call.id };
  const runId = options.runId ? options.runId(config) : threadIdOf(config);
  if (runId !== undefined) gateCall.runId = runId;
  if (options.agent !== undefined) gateCall.agent = options.agent;
  const context = typeof options.context === 'function' ? options.context(call) : options.context;
  if (context !== undefined) gateCall.context = context;
  return gateCall;
}

/** The model-facing ToolMessage for a call that did not run; the Decision rides along as `artifact`. */
export function denialMessage(call: Pick<LcToolCall, 'name'> & { id: string }, decision: Decision): ToolMessage {
  return new ToolMessage({
    tool_call_id: call.id,
    name: call.name,
    status: 'error',
    content: denialText(decision),
    artifact: decision,
  });
}

/** The Decisions map from any state-like value (a missing channel reads as empty). */
export function decisionsOf(state: unknown): DecisionMap {
  const d = (state as { toolgateDecisions?: unknown } | null | undefined)?.toolgateDecisions;
  return typeof d === 'object' && d !== null ? (d as DecisionMap) : {};
}

/** The messages of a state-like value. */
export function messagesOf(state: unknown): BaseMessage[] {
  if (Array.isArray(state)) return state as BaseMessage[];
  const m = (state as { messages?: unknown } | null | undefined)?.messages;
  return Array.isArray(m) ? (m as BaseMessage[]) : [];
}

/**
 * The tool's ToolMessage with core's `editNotice` appended when the call ran with arguments a
 * human edited ("The call ran with edited arguments: {…}. Do not repeat the original call."), so
 * the model's next turn does not repeat the original call. Anything else is returned as it is.
 */
export function withEditNotice<R>(result: R, decision: Decision): R {
  const notice = editNotice(decision);
  if (!notice || !ToolMessage.isInstance(result)) return result;
  const content = result.content;
  const next =
    typeof content === 'string'
      ? `${content}\n\n${notice}`
      : [...content, { type: 'text' as const, text: notice }];
  return new ToolMessage({
    tool_call_id: result.tool_call_id,
    ...(result.name !== undefined ? { name: result.name } : {}),
    ...(result.id !== undefined ? { id: result.id } : {}),
    status: result.status ?? 'success',
    content: next as ToolMessage['content'],
    artifact: result.artifact,
    additional_kwargs: result.additional_kwargs,
    response_metadata: result.response_metadata,
  }) as R;
}
