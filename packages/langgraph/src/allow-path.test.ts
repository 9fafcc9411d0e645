// Issue 13: on the allow path the governed graph takes exactly the steps of the same graph without
// toolgate (the tool node reviews the turn and runs it in one step); the human gate is reached only
// when a call needs a human, and then nothing of the turn runs before the human's answer.
import { AIMessage, ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { Command, END, MemorySaver, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { ToolNode, toolsCondition } from '@langchain/langgraph/prebuilt';
import { GovernanceDeniedError, type Decision } from '@toolgate/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { addGovernance } from './add-governance';
import { governedToolNode } from './governed-tool-node';
import { humanGateNode } from './human-gate-node';
import { pendingReviews } from './pending-reviews';
import { routeAfterGovernance, routeAfterTools } from './route-after-governance';
import { GovernedState, harness, human, makeTools, scripted, threadConfig, toolMessagesById, type Harness, type ScriptedModel } from './test-harness';

type Call = { name: string; args: Record<string, unknown>; id: string };

/** The same agent with a plain ToolNode and no toolgate: the baseline a user had before. */
function rawGraph(model: ScriptedModel, ran: string[]) {
  return new StateGraph(MessagesAnnotation)
    .addNode('agent', async (s: typeof MessagesAnnotation.State) => ({ messages: [await model.invoke(s.messages)] }))
    .addNode('tools', new ToolNode(makeTools(ran)))
    .addEdge(START, 'agent')
    .addConditionalEdges('agent', toolsCondition, ['tools', END])
    .addEdge('tools', 'agent')
    .compile({ checkpointer: new MemorySaver() });
}

function governed(h: Harness, model: ScriptedModel, options: Partial<Parameters<typeof addGovernance>[1]> = {}) {
  const builder = new StateGraph(GovernedState)
    .addNode('agent', async (s: typeof GovernedState.State) => ({ messages: [await model.invoke(s.messages)] }))
    .addEdge(START, 'agent');
  return addGovernance(builder, { gate: h.gate, tools: h.tools, ...options }).compile({ checkpointer: new MemorySaver() });
}

/** The nodes each step ran, as a user streaming `updates` sees them (`__interrupt__` for a pause). */
async function steps(stream: Promise<AsyncIterable<object>>): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of await stream) out.push(...Object.keys(chunk));
  return out;
}
const updates = (config: ReturnType<typeof threadConfig>) => ({ ...config, streamMode: 'updates' as const });

async function checkpoints(history: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of history) n++;
  return n;
}

