// A paused turn resumed in another process (a new gate sharing only the checkpointer): the review
// replayed from the checkpoint is the other process's, so the human's answer goes to this gate's own
// review of the call — re-checked against the policy as it is now. Bodies are counted.
import { AIMessage, type BaseMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { Command, MemorySaver, START, StateGraph } from '@langchain/langgraph';
import type { ReviewRequest, ReviewerVerdict } from '@toolgate/core';
import { createAgent } from 'langchain';
import { describe, expect, it } from 'vitest';
import { addGovernance } from '../add-governance';
import { pendingReviews } from '../pending-reviews';
import { GovernedState, harness, human, threadConfig, toolMessagesById, type Harness } from '../test-harness';
import { governanceMiddleware } from './governance-middleware';

const pay = [{ name: 'transfer', args: { amount: 500 }, id: 'c1' }];
const model = () => fakeModel().respondWithTools(pay).respond(new AIMessage('done')).respond(new AIMessage('done again'));
/** The policy after the restart: transfers over 100 are now denied outright. */
const nowDenies = (r: ReviewRequest): ReviewerVerdict => (r.call.tool === 'transfer' && ((r.call.args as { amount: number }).amount ?? 0) > 100 ? { verdict: 'deny', reason: 'transfers over 100 are blocked today' } : { verdict: 'allow' });
/** The policy after the restart: transfers up to 1,000 are allowed without a human. */
const nowAllows = (): ReviewerVerdict => ({ verdict: 'allow', reason: 'within the new limit' });

function agentOn(h: Harness, saver: MemorySaver) {
  return createAgent({ model: model(), tools: h.tools, middleware: [governanceMiddleware(h.gate)], checkpointer: saver });
}

function graphOn(h: Harness, saver: MemorySaver) {
  const m = model();
  const builder = new StateGraph(GovernedState)
    .addNode('agent', async (s: typeof GovernedState.State) => ({ messages: [await m.invoke(s.messages)] }))
    .addEdge(START, 'agent');
  return addGovernance(builder, { gate: h.gate, tools: h.tools }).compile({ checkpointer: saver });
}

describe('createAgent + governanceMiddleware: a paused turn resumed in another process', () => {
  it('the policy now denies the call: the approval given to the other process\'s review runs nothing', async () => {
    const saver = new MemorySaver();
    const config = threadConfig('mw-restart-deny');
    expect(pendingReviews(await agentOn(harness(), saver).invoke(human('pay'), config))).toHaveLength(1);
    const second = harness({ policy: nowDenies });
    const done = await agentOn(second, saver).invoke(new Command({ resume: { c1: { approved: true } } }), config);
    expect(second.ran).toEqual([]);
    expect(String(toolMessagesById(done.messages as BaseMessage[]).get('c1')?.content)).toContain('blocked today');
  });

  it('the same policy: the approval runs the call exactly once in the new process', async () => {
    const saver = new MemorySaver();
    const config = threadConfig('mw-restart-same');
    await agentOn(harness(), saver).invoke(human('pay'), config);
    const second = harness();
    await agentOn(second, saver).invoke(new Command({ resume: { c1: { approved: true } } }), config);
    expect(second.ran).toEqual(['transfer(500)']);
  });

  it('the policy now allows the call but the human rejected it: it runs nothing', async () => {
    const saver = new MemorySaver();
    const config = threadConfig('mw-restart-reject');
    await agentOn(harness(), saver).invoke(human('pay'), config);
    const second = harness({ policy: nowAllows });
    await agentOn(second, saver).invoke(new Command({ resume: { c1: { approved: false } } }), config);
    expect(second.ran).toEqual([]);
  });
});

describe('addGovernance: a paused turn resumed in another process', () => {
  it('the policy now denies the call: the approval runs nothing', async () => {
    const saver = new MemorySaver();
    const config = threadConfig('sg-restart-deny');
    expect(pendingReviews(await graphOn(harness(), saver).invoke(human('pay'), config))).toHaveLength(1);
    const second = harness({ policy: nowDenies });
    await graphOn(second, saver).invoke(new Command({ resume: { c1: { approved: true } } }), config);
    expect(second.ran).toEqual([]);
  });

  it('the same policy: the approval runs the call exactly once in the new process', async () => {
    const saver = new MemorySaver();
    const config = threadConfig('sg-restart-same');
    await graphOn(harness(), saver).invoke(human('pay'), config);
    const second = harness();
    await graphOn(second, saver).invoke(new Command({ resume: { c1: { approved: true } } }), config);
    expect(second.ran).toEqual(['transfer(500)']);
  });
});
