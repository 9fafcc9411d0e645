// The turn-reviewing tool node (what addGovernance wires) runs each call of the turn it has just
// reviewed with the arguments the gate reviewed — `decision.args`, parsed from the canonical JSON
// the digest covers — never with the message's own args object, which anything holding the state
// can still change between the review and the run. Real LangGraph, only the model scripted; the
// decisive assertion is the tool body's side-effect record.
import { AIMessage } from '@langchain/core/messages';
import { MemorySaver, START, StateGraph } from '@langchain/langgraph';
import { describe, expect, it } from 'vitest';
import { addGovernance } from './add-governance';
import { defaultPolicy, GovernedState, harness, human, threadConfig, toolMessagesById } from './test-harness';

describe('a turn the tool node reviewed itself', () => {
  it('the message args changed after the review: the body runs the reviewed 5 once, never 900', async () => {
    // The model's message, kept by the test: the reviewer changes its args while it reviews.
    const message = new AIMessage({ content: '', tool_calls: [{ name: 'transfer', args: { amount: 5 }, id: 'pay', type: 'tool_call' }] });
    let turns = 0;
    const h = harness({
      policy: (request) => {
        (message.tool_calls![0]!.args as { amount: number }).amount = 900;
        return defaultPolicy(request);
      },
    });
    const builder = new StateGraph(GovernedState)
      .addNode('agent', async () => ({ messages: [turns++ === 0 ? message : new AIMessage('done')] }))
      .addEdge(START, 'agent');
    const graph = addGovernance(builder, { gate: h.gate, tools: h.tools }).compile({ checkpointer: new MemorySaver() });
    const out = await graph.invoke(human('pay 5'), threadConfig('changed-after-review'));

    expect(h.reviewed.map((r) => r.call.args)).toEqual([{ amount: 5 }]);
    expect(message.tool_calls![0]!.args).toEqual({ amount: 900 }); // the change did reach the message
    expect(h.ran).toEqual(['transfer(5)']);
    expect(toolMessagesById(out.messages).get('pay')?.status).toBe('success');
  });
});
