// Test support for the human-loop tests (not part of the public entry).
import { ToolMessage, type BaseMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { MemorySaver, START, StateGraph } from '@langchain/langgraph';
import type { ReviewerVerdict, ReviewRequest } from '@toolgate/core';
import { z } from 'zod';
import { addGovernance, type AddGovernanceOptions } from './add-governance';
import { GovernedState, harness, type Harness, type ScriptedModel } from './test-harness';

/** shell → deny; transfer ≥ 1,000,000 → deny; transfer > 100 → review; else allow. */
export function editPolicy(request: ReviewRequest): ReviewerVerdict {
  const amount = (request.call.args as { amount?: number }).amount ?? 0;
  if (request.call.tool === 'shell') return { verdict: 'deny', reason: 'shell is not allowed in prod' };
  if (request.call.tool === 'transfer' && amount >= 1_000_000) return { verdict: 'deny', reason: 'over the hard limit of 1,000,000' };
  if (request.call.tool === 'transfer' && amount > 100) return { verdict: 'review', reason: 'amount > 100' };
  return { verdict: 'allow', reason: 'within limits' };
}

export interface HitlHarness extends Harness {
  /** The exact arguments every transfer body ran with, in order. */
  calls: unknown[];
}

/** A harness whose transfer tool records the exact arguments it ran with. */
export function hitlHarness(options: Parameters<typeof harness>[0] = {}): HitlHarness {
  const base = harness({ policy: editPolicy, ...options });
  const calls: unknown[] = [];
  const transfer = tool(
    async (args: { amount: number; apiKey?: string }) => {
      calls.push({ ...args });
      base.ran.push(`transfer(${args.amount})`);
      return `transferred ${args.amount}`;
    },
    { name: 'transfer', description: 'Transfer money', schema: z.object({ amount: z.number(), apiKey: z.string().optional() }) },
  );
  const [, shell, lookup] = base.tools;
  return { ...base, calls, tools: [transfer, shell, lookup] as unknown as Harness['tools'] };
}

/** agent → governance → human_gate → tools with addGovernance options of your own. */
export function graphWith(h: Harness, model: ScriptedModel, options: Omit<AddGovernanceOptions, 'gate' | 'tools'>) {
  const builder = new StateGraph(GovernedState)
    .addNode('agent', async (state: typeof GovernedState.State) => ({ messages: [await model.invoke(state.messages)] }))
    .addEdge(START, 'agent');
  return addGovernance(builder, { gate: h.gate, tools: h.tools, ...options }).compile({ checkpointer: new MemorySaver() });
}

/** The last ToolMessage in a message list. */
export function lastToolMessage(messages: BaseMessage[]): ToolMessage | undefined {
  return messages.filter((m): m is ToolMessage => ToolMessage.isInstance(m)).at(-1);
}
