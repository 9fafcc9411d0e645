// Issue 8 against a real StateGraph: what runs is what was reviewed, and a reviewed call runs once,
// whatever happens to graph state between the review and the tool node.
import { AIMessage, ToolMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { Command, MemorySaver, START, StateGraph } from '@langchain/langgraph';
import { describe, expect, it } from 'vitest';
import { addGovernance } from './add-governance';
import { governedToolNode } from './governed-tool-node';
import type { HumanReviewResume } from './human-gate-node';
import { pendingReviews } from './pending-reviews';
import { GovernedState, harness, human, scripted, threadConfig, toolMessagesById, type Harness, type ScriptedModel } from './test-harness';

/** agent → tools (reviews the turn) → human_gate → tools, compiled with extra options (e.g. a pause after the human gate). */
function graphWith(h: Harness, model: ScriptedModel, compile: { interruptAfter?: Array<'human_gate'> } = {}) {
  const builder = new StateGraph(GovernedState)
    .addNode('agent', async (state: typeof GovernedState.State) => ({ messages: [await model.invoke(state.messages)] }))
    .addEdge(START, 'agent');
  return addGovernance(builder, { gate: h.gate, tools: h.tools }).compile({ checkpointer: new MemorySaver(), ...(compile as object) });
}

/** The AIMessage in state with its tool call's amount changed, same message id (the reducer replaces it). */
async function raiseAmount(graph: ReturnType<typeof graphWith>, config: ReturnType<typeof threadConfig>, amount: number) {
  const state = await graph.getState(config);
  const ai = (state.values.messages as AIMessage[]).findLast((m) => AIMessage.isInstance(m));
  if (!ai?.id) throw new Error('no AIMessage with an id in state');
  const tool_calls = (ai.tool_calls ?? []).map((c) => ({ ...c, args: { ...c.args, amount } }));
  await graph.updateState(config, { messages: [new AIMessage({ id: ai.id, content: ai.content, tool_calls })] });
}

/** Calls once, then answers 'done' as often as asked (a replayed thread calls the model again). */
function replayable(calls: Array<{ name: string; args: Record<string, unknown>; id: string }>): ScriptedModel {
  return fakeModel().respondWithTools(calls).respond(new AIMessage('done')).respond(new AIMessage('done again'));
}

const call = (id: string, name: string, args: Record<string, unknown>) => ({ id, name, args, type: 'tool_call' as const });

describe('StateGraph: what runs is what was reviewed', () => {
  it('graph.updateState raising the amount after the human approved (before the tools) never runs the raised call', async () => {
    const h = harness();
    // The pause between the human's answer and the tools is `interruptAfter: ['human_gate']`: since the
    // tool node reviews the turn itself, `interruptBefore: ['tools']` would pause before the review too.
    const graph = graphWith(h, scripted([{ name: 'transfer', args: { amount: 500 }, id: 'c1' }]), { interruptAfter: ['human_gate'] });
    const config = threadConfig('raise-after-approval');
    await graph.invoke(human('pay 500'), config);
    await graph.invoke(new Command({ resume: { c1: { approved: true } } satisfies HumanReviewResume }), config);
    expect((await graph.getState(config)).next).toEqual(['tools']);
    await raiseAmount(graph, config, 5000);
    const done = await graph.invoke(null, config);
    expect(h.ran).toEqual([]);
    const msg = toolMessagesById(done.messages).get('c1');
    expect(msg?.status).toBe('error');
    expect(String(msg?.content)).toContain('different tool or different arguments');
  });

  it('graph.updateState raising the amount while the human looks at 500 never runs 5000', async () => {
    const h = harness();
    const graph = graphWith(h, scripted([{ name: 'transfer', args: { amount: 500 }, id: 'c1' }]));
    const config = threadConfig('raise-during-review');
    await graph.invoke(human('pay 500'), config);
    await raiseAmount(graph, config, 5000);
    await graph.invoke(new Command({ resume: { c1: { approved: true } } satisfies HumanReviewResume }), config);
    expect(h.ran).toEqual([]);
  });

  it('GovernedToolNode runs the body with the reviewed copy: an args object with a toJSON showing 5 never runs 5000', async () => {
    const h = harness();
    const allowed = await h.gate.review({ tool: 'transfer', args: { amount: 5 }, callId: 'c1', runId: 't' });
    const sneaky = Object.defineProperty({ amount: 5000 }, 'toJSON', { value: () => ({ amount: 5 }) });
    const out = (await governedToolNode(h.tools, h.gate).invoke({
      messages: [new AIMessage({ content: '', tool_calls: [call('c1', 'transfer', sneaky)] })],
      toolgateDecisions: { c1: allowed },
    })) as { messages: ToolMessage[] };
    expect(h.ran).toEqual(['transfer(5)']);
    expect(out.messages[0]?.status).toBe('success');
  });

  it('GovernedToolNode with no governance node: a getter that turns 5 into 5000 after the review never runs 5000', async () => {
    const h = harness();
    let reads = 0;
    const flipping = {
      get amount() {
        reads++;
        return reads > 2 ? 5000 : 5;
      },
    };
    const node = governedToolNode(h.tools, h.gate);
    await node.invoke({ messages: [new AIMessage({ content: '', tool_calls: [call('c1', 'transfer', flipping)] })] }, threadConfig('getter'));
    expect(h.ran.every((r) => r === 'transfer(5)')).toBe(true);
    expect(h.ran.length).toBeLessThanOrEqual(1);
  });
});

describe('StateGraph: the human sees what was reviewed', () => {
  it('args whose toJSON says 5000 while their fields say 5: the interrupt shows 5000, the reviewed value', async () => {
    const h = harness();
    const disguised = { amount: 5, toJSON: () => ({ amount: 5000 }) };
    const graph = graphWith(h, replayable([{ name: 'transfer', args: disguised, id: 'c1' }]));
    const paused = await graph.invoke(human('pay'), threadConfig('disguised'));
    expect(h.reviewed.map((r) => r.call.args)).toEqual([{ amount: 5000 }]);
    expect(pendingReviews(paused).map((r) => r.args)).toEqual([{ amount: 5000 }]);
  });
});

describe('StateGraph: a reviewed call runs once', () => {
  it('replaying the thread from the checkpoint before the tools (time travel) does not run the allowed call again', async () => {
    const h = harness();
    const graph = graphWith(h, replayable([{ name: 'transfer', args: { amount: 5 }, id: 'c1' }]));
    const config = threadConfig('time-travel');
    await graph.invoke(human('pay 5'), config);
    expect(h.ran).toEqual(['transfer(5)']);

    let beforeTools: { configurable?: Record<string, unknown> } | undefined;
    for await (const s of graph.getStateHistory(config)) if (s.next.includes('tools')) beforeTools = s.config;
    expect(beforeTools?.configurable?.checkpoint_id).toBeDefined();
    const replay = await graph.invoke(null, beforeTools as never);
    expect(h.ran).toEqual(['transfer(5)']);
    const msg = toolMessagesById(replay.messages).get('c1');
    expect(msg?.status).toBe('error');
    expect(String(msg?.content)).toContain('already ran');
  });

  it('replaying from before the tools after a human approval does not run the approved call again', async () => {
    const h = harness();
    const graph = graphWith(h, replayable([{ name: 'transfer', args: { amount: 500 }, id: 'c1' }]));
    const config = threadConfig('time-travel-human');
    await graph.invoke(human('pay 500'), config);
    await graph.invoke(new Command({ resume: { c1: { approved: true } } satisfies HumanReviewResume }), config);
    expect(h.ran).toEqual(['transfer(500)']);

    let beforeTools: { configurable?: Record<string, unknown> } | undefined;
    for await (const s of graph.getStateHistory(config)) if (s.next.includes('tools')) beforeTools = s.config;
    await graph.invoke(null, beforeTools as never);
    expect(h.ran).toEqual(['transfer(500)']);
  });
});
