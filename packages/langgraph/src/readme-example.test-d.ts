// The README's quick start, kept here so tsc checks it, plus type expectations for the public API.
import { AIMessage, HumanMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { tool } from '@langchain/core/tools';
import { Annotation, Command, MemorySaver, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { callbackReviewer, createGate, type Decision } from '@toolgate/core';
import { createAgent } from 'langchain';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  addGovernance,
  GovernanceAnnotation,
  pendingReviews,
  routeAfterGovernance,
  type HumanReviewResume,
  type ReviewRequestItem,
} from './index';
import { governanceMiddleware } from './middleware';

describe('README quick start', () => {
  it('compiles', async () => {
    // --- README: quick start (StateGraph) ---
    const transfer = tool(async ({ amount }) => `sent ${amount}`, {
      name: 'transfer',
      description: 'Send money',
      schema: z.object({ amount: z.number() }),
    });
    const gate = createGate({
      reviewer: callbackReviewer(({ call }) =>
        (call.args as { amount: number }).amount > 1000 ? { verdict: 'review', reason: 'large transfer' } : { verdict: 'allow' }),
      highStakes: ['transfer', 'shell'],
    });
    const model = fakeModel()
      .respondWithTools([{ name: 'transfer', args: { amount: 5000 }, id: 'call_1' }])
      .respond(new AIMessage('done'));

    const State = Annotation.Root({ ...MessagesAnnotation.spec, ...GovernanceAnnotation.spec });
    const builder = new StateGraph(State)
      .addNode('agent', async (state: typeof State.State) => ({ messages: [await model.invoke(state.messages)] }))
      .addEdge(START, 'agent');
    const graph = addGovernance(builder, { gate, tools: [transfer] }).compile({ checkpointer: new MemorySaver() });

    const config = { configurable: { thread_id: 'thread-1' } };
    const paused = await graph.invoke({ messages: [new HumanMessage('pay 5000')] }, config);
    for (const request of pendingReviews(paused)) console.log(request.tool, request.args, request.reason);
    const done = await graph.invoke(new Command({ resume: { call_1: { approved: true, approver: 'ann' } } satisfies HumanReviewResume }), config);
    console.log(done.toolgateDecisions.call_1?.source); // 'human'
    // --- end ---

    expectTypeOf(pendingReviews(paused)).toEqualTypeOf<ReviewRequestItem[]>();
    expectTypeOf(done.toolgateDecisions).toEqualTypeOf<Record<string, Decision>>();

    // --- README: createAgent middleware ---
    const agent = createAgent({
      model: fakeModel().respondWithTools([{ name: 'transfer', args: { amount: 5 }, id: 'c' }]).respond(new AIMessage('ok')),
      tools: [transfer],
      middleware: [governanceMiddleware(gate)],
      checkpointer: new MemorySaver(),
    });
    await agent.invoke({ messages: [new HumanMessage('pay 5')] }, { configurable: { thread_id: 'thread-2' } });
    // --- end ---
  });

  it('routeAfterGovernance returns the node names it was given', () => {
    expectTypeOf(routeAfterGovernance()).returns.toEqualTypeOf<'human_gate' | 'tools' | 'agent'>();
    expectTypeOf(routeAfterGovernance({ humanGate: 'ask', tools: 'run', agent: 'llm' })).returns.toEqualTypeOf<'ask' | 'run' | 'llm'>();
  });
});
