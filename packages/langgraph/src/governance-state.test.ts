import { Command, END, MemorySaver, MessagesAnnotation, MessagesValue, START, StateGraph, StateSchema } from '@langchain/langgraph';
import { toolsCondition } from '@langchain/langgraph/prebuilt';
import { describe, expect, it } from 'vitest';
import { governanceNode } from './governance-node';
import { GovernanceState, mergeDecisions } from './governance-state';
import { governedToolNode } from './governed-tool-node';
import { humanGateNode } from './human-gate-node';
import { pendingReviews } from './pending-reviews';
import { routeAfterGovernance } from './route-after-governance';
import { harness, human, scripted, threadConfig, toolMessagesById } from './test-harness';

describe('GovernanceState (StateSchema) with hand-wired nodes', () => {
  it('works as `new StateSchema({ messages: MessagesValue, ...GovernanceState.fields })`', async () => {
    const h = harness();
    const State = new StateSchema({ messages: MessagesValue, ...GovernanceState.fields });
    const model = scripted([
      { name: 'transfer', args: { amount: 500 }, id: 'big' },
      { name: 'shell', args: { cmd: 'ls' }, id: 'sh' },
    ]);
    const graph = new StateGraph(State)
      .addNode('model', async (s: typeof State.State) => ({ messages: [await model.invoke(s.messages)] }))
      .addNode('review', governanceNode(h.gate))
      .addNode('approve', humanGateNode(h.gate))
      .addNode('run_tools', governedToolNode(h.tools, h.gate))
      .addEdge(START, 'model')
      .addConditionalEdges('model', toolsCondition, { tools: 'review', [END]: END })
      .addConditionalEdges('review', routeAfterGovernance({ humanGate: 'approve', tools: 'run_tools', agent: 'model' }), ['approve', 'run_tools', 'model'])
      .addConditionalEdges('approve', routeAfterGovernance({ humanGate: 'approve', tools: 'run_tools', agent: 'model' }), ['run_tools', 'model'])
      .addEdge('run_tools', 'model')
      .compile({ checkpointer: new MemorySaver() });
    const config = threadConfig('schema');

    const paused = await graph.invoke(human('go'), config);
    expect(pendingReviews(paused).map((r) => r.tool_call_id)).toEqual(['big']);
    const done = await graph.invoke(new Command({ resume: { big: { approved: true } } }), config);

    expect(h.ran).toEqual(['transfer(500)']);
    expect(h.reviewed).toHaveLength(2);
    expect(done.toolgateDecisions.big?.source).toBe('human');
    expect(done.toolgateDecisions.sh?.verdict).toBe('deny');
    expect([...toolMessagesById(done.messages).keys()].sort()).toEqual(['big', 'sh']);
  });

  it('a graph without the Decisions channel fails with a message that says how to add it', async () => {
    const h = harness();
    const model = scripted([{ name: 'transfer', args: { amount: 5 }, id: 'c1' }]);
    const graph = new StateGraph(MessagesAnnotation)
      .addNode('agent', async (s: typeof MessagesAnnotation.State) => ({ messages: [await model.invoke(s.messages)] }))
      .addNode('governance', governanceNode(h.gate))
      .addEdge(START, 'agent')
      .addEdge('agent', 'governance')
      .compile({ checkpointer: new MemorySaver() });
    await expect(graph.invoke(human('go'), threadConfig('no-channel'))).rejects.toThrow(/GovernanceAnnotation\.spec/);
    expect(h.reviewed).toHaveLength(0);
  });

  it('mergeDecisions: later Decisions replace earlier ones by tool_call_id; the input is not mutated', () => {
    const a = { verdict: 'review' } as never;
    const b = { verdict: 'allow' } as never;
    const current = { x: a };
    expect(mergeDecisions(current, { x: b, y: a })).toEqual({ x: b, y: a });
    expect(current).toEqual({ x: a });
    expect(mergeDecisions(current, {})).toBe(current);
  });
});