describe('allow path: no graph step beyond the same graph without toolgate', () => {
  it('an allowed call: the same steps and checkpoints as the raw graph; the body runs exactly once', async () => {
    const calls: Call[] = [{ name: 'transfer', args: { amount: 5 }, id: 'c1' }];
    const rawRan: string[] = [];
    const raw = rawGraph(scripted(calls), rawRan);
    const rawSteps = await steps(raw.stream(human('pay 5'), updates(threadConfig('raw'))));

    const h = harness();
    const graph = governed(h, scripted(calls));
    const config = threadConfig('allow-steps');
    const got = await steps(graph.stream(human('pay 5'), updates(config)));

    expect(rawSteps).toEqual(['agent', 'tools', 'agent']);
    expect(got).toEqual(rawSteps);
    expect(await checkpoints(graph.getStateHistory(config))).toBe(await checkpoints(raw.getStateHistory(threadConfig('raw'))));
    expect(h.ran).toEqual(['transfer(5)']);
    expect(rawRan).toEqual(['transfer(5)']);
    expect(h.reviewed).toHaveLength(1);
    const state = await graph.getState(config);
    expect(state.values.toolgateDecisions.c1).toMatchObject({ verdict: 'allow', source: 'reviewer', callId: 'c1' });
    expect(toolMessagesById(state.values.messages).get('c1')?.status).toBe('success');
  });

  it('allowed + denied + not high-stakes in one turn: one tools step; allowed ran once, denied 0 times', async () => {
    const h = harness();
    const graph = governed(h, scripted([
      { name: 'transfer', args: { amount: 5 }, id: 'ok' },
      { name: 'shell', args: { cmd: 'rm -rf /' }, id: 'sh' },
      { name: 'lookup', args: { q: 'rates' }, id: 'look' },
    ]));
    const config = threadConfig('mixed-no-human');
    expect(await steps(graph.stream(human('go'), updates(config)))).toEqual(['agent', 'tools', 'agent']);
    expect([...h.ran].sort()).toEqual(['lookup(rates)', 'transfer(5)']);
    const { values } = await graph.getState(config);
    const byId = toolMessagesById(values.messages); // throws on a duplicate ToolMessage
    expect(Object.fromEntries([...byId].map(([id, m]) => [id, m.status]))).toEqual({ ok: 'success', sh: 'error', look: 'success' });
    expect((byId.get('sh')?.artifact as Decision).verdict).toBe('deny');
    expect(values.toolgateDecisions.sh).toMatchObject({ verdict: 'deny', source: 'reviewer' });
    expect(values.toolgateDecisions.look).toBeUndefined();
  });

  it('only denied calls: the body runs 0 times and the model reads the denial', async () => {
    const h = harness();
    const model = scripted([{ name: 'shell', args: { cmd: 'ls' }, id: 'sh' }], 'ok');
    const graph = governed(h, model);
    expect(await steps(graph.stream(human('ls'), updates(threadConfig('deny-only'))))).toEqual(['agent', 'tools', 'agent']);
    expect(h.ran).toEqual([]);
    const seen = model.calls[1]?.messages.filter((m) => ToolMessage.isInstance(m)) as ToolMessage[];
    expect(seen.map((m) => m.status)).toEqual(['error']);
  });

  it("onDeny: 'throw' in the tool node's review runs nothing of the turn, allowed calls included", async () => {
    const h = harness();
    const graph = governed(h, scripted([
      { name: 'transfer', args: { amount: 5 }, id: 'ok' },
      { name: 'shell', args: { cmd: 'ls' }, id: 'sh' },
    ]), { governance: { onDeny: 'throw' } });
    await expect(graph.invoke(human('go'), threadConfig('throw'))).rejects.toBeInstanceOf(GovernanceDeniedError);
    expect(h.ran).toEqual([]);
  });
});

describe('review path: the human gate still pauses, and nothing of the turn runs before the answer', () => {
  it('allowed + review in one turn: the tools step runs nothing, one interrupt; after approval each runs once', async () => {
    const h = harness();
    const graph = governed(h, scripted([
      { name: 'transfer', args: { amount: 5 }, id: 'small' },
      { name: 'transfer', args: { amount: 500 }, id: 'big' },
    ]));
    const config = threadConfig('review-path');
    expect(await steps(graph.stream(human('pay'), updates(config)))).toEqual(['agent', 'tools', '__interrupt__']);
    expect(h.ran).toEqual([]);
    const snapshot = await graph.getState(config);
    expect(snapshot.next).toEqual(['human_gate']);
    expect(pendingReviews(snapshot).map((r) => r.tool_call_id)).toEqual(['big']);
    // The tools step wrote the turn's Decisions (checkpointed) and no ToolMessage.
    expect(Object.keys(snapshot.values.toolgateDecisions).sort()).toEqual(['big', 'small']);
    expect(toolMessagesById(snapshot.values.messages).size).toBe(0);

    const resumed = await steps(graph.stream(new Command({ resume: { big: { approved: true } } }), updates(config)));
    expect(resumed).toEqual(['human_gate', 'tools', 'agent']);
    expect([...h.ran].sort()).toEqual(['transfer(5)', 'transfer(500)']);
    expect(h.reviewed.map((r) => r.call.callId).sort()).toEqual(['big', 'small']); // once per call, across the resume
  });

  it('a review that is rejected: the approved-by-policy call runs once, the rejected call 0 times', async () => {
    const h = harness();
    const graph = governed(h, scripted([
      { name: 'transfer', args: { amount: 5 }, id: 'small' },
      { name: 'transfer', args: { amount: 500 }, id: 'big' },
    ]));
    const config = threadConfig('review-reject');
    await graph.invoke(human('pay'), config);
    const done = await graph.invoke(new Command({ resume: { big: { approved: false, reason: 'no' } } }), config);
    expect(h.ran).toEqual(['transfer(5)']);
    expect(toolMessagesById(done.messages).get('big')?.status).toBe('error');
  });

  it('replaying the thread from before the tools step after an allow does not run the call again', async () => {
    const h = harness();
    const model = scripted([{ name: 'transfer', args: { amount: 5 }, id: 'c1' }]).respond(new AIMessage('again'));
    const graph = governed(h, model);
    const config = threadConfig('replay');
    await graph.invoke(human('pay 5'), config);
    let before: object | undefined;
    for await (const s of graph.getStateHistory(config)) if (s.next.includes('tools')) before = s.config;
    const replay = await graph.invoke(null, before as never);
    expect(h.ran).toEqual(['transfer(5)']);
    expect(toolMessagesById(replay.messages).get('c1')?.artifact).toMatchObject({ verdict: 'deny', error: { code: 'ALREADY_EXECUTED' } });
  });
});

