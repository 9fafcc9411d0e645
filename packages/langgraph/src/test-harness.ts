// Test support shared by this package's tests (not part of the public entry).
import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { fakeModel } from '@langchain/core/testing';
import { Annotation, MemorySaver, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { callbackReviewer, createGate, memoryAudit, type Gate, type ReviewerVerdict, type ReviewRequest } from '@toolgate/core';
import { z } from 'zod';
import { addGovernance } from './add-governance';
import { GovernanceAnnotation } from './governance-state';

export const HIGH_STAKES = ['transfer', 'shell'];

/** shell → deny; transfer > 100 → review; anything else high-stakes → allow. */
export function defaultPolicy(request: ReviewRequest): ReviewerVerdict {
  const args = request.call.args as { amount?: number };
  if (request.call.tool === 'shell') return { verdict: 'deny', reason: 'shell is not allowed in prod' };
  if (request.call.tool === 'transfer' && (args.amount ?? 0) > 100) return { verdict: 'review', reason: 'amount > 100', reviewId: `rev_${request.call.callId}` };
  return { verdict: 'allow', reason: 'within limits' };
}

export interface Harness {
  gate: Gate;
  audit: ReturnType<typeof memoryAudit>;
  /** Every review the reviewer received (not the dry-run re-checks core makes when a human approves at resume). */
  reviewed: ReviewRequest[];
  /** The dry-run re-checks (`request.dryRun`): core decides an approved call again before it runs. */
  rechecked: ReviewRequest[];
  /** Every tool body that ran, e.g. `transfer(5)`. */
  ran: string[];
  tools: ReturnType<typeof makeTools>;
}

export function makeTools(ran: string[]) {
  const transfer = tool(
    async ({ amount }: { amount: number; apiKey?: string }) => {
      ran.push(`transfer(${amount})`);
      return `transferred ${amount}`;
    },
    { name: 'transfer', description: 'Transfer money', schema: z.object({ amount: z.number(), apiKey: z.string().optional() }) },
  );
  const shell = tool(
    async ({ cmd }: { cmd: string }) => {
      ran.push(`shell(${cmd})`);
      return `ran ${cmd}`;
    },
    { name: 'shell', description: 'Run a shell command', schema: z.object({ cmd: z.string() }) },
  );
  const lookup = tool(
    async ({ q }: { q: string }) => {
      ran.push(`lookup(${q})`);
      return `found ${q}`;
    },
    { name: 'lookup', description: 'Look something up', schema: z.object({ q: z.string() }) },
  );
  return [transfer, shell, lookup];
}

export function harness(options: { policy?: (r: ReviewRequest) => ReviewerVerdict; failMode?: 'open' | 'closed'; now?: () => number; reviewTimeoutMs?: number } = {}): Harness {
  const reviewed: ReviewRequest[] = [];
  const rechecked: ReviewRequest[] = [];
  const ran: string[] = [];
  const audit = memoryAudit();
  const policy = options.policy ?? defaultPolicy;
  const gate = createGate({
    reviewer: callbackReviewer((request) => {
      (request.dryRun ? rechecked : reviewed).push(request);
      return policy(request);
    }),
    highStakes: HIGH_STAKES,
    failMode: options.failMode ?? 'closed',
    audit,
    telemetry: false,
    ...(options.now ? { now: options.now } : {}),
    ...(options.reviewTimeoutMs !== undefined ? { reviewTimeoutMs: options.reviewTimeoutMs } : {}),
  });
  return { gate, audit, reviewed, rechecked, ran, tools: makeTools(ran) };
}

export const GovernedState = Annotation.Root({ ...MessagesAnnotation.spec, ...GovernanceAnnotation.spec });

export type ScriptedModel = ReturnType<typeof fakeModel>;

/** A scripted model: first turn makes `calls`, second turn answers with text. */
export function scripted(calls: Array<{ name: string; args: Record<string, unknown>; id: string }>, finalText = 'done'): ScriptedModel {
  return fakeModel().respondWithTools(calls).respond(new AIMessage(finalText));
}

/** agent → governance → human_gate → tools → agent, via addGovernance. */
export function governedGraph(h: Harness, model: ScriptedModel, governance: Parameters<typeof addGovernance>[1]['governance'] = {}) {
  const builder = new StateGraph(GovernedState)
    .addNode('agent', async (state: typeof GovernedState.State) => ({ messages: [await model.invoke(state.messages)] }))
    .addEdge(START, 'agent');
  return addGovernance(builder, { gate: h.gate, tools: h.tools, governance }).compile({ checkpointer: new MemorySaver() });
}

export const human = (text: string) => ({ messages: [new HumanMessage(text)] });
export const threadConfig = (id: string) => ({ configurable: { thread_id: id } });

/** ToolMessages by tool_call_id; throws if any id has more than one. */
export function toolMessagesById(messages: BaseMessage[]): Map<string, ToolMessage> {
  const out = new Map<string, ToolMessage>();
  for (const m of messages) {
    if (!ToolMessage.isInstance(m)) continue;
    if (out.has(m.tool_call_id)) throw new Error(`two ToolMessages for ${m.tool_call_id}`);
    out.set(m.tool_call_id, m);
  }
  return out;
}
