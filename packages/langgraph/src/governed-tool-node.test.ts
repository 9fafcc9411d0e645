import { AIMessage, ToolMessage } from '@langchain/core/messages';
import { MemorySaver, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { toolsCondition } from '@langchain/langgraph/prebuilt';
import { OptionsError, type Decision } from '@toolgate/core';
import { describe, expect, it } from 'vitest';
import { governedToolNode } from './governed-tool-node';
import { harness, human, scripted, threadConfig, toolMessagesById, type Harness, type ScriptedModel } from './test-harness';

/** Wired WRONG on purpose: agent → tools with no governance node and no Decisions channel. */
function ungovernedGraph(h: Harness, model: ScriptedModel, onMissingDecision?: 'review' | 'deny') {
  return new StateGraph(MessagesAnnotation)
    .addNode('agent', async (s: typeof MessagesAnnotation.State) => ({ messages: [await model.invoke(s.messages)] }))
    .addNode('tools', governedToolNode(h.tools, h.gate, onMissingDecision ? { onMissingDecision } : {}))
    .addEdge(START, 'agent')
    .addConditionalEdges('agent', toolsCondition, ['tools', '__end__'])
    .addEdge('tools', 'agent')
    .compile({ checkpointer: new MemorySaver() });
}

const call = (id: string, name: string, args: Record<string, unknown>) => ({ id, name, args, type: 'tool_call' as const });

describe('governedToolNode: defence in depth', () => {
  it('with no governance node, a high-stakes call is reviewed in the tool node and a review/deny never runs', async () => {
    const h = harness();
    const graph = ungovernedGraph(h, scripted([
      { name: 'transfer', args: { amount: 5 }, id: 'ok' },
      { name: 'transfer', args: { amount: 500 }, id: 'big' },
      { name: 'shell', args: { cmd: 'ls' }, id: 'sh' },
      { name: 'lookup', args: { q: 'x' }, id: 'look' },
    ]));
    const result = await graph.invoke(human('go'), threadConfig('wired-wrong'));
    expect([...h.ran].sort()).toEqual(['lookup(x)', 'transfer(5)']);
    const byId = toolMessagesById(result.messages);
    expect(byId.get('big')?.status).toBe('error');
    expect(String(byId.get('big')?.content)).toContain('needs a human review');
    expect((byId.get('sh')?.artifact as Decision).verdict).toBe('deny');
    expect(h.reviewed).toHaveLength(3);
  });

  it("onMissingDecision: 'deny' refuses high-stakes calls without a Decision and asks no reviewer", async () => {
    const h = harness();
    const graph = ungovernedGraph(h, scripted([{ name: 'transfer', args: { amount: 5 }, id: 'ok' }]), 'deny');
    const result = await graph.invoke(human('go'), threadConfig('deny-missing'));
    expect(h.ran).toEqual([]);
    expect(h.reviewed).toHaveLength(0);
    expect(String(toolMessagesById(result.messages).get('ok')?.content)).toContain('no toolgate Decision in state');
  });

  it('refuses to run when the Decision in state is for other arguments (args edited after review)', async () => {
    const h = harness();
    const approved = await h.gate.review({ tool: 'transfer', args: { amount: 5 }, callId: 'c1', runId: 't' });
    const node = governedToolNode(h.tools, h.gate);
    const out = (await node.invoke(
      {
        messages: [new AIMessage({ content: '', tool_calls: [call('c1', 'transfer', { amount: 5000 })] })],
        toolgateDecisions: { c1: approved },
      },
      threadConfig('t'),
    )) as { messages: ToolMessage[] };
    expect(h.ran).toEqual([]);
    expect(out.messages[0]?.status).toBe('error');
    expect(String(out.messages[0]?.content)).toContain('different tool or different arguments');
  });

  it('runs an allowed call once and reports a failing tool as an error outcome', async () => {
    const h = harness();
    const node = governedToolNode(h.tools, h.gate);
    const allowed = await h.gate.review({ tool: 'transfer', args: { amount: 5 }, callId: 'c1', runId: 't' });
    const out = (await node.invoke({
      messages: [new AIMessage({ content: '', tool_calls: [call('c1', 'transfer', { amount: 5 }), call('c2', 'transfer', { amount: 'x' })] })],
      toolgateDecisions: { c1: allowed, c2: { ...allowed, callId: 'c2', digest: (await h.gate.canI({ tool: 'transfer', args: { amount: 'x' } })).digest } },
    })) as { messages: ToolMessage[] };
    expect(h.ran).toEqual(['transfer(5)']);
    expect(out.messages.map((m) => m.status)).toEqual(['success', 'error']);
    await h.gate.close();
    const outcomes = h.audit.records.filter((r) => r.kind === 'outcome').map((r) => [r.call.callId, r.outcome?.status]);
    expect(outcomes).toEqual(expect.arrayContaining([['c1', 'success'], ['c2', 'error']]));
  });

  it('validates its options at construction', () => {
    const h = harness();
    expect(() => governedToolNode(h.tools, {} as never)).toThrow(OptionsError);
    expect(() => governedToolNode(h.tools, h.gate, { onMissingDecision: 'maybe' as never })).toThrow(/onMissingDecision must be one of/);
  });
});