describe('hand-wired: governedToolNode({ reviewTurn: true }) + routeAfterTools', () => {
  function handWired(h: Harness, model: ScriptedModel) {
    return new StateGraph(GovernedState)
      .addNode('agent', async (s: typeof GovernedState.State) => ({ messages: [await model.invoke(s.messages)] }))
      .addNode('tools', governedToolNode(h.tools, h.gate, { reviewTurn: true }))
      .addNode('human_gate', humanGateNode(h.gate))
      .addEdge(START, 'agent')
      .addConditionalEdges('agent', toolsCondition, { tools: 'tools', __end__: END })
      .addConditionalEdges('tools', routeAfterTools(), ['human_gate', 'agent'])
      .addConditionalEdges('human_gate', routeAfterGovernance(), ['tools', 'agent'])
      .compile({ checkpointer: new MemorySaver() });
  }

  it('allow: raw-graph steps; review: pauses, then runs once', async () => {
    const h = harness();
    expect(await steps(handWired(h, scripted([{ name: 'transfer', args: { amount: 5 }, id: 'a' }])).stream(human('go'), updates(threadConfig('hw-allow'))))).toEqual(['agent', 'tools', 'agent']);
    expect(h.ran).toEqual(['transfer(5)']);

    const graph = handWired(h, scripted([{ name: 'transfer', args: { amount: 500 }, id: 'b' }]));
    const config = threadConfig('hw-review');
    const paused = await graph.invoke(human('go'), config);
    expect(pendingReviews(paused).map((r) => r.tool_call_id)).toEqual(['b']);
    expect(h.ran).toEqual(['transfer(5)']);
    await graph.invoke(new Command({ resume: { b: { approved: true } } }), config);
    expect(h.ran).toEqual(['transfer(5)', 'transfer(500)']);
  });

  it('addGovernance turns the turn review on for a toolNode built without it', async () => {
    const h = harness();
    const toolNode = governedToolNode(h.tools, h.gate);
    expect(toolNode.reviewsTurns).toBe(false);
    const graph = governed(h, scripted([{ name: 'transfer', args: { amount: 500 }, id: 'b' }]), { tools: undefined, toolNode });
    expect(toolNode.reviewsTurns).toBe(true);
    const paused = await graph.invoke(human('go'), threadConfig('own-node'));
    expect(pendingReviews(paused).map((r) => r.tool_call_id)).toEqual(['b']);
    expect(h.ran).toEqual([]);
  });

  it('reviewTurn: { humanGate, agent } routes itself with a Command (no edge out of tools): same steps, same pause', async () => {
    const h = harness();
    const wired = (model: ScriptedModel) =>
      new StateGraph(GovernedState)
        .addNode('agent', async (s: typeof GovernedState.State) => ({ messages: [await model.invoke(s.messages)] }))
        .addNode('tools', governedToolNode(h.tools, h.gate, { reviewTurn: { humanGate: 'human_gate', agent: 'agent' } }), { ends: ['human_gate', 'agent'] })
        .addNode('human_gate', humanGateNode(h.gate))
        .addEdge(START, 'agent')
        .addConditionalEdges('agent', toolsCondition, { tools: 'tools', __end__: END })
        .addConditionalEdges('human_gate', routeAfterGovernance(), ['tools', 'agent'])
        .compile({ checkpointer: new MemorySaver() });
    expect(await steps(wired(scripted([{ name: 'transfer', args: { amount: 5 }, id: 'a' }, { name: 'shell', args: { cmd: 'ls' }, id: 's' }])).stream(human('go'), updates(threadConfig('cmd-allow'))))).toEqual(['agent', 'tools', 'agent']);
    expect(h.ran).toEqual(['transfer(5)']);

    const graph = wired(scripted([{ name: 'transfer', args: { amount: 5 }, id: 'a2' }, { name: 'transfer', args: { amount: 500 }, id: 'b' }]));
    const config = threadConfig('cmd-review');
    expect(await steps(graph.stream(human('go'), updates(config)))).toEqual(['agent', 'tools', '__interrupt__']);
    expect(h.ran).toEqual(['transfer(5)']);
    expect(await steps(graph.stream(new Command({ resume: { b: { approved: true } } }), updates(config)))).toEqual(['human_gate', 'tools', 'agent']);
    expect(h.ran).toEqual(['transfer(5)', 'transfer(5)', 'transfer(500)']);
  });

  it('a tool that returns a Command next to an allowed call: both answered, each ran once, still one step', async () => {
    const h = harness();
    const handoff = tool(
      async (_args: { to: string }, runtime: { toolCallId: string }) => {
        h.ran.push('handoff');
        return new Command({ update: { messages: [new ToolMessage({ content: 'handed off', tool_call_id: runtime.toolCallId })] } });
      },
      { name: 'handoff', description: 'Hand off', schema: z.object({ to: z.string() }) },
    );
    const model = scripted([{ name: 'transfer', args: { amount: 5 }, id: 't' }, { name: 'handoff', args: { to: 'x' }, id: 'h' }]);
    const builder = new StateGraph(GovernedState)
      .addNode('agent', async (s: typeof GovernedState.State) => ({ messages: [await model.invoke(s.messages)] }))
      .addEdge(START, 'agent');
    const graph = addGovernance(builder, { gate: h.gate, tools: [...h.tools, handoff] }).compile({ checkpointer: new MemorySaver() });
    const config = threadConfig('tool-command');
    expect(await steps(graph.stream(human('go'), updates(config)))).toEqual(['agent', 'tools', 'agent']);
    expect([...h.ran].sort()).toEqual(['handoff', 'transfer(5)']);
    const { values } = await graph.getState(config);
    expect(Object.fromEntries([...toolMessagesById(values.messages)].map(([id, m]) => [id, m.content]))).toEqual({ t: 'transferred 5', h: 'handed off' });
    expect(values.toolgateDecisions.t).toMatchObject({ verdict: 'allow' });
  });

  it('validates onDeny and reviewTurn at construction', () => {
    const h = harness();
    expect(() => governedToolNode(h.tools, h.gate, { reviewTurn: true, onDeny: 'maybe' as never })).toThrow(/onDeny must be one of/);
    expect(() => governedToolNode(h.tools, h.gate, { reviewTurn: { humanGate: 'human_gate' } as never })).toThrow(/reviewTurn must be true or \{ humanGate, agent \}/);
  });
});
