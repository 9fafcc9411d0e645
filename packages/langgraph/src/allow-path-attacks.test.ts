// Attacks on the turn-reviewing tool node (issue 13's allow path): the tool node reviews the model
// turn and runs it in the same step when no call needs a human, and routes to the human gate (one
// batched interrupt, nothing of the turn run) when one does. Each test counts tool-body side effects:
// a denied call's body runs 0 times, an approved one exactly once, a call waiting for a human never
// runs before the answer and neither does any other call of its turn.
import { AIMessage, ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { fakeModel } from '@langchain/core/testing';
import { Command, END, interrupt, INTERRUPT, MemorySaver, Send, START, StateGraph } from '@langchain/langgraph';
import { toolsCondition } from '@langchain/langgraph/prebuilt';
import { callbackReviewer, createGate, type Decision, type ReviewerVerdict, type ReviewRequest } from '@toolgate/core';
import { sqliteLedger } from '@toolgate/core/ledger-sqlite';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { addGovernance } from './add-governance';
import { governedToolNode } from './governed-tool-node';
import { humanGateNode } from './human-gate-node';
import { hitlResume, pendingReviews } from './pending-reviews';
import { routeAfterGovernance, routeAfterTools } from './route-after-governance';
import { defaultPolicy, GovernedState, harness, HIGH_STAKES, human, makeTools, threadConfig, toolMessagesById, type Harness, type ScriptedModel } from './test-harness';

type Call = { name: string; args: Record<string, unknown>; id: string };

/** Makes `calls` on its first turn, then answers with text as often as asked. */
function model(calls: Call[], ...later: Call[][]): ScriptedModel {
  let m = fakeModel().respondWithTools(calls);
  for (const c of later) m = m.respondWithTools(c);
  for (let i = 0; i < 6; i++) m = m.respond(new AIMessage(`done ${i}`));
  return m;
}

type CompileOptions = { interruptBefore?: string[]; interruptAfter?: string[] };

function governed(h: Harness, m: ScriptedModel, options: Partial<Parameters<typeof addGovernance>[1]> = {}, compile: CompileOptions = {}) {
  const builder = new StateGraph(GovernedState)
    .addNode('agent', async (s: typeof GovernedState.State) => ({ messages: [await m.invoke(s.messages)] }))
    .addEdge(START, 'agent');
  return addGovernance(builder, { gate: h.gate, tools: h.tools, ...options }).compile({ checkpointer: new MemorySaver(), ...(compile as object) });
}

/** Node names per step and the number of interrupts, as a user streaming `updates` sees them. */
async function stepsOf(stream: Promise<AsyncIterable<object>>): Promise<{ steps: string[]; interrupts: number }> {
  const steps: string[] = [];
  let interrupts = 0;
  for await (const chunk of await stream) {
    for (const [k, v] of Object.entries(chunk)) {
      steps.push(k);
      if (k === INTERRUPT && Array.isArray(v)) interrupts += v.length;
    }
  }
  return { steps, interrupts };
}
const updates = (config: ReturnType<typeof threadConfig>) => ({ ...config, streamMode: 'updates' as const });

async function beforeNode(graph: { getStateHistory(c: object): AsyncIterable<{ next: string[]; config: object }> }, config: object, node: string): Promise<object> {
  let found: object | undefined;
  for await (const s of graph.getStateHistory(config)) if (s.next.includes(node)) found = s.config; // the oldest such checkpoint
  if (!found) throw new Error(`no checkpoint before ${node}`);
  return found;
}

describe('one turn mixing allow, deny, review and a tool that is not high-stakes', () => {
  it('nothing runs before the answer, one interrupt, then each allowed call once and the denied one never', async () => {
    const h = harness();
    const graph = governed(h, model([
      { name: 'transfer', args: { amount: 5 }, id: 'small' },
      { name: 'shell', args: { cmd: 'rm -rf /' }, id: 'sh' },
      { name: 'transfer', args: { amount: 500 }, id: 'big' },
      { name: 'lookup', args: { q: 'rates' }, id: 'look' },
      { name: 'transfer', args: { amount: 700 }, id: 'big2' },
    ]));
    const config = threadConfig('mixed-all');
    const first = await stepsOf(graph.stream(human('go'), updates(config)));
    expect(first).toEqual({ steps: ['agent', 'tools', INTERRUPT], interrupts: 1 });
    expect(h.ran).toEqual([]);
    const paused = await graph.getState(config);
    expect(pendingReviews(paused).map((r) => r.tool_call_id)).toEqual(['big', 'big2']);

    const second = await stepsOf(graph.stream(new Command({ resume: hitlResume(paused, [{ type: 'approve' }, { type: 'reject', message: 'no' }]) }), updates(config)));
    expect(second.interrupts).toBe(0);
    expect([...h.ran].sort()).toEqual(['lookup(rates)', 'transfer(5)', 'transfer(500)']);
    const byId = toolMessagesById((await graph.getState(config)).values.messages);
    expect(Object.fromEntries([...byId].map(([id, m]) => [id, m.status]))).toEqual({ sh: 'error', small: 'success', big: 'success', look: 'success', big2: 'error' });
    expect(h.reviewed.map((r) => r.call.callId).sort()).toEqual(['big', 'big2', 'sh', 'small']);
  });

  it('resume answers for calls that were not shown (a denied call, an unknown id) approve nothing extra', async () => {
    const h = harness();
    const graph = governed(h, model([
      { name: 'shell', args: { cmd: 'ls' }, id: 'sh' },
      { name: 'transfer', args: { amount: 500 }, id: 'big' },
      { name: 'transfer', args: { amount: 5 }, id: 'small' },
    ]));
    const config = threadConfig('answers-not-shown');
    await graph.invoke(human('go'), config);
    expect(h.ran).toEqual([]);
    await graph.invoke(new Command({ resume: { sh: { approved: true }, ghost: { approved: true }, small: { approved: true } } }), config);
    // 'big' had no answer: rejected; the answers for 'sh' (denied) and 'ghost' (no such call) approve nothing.
    expect(h.ran).toEqual(['transfer(5)']);
    const byId = toolMessagesById((await graph.getState(config)).values.messages);
    expect(byId.get('sh')?.status).toBe('error');
    expect(byId.get('big')?.status).toBe('error');
  });

  it('a second resume of the same approval (and a fork from before the human gate) runs the call once', async () => {
    const h = harness();
    const graph = governed(h, model([{ name: 'transfer', args: { amount: 500 }, id: 'big' }]));
    const config = threadConfig('double-resume');
    await graph.invoke(human('go'), config);
    const atGate = await beforeNode(graph, config, 'human_gate');
    await graph.invoke(new Command({ resume: { big: { approved: true } } }), config);
    await graph.invoke(new Command({ resume: { big: { approved: true } } }), config);
    expect(h.ran).toEqual(['transfer(500)']);
    // Time travel to the pause and approve again: a fork of the same call.
    await graph.invoke(new Command({ resume: { big: { approved: true } } }), atGate as never);
    expect(h.ran).toEqual(['transfer(500)']);
  });
});

describe('tool_call ids the model chooses', () => {
  it('the same id twice, 500 then 5000: the human shown 500 never approves 5000', async () => {
    const h = harness();
    const graph = governed(h, model([
      { name: 'transfer', args: { amount: 500 }, id: 'x' },
      { name: 'transfer', args: { amount: 5000 }, id: 'x' },
    ]));
    const config = threadConfig('dup-id-review');
    const paused = await graph.invoke(human('go'), config);
    expect(h.ran).toEqual([]);
    // The app approves exactly what pendingReviews showed, bound to its digest (the documented way).
    const shown = pendingReviews(paused);
    const resume = Object.fromEntries(shown.map((r) => [r.tool_call_id, { approved: (r.args as { amount: number }).amount <= 500, digest: r.digest }]));
    await graph.invoke(new Command({ resume }), config);
    expect(h.ran.filter((r) => r === 'transfer(5000)')).toEqual([]);
    expect(h.ran.length).toBeLessThanOrEqual(1);
    // An id shared by two calls binds no Decision: both are refused before anyone is asked.
    expect(shown).toEqual([]);
    const decision = (await graph.getState(config)).values.toolgateDecisions.x as Decision;
    expect(decision).toMatchObject({ verdict: 'deny', source: 'fail_closed', error: { code: 'INPUT_INVALID' } });
  });

  it('the same id for a harmless lookup and a review call: approving what is shown never runs an unshown transfer', async () => {
    const h = harness();
    const graph = governed(h, model([
      { name: 'lookup', args: { q: 'rates' }, id: 'x' },
      { name: 'transfer', args: { amount: 5000 }, id: 'x' },
    ]));
    const config = threadConfig('dup-id-mixed');
    const paused = await graph.invoke(human('go'), config);
    expect(h.ran).toEqual([]);
    const shown = pendingReviews(paused);
    // Whatever is shown, it is not "transfer 5000" with those args: a careless approve-all must not run it.
    expect(shown.some((r) => r.tool === 'transfer' && (r.args as { amount?: number }).amount === 5000 && shown.length === 1)).toBe(false);
    await graph.invoke(new Command({ resume: Object.fromEntries(shown.map((r) => [r.tool_call_id, { approved: true, digest: r.digest }])) }), config);
    expect(h.ran.filter((r) => r.startsWith('transfer'))).toEqual([]);
  });

  it('the same id twice with the same allowed args: the body runs at most once', async () => {
    const h = harness();
    const graph = governed(h, model([
      { name: 'transfer', args: { amount: 5 }, id: 'x' },
      { name: 'transfer', args: { amount: 5 }, id: 'x' },
    ]));
    await graph.invoke(human('go'), threadConfig('dup-id-allow'));
    expect(h.ran.length).toBeLessThanOrEqual(1);
  });

  it('the same id twice, review then allow: the review call never runs without a human', async () => {
    const h = harness();
    const graph = governed(h, model([
      { name: 'transfer', args: { amount: 500 }, id: 'x' },
      { name: 'transfer', args: { amount: 5 }, id: 'x' },
    ]));
    await graph.invoke(human('go'), threadConfig('dup-id-review-allow'));
    expect(h.ran.filter((r) => r === 'transfer(500)')).toEqual([]);
  });

  it('ids that are Object.prototype names (constructor, __proto__, toString) never run a high-stakes call unreviewed', async () => {
    const h = harness();
    const graph = governed(h, model([
      { name: 'transfer', args: { amount: 5000 }, id: 'constructor' },
      { name: 'transfer', args: { amount: 6000 }, id: '__proto__' },
      { name: 'transfer', args: { amount: 7000 }, id: 'toString' },
    ]));
    const config = threadConfig('proto-ids');
    const out = await graph.invoke(human('go'), config);
    expect(h.ran).toEqual([]);
    if (pendingReviews(out).length > 0) {
      await graph.invoke(new Command({ resume: {} }), config);
      expect(h.ran).toEqual([]);
    }
  });

  it('an id reused on a later turn of the same thread (second invoke) never runs the new args on the old Decision', async () => {
    const h = harness();
    const graph = governed(h, model([{ name: 'transfer', args: { amount: 5 }, id: 'c1' }], [{ name: 'transfer', args: { amount: 5000 }, id: 'c1' }], [{ name: 'transfer', args: { amount: 5 }, id: 'c1' }]));
    const config = threadConfig('reuse-id');
    await graph.invoke(human('pay 5'), config);
    expect(h.ran).toEqual(['transfer(5)']);
    const second = await graph.invoke(human('pay 5000'), config);
    // Either paused for a human or refused: never run on the allow for 5.
    expect(h.ran).toEqual(['transfer(5)']);
    if (pendingReviews(second).length > 0) await graph.invoke(new Command({ resume: { c1: { approved: false } } }), config);
    await graph.invoke(human('pay 5 again'), config);
    expect(h.ran).toEqual(['transfer(5)']);
  });
});

describe('renamed tools', () => {
  it('a name differing in case or with spaces from the high-stakes one never runs a body', async () => {
    const h = harness();
    const graph = governed(h, model([
      { name: 'Transfer', args: { amount: 5000 }, id: 'a' },
      { name: 'TRANSFER', args: { amount: 5000 }, id: 'b' },
      { name: ' transfer', args: { amount: 5000 }, id: 'c' },
      { name: 'transfer\u200b', args: { amount: 5000 }, id: 'd' },
    ]));
    const out = await graph.invoke(human('go'), threadConfig('renamed'));
    expect(h.ran).toEqual([]);
    expect([...toolMessagesById(out.messages).values()].map((m) => m.status)).toEqual(['error', 'error', 'error', 'error']);
  });

  it('a tool not on the high-stakes list runs unreviewed, exactly once, even next to a call waiting for a human only after the answer', async () => {
    const h = harness();
    const graph = governed(h, model([
      { name: 'lookup', args: { q: 'a' }, id: 'l' },
      { name: 'transfer', args: { amount: 500 }, id: 'big' },
    ]));
    const config = threadConfig('not-high-stakes');
    await graph.invoke(human('go'), config);
    expect(h.ran).toEqual([]);
    await graph.invoke(new Command({ resume: { big: { approved: false } } }), config);
    expect(h.ran).toEqual(['lookup(a)']);
    expect(h.reviewed.map((r) => r.call.tool)).toEqual(['transfer']);
  });
});

describe('pauses and state edits around the turn', () => {
  it("interruptBefore ['tools'] then updateState raising the args: the review sees the raised call and pauses; nothing runs before the answer", async () => {
    const h = harness();
    const graph = governed(h, model([{ name: 'transfer', args: { amount: 5 }, id: 'c1' }, { name: 'lookup', args: { q: 'a' }, id: 'l' }]), {}, { interruptBefore: ['tools'] });
    const config = threadConfig('before-tools-raise');
    await graph.invoke(human('go'), config);
    const state = await graph.getState(config);
    expect(state.next).toEqual(['tools']);
    const ai = (state.values.messages as AIMessage[]).findLast((m) => AIMessage.isInstance(m))!;
    await graph.updateState(config, { messages: [new AIMessage({ id: ai.id!, content: '', tool_calls: (ai.tool_calls ?? []).map((c) => (c.name === 'transfer' ? { ...c, args: { amount: 5000 } } : c)) })] });
    const paused = await graph.invoke(null, config);
    expect(h.ran).toEqual([]);
    expect(pendingReviews(paused).map((r) => [r.tool_call_id, r.args])).toEqual([['c1', { amount: 5000 }]]);
    await graph.invoke(new Command({ resume: { c1: { approved: false } } }), config);
    expect(h.ran).toEqual([]); // paused again before the tools (interruptBefore)
    await graph.invoke(null, config);
    expect(h.ran).toEqual(['lookup(a)']);
  });

  it("interruptAfter ['tools'] on a review turn, updateState lowering the args to an allowed value: the approval for 500 never runs another call", async () => {
    const h = harness();
    const graph = governed(h, model([{ name: 'transfer', args: { amount: 500 }, id: 'c1' }]), {}, { interruptAfter: ['tools'] });
    const config = threadConfig('after-tools-change');
    await graph.invoke(human('go'), config);
    expect(h.ran).toEqual([]);
    const state = await graph.getState(config);
    expect(state.next).toEqual(['human_gate']);
    const ai = (state.values.messages as AIMessage[]).findLast((m) => AIMessage.isInstance(m))!;
    await graph.updateState(config, { messages: [new AIMessage({ id: ai.id!, content: '', tool_calls: [{ ...ai.tool_calls![0]!, args: { amount: 50 } }] })] });
    const paused = await graph.invoke(null, config);
    const shown = pendingReviews(paused);
    await graph.invoke(new Command({ resume: hitlResume(paused, shown.map(() => ({ type: 'approve' as const }))) }), config);
    // 500 was approved (the digest); the call now says 50: neither runs on that approval.
    expect(h.ran).toEqual([]);
  });

  it("interruptBefore ['human_gate'] then updateState appending a second AIMessage with a new call: it is reviewed, and nothing runs before the human", async () => {
    const h = harness();
    const graph = governed(h, model([{ name: 'transfer', args: { amount: 500 }, id: 'c1' }]), {}, { interruptBefore: ['human_gate'] });
    const config = threadConfig('before-gate-inject');
    await graph.invoke(human('go'), config);
    expect((await graph.getState(config)).next).toEqual(['human_gate']);
    await graph.updateState(config, { messages: [new AIMessage({ content: '', tool_calls: [{ id: 'c2', name: 'transfer', args: { amount: 900 }, type: 'tool_call' }] })] });
    const paused = await graph.invoke(null, config);
    expect(h.ran).toEqual([]);
    // Whatever is pending now, approving it runs at most the calls it names, each once.
    const shown = pendingReviews(paused);
    if (shown.length > 0) await graph.invoke(new Command({ resume: Object.fromEntries(shown.map((r) => [r.tool_call_id, { approved: true, digest: r.digest }])) }), config);
    expect(h.ran.filter((r) => r === 'transfer(500)').length).toBeLessThanOrEqual(1);
    expect(h.ran.filter((r) => r === 'transfer(900)').length).toBeLessThanOrEqual(1);
    const approvedIds = shown.map((r) => r.tool_call_id);
    if (!approvedIds.includes('c2')) expect(h.ran).not.toContain('transfer(900)');
  });

  it('two forks replayed at once from before the tools step run the allowed call once', async () => {
    const h = harness();
    const graph = governed(h, model([{ name: 'transfer', args: { amount: 5 }, id: 'c1' }]));
    const config = threadConfig('parallel-forks');
    await graph.invoke(human('go'), config);
    const before = await beforeNode(graph, config, 'tools');
    await Promise.all([graph.invoke(null, before as never), graph.invoke(null, before as never), graph.invoke(null, before as never)]);
    expect(h.ran).toEqual(['transfer(5)']);
  });

  it('a fork after the pause (before human_gate) with the review Decision rewritten by a node write is refused at the digest check when the args differ', async () => {
    const h = harness();
    const graph = governed(h, model([{ name: 'transfer', args: { amount: 500 }, id: 'c1' }]));
    const config = threadConfig('fork-rewrite');
    const paused = await graph.invoke(human('go'), config);
    const decision = (await graph.getState(config)).values.toolgateDecisions.c1 as Decision;
    expect(decision.verdict).toBe('review');
    // Change the call's args while paused; the review Decision stays bound to 500.
    const ai = ((await graph.getState(config)).values.messages as AIMessage[]).findLast((m) => AIMessage.isInstance(m))!;
    await graph.updateState(config, { messages: [new AIMessage({ id: ai.id!, content: '', tool_calls: [{ ...ai.tool_calls![0]!, args: { amount: 50_000 } }] })] });
    await graph.invoke(new Command({ resume: { c1: { approved: true, digest: pendingReviews(paused)[0]!.digest } } }), config);
    expect(h.ran).toEqual([]);
  });
});

describe('the reviewer fails', () => {
  const throwing = (): ReviewerVerdict => {
    throw new Error('reviewer down');
  };

  it('a reviewer that throws (fail closed): no call of the turn that needs review runs, the others do, once', async () => {
    const h = harness({ policy: (r) => (r.call.tool === 'transfer' ? throwing() : { verdict: 'allow', reason: 'ok' }) });
    const graph = governed(h, model([
      { name: 'transfer', args: { amount: 5 }, id: 't' },
      { name: 'lookup', args: { q: 'a' }, id: 'l' },
    ]));
    const out = await graph.invoke(human('go'), threadConfig('reviewer-throws'));
    expect(h.ran).toEqual(['lookup(a)']);
    expect((toolMessagesById(out.messages).get('t')?.artifact as Decision).source).toBe('fail_closed');
  });

  it('a reviewer that never answers (timeout, fail closed) runs nothing high-stakes', async () => {
    const ran: string[] = [];
    const gate = createGate({
      reviewer: callbackReviewer(() => new Promise<ReviewerVerdict>(() => {})),
      highStakes: HIGH_STAKES,
      failMode: 'closed',
      telemetry: false,
      timeoutMs: 20,
    });
    const h: Harness = { ...harness(), gate, ran, tools: makeTools(ran) };
    const graph = governed(h, model([{ name: 'transfer', args: { amount: 5 }, id: 't' }, { name: 'shell', args: { cmd: 'ls' }, id: 's' }]));
    const out = await graph.invoke(human('go'), threadConfig('reviewer-timeout'));
    expect(ran).toEqual([]);
    expect([...toolMessagesById(out.messages).values()].map((m) => m.status)).toEqual(['error', 'error']);
  });

  it("a reviewer that throws on the human's approval re-check: the approved call does not run", async () => {
    let reviews = 0;
    const h = harness({
      policy: (r: ReviewRequest) => {
        if (r.dryRun) throw new Error('down at the re-check');
        reviews++;
        return { verdict: 'review', reason: 'ask' };
      },
    });
    const graph = governed(h, model([{ name: 'transfer', args: { amount: 500 }, id: 'c1' }]));
    const config = threadConfig('recheck-throws');
    await graph.invoke(human('go'), config);
    await graph.invoke(new Command({ resume: { c1: { approved: true } } }), config);
    expect(reviews).toBe(1);
    // Core may or may not re-check; if it does and the re-check fails, the call is refused.
    if (h.rechecked.length > 0) expect(h.ran).toEqual([]);
    else expect(h.ran).toEqual(['transfer(500)']);
  });
});

describe('other wirings', () => {
  it('Send to the tools node (lg_tool_call): a call that needs a human is refused, an allowed one runs once', async () => {
    const h = harness();
    const m = model([
      { name: 'transfer', args: { amount: 500 }, id: 'big' },
      { name: 'transfer', args: { amount: 5 }, id: 'small' },
    ]);
    const graph = new StateGraph(GovernedState)
      .addNode('agent', async (s: typeof GovernedState.State) => ({ messages: [await m.invoke(s.messages)] }))
      .addNode('tools', governedToolNode(h.tools, h.gate, { reviewTurn: true }))
      .addNode('human_gate', humanGateNode(h.gate))
      .addEdge(START, 'agent')
      .addConditionalEdges('agent', (s: typeof GovernedState.State) => {
        const last = s.messages.at(-1) as AIMessage;
        return (last.tool_calls ?? []).length > 0 ? (last.tool_calls ?? []).map((c) => new Send('tools', { ...s, lg_tool_call: c })) : END;
      })
      .addEdge('tools', 'agent')
      .compile({ checkpointer: new MemorySaver() });
    await graph.invoke(human('go'), threadConfig('send'));
    expect(h.ran).toEqual(['transfer(5)']);
  });

  it('Send with a forged Decision for another call id rides nowhere: the lg_tool_call is checked against its own id and digest', async () => {
    const h = harness();
    const allowSmall = await h.gate.review({ tool: 'transfer', args: { amount: 5 }, callId: 'small', runId: 'send-forged' });
    const node = governedToolNode(h.tools, h.gate, { reviewTurn: true });
    const out = (await node.invoke(
      { messages: [], toolgateDecisions: { small: allowSmall, big: { ...allowSmall, callId: 'big' } }, lg_tool_call: { id: 'big', name: 'transfer', args: { amount: 5000 }, type: 'tool_call' } },
      threadConfig('send-forged'),
    )) as { messages: ToolMessage[] } | ToolMessage[];
    expect(h.ran).toEqual([]);
    const msgs = Array.isArray(out) ? out : out.messages;
    expect(msgs.map((x) => x.status)).toEqual(['error']);
  });

  it('hand-wired reviewTurn: true + routeAfterTools: a review turn runs nothing before the answer, one interrupt', async () => {
    const h = harness();
    const m = model([{ name: 'lookup', args: { q: 'a' }, id: 'l' }, { name: 'transfer', args: { amount: 5 }, id: 's' }, { name: 'transfer', args: { amount: 500 }, id: 'b' }]);
    const graph = new StateGraph(GovernedState)
      .addNode('agent', async (s: typeof GovernedState.State) => ({ messages: [await m.invoke(s.messages)] }))
      .addNode('tools', governedToolNode(h.tools, h.gate, { reviewTurn: true }))
      .addNode('human_gate', humanGateNode(h.gate))
      .addEdge(START, 'agent')
      .addConditionalEdges('agent', toolsCondition, { tools: 'tools', __end__: END })
      .addConditionalEdges('tools', routeAfterTools(), ['human_gate', 'agent'])
      .addConditionalEdges('human_gate', routeAfterGovernance(), ['tools', 'agent'])
      .compile({ checkpointer: new MemorySaver() });
    const config = threadConfig('hand-wired');
    expect((await stepsOf(graph.stream(human('go'), updates(config)))).interrupts).toBe(1);
    expect(h.ran).toEqual([]);
    await graph.invoke(new Command({ resume: { b: { approved: true } } }), config);
    expect([...h.ran].sort()).toEqual(['lookup(a)', 'transfer(5)', 'transfer(500)']);
  });

  it('reviewTurn: true with a plain tools → agent edge (human gate forgotten): the review call never runs', async () => {
    const h = harness();
    const m = model([{ name: 'transfer', args: { amount: 500 }, id: 'b' }, { name: 'transfer', args: { amount: 5 }, id: 's' }]);
    const graph = new StateGraph(GovernedState)
      .addNode('agent', async (s: typeof GovernedState.State) => ({ messages: [await m.invoke(s.messages)] }))
      .addNode('tools', governedToolNode(h.tools, h.gate, { reviewTurn: true }))
      .addEdge(START, 'agent')
      .addConditionalEdges('agent', toolsCondition, { tools: 'tools', __end__: END })
      .addEdge('tools', 'agent')
      .compile({ checkpointer: new MemorySaver() });
    await graph.invoke(human('go'), threadConfig('no-gate'));
    expect(h.ran).toEqual([]);
  });

  it('a graph without the toolgateDecisions channel fails closed with the turn review', async () => {
    const h = harness();
    const m = model([{ name: 'transfer', args: { amount: 5 }, id: 't' }, { name: 'lookup', args: { q: 'a' }, id: 'l' }]);
    const { MessagesAnnotation } = await import('@langchain/langgraph');
    const builder = new StateGraph(MessagesAnnotation)
      .addNode('agent', async (s: typeof MessagesAnnotation.State) => ({ messages: [await m.invoke(s.messages)] }))
      .addEdge(START, 'agent');
    const graph = addGovernance(builder, { gate: h.gate, tools: h.tools }).compile({ checkpointer: new MemorySaver() });
    await expect(graph.invoke(human('go'), threadConfig('no-channel'))).rejects.toThrow(/toolgateDecisions/);
    expect(h.ran).toEqual([]);
  });

  it('a toolNode passed to addGovernance with its own options (handleToolErrors: false): a throwing high-stakes tool aborts the step; the retry runs nothing twice', async () => {
    const h = harness();
    let boom = 0;
    const flaky = tool(
      async ({ amount }: { amount: number }) => {
        boom++;
        h.ran.push(`transfer(${amount})`);
        throw new Error('bank down');
      },
      { name: 'transfer', description: 'Transfer money', schema: z.object({ amount: z.number() }) },
    );
    const [, shell, lookup] = h.tools;
    const toolNode = governedToolNode([flaky, shell!, lookup!], h.gate, { handleToolErrors: false });
    const graph = governed(h, model([{ name: 'transfer', args: { amount: 5 }, id: 't' }, { name: 'lookup', args: { q: 'a' }, id: 'l' }]), { tools: undefined, toolNode });
    const config = threadConfig('tool-throws');
    await expect(graph.invoke(human('go'), config)).rejects.toThrow(/bank down/);
    expect(boom).toBe(1);
    await graph.invoke(null, config).catch(() => undefined);
    await graph.invoke(null, config).catch(() => undefined);
    expect(boom).toBe(1);
  });

  it('a high-stakes tool that returns its own Command routing back to the tools node runs once', async () => {
    const h = harness();
    let runs = 0;
    const loop = tool(
      async (_args: { amount: number }) => {
        runs++;
        return new Command({ goto: 'tools' });
      },
      { name: 'transfer', description: 'Transfer money', schema: z.object({ amount: z.number() }) },
    );
    const [, shell, lookup] = h.tools;
    const graph = governed(h, model([{ name: 'transfer', args: { amount: 5 }, id: 't' }]), { tools: [loop, shell!, lookup!] });
    await graph.invoke(human('go'), { ...threadConfig('tool-goto-tools'), recursionLimit: 12 }).catch(() => undefined);
    expect(runs).toBe(1);
  });
});

describe('streaming', () => {
  it('streamEvents and stream(values) on a review turn: nothing runs before the answer, one interrupt, approved call once', async () => {
    const h = harness();
    const graph = governed(h, model([{ name: 'transfer', args: { amount: 5 }, id: 's' }, { name: 'transfer', args: { amount: 500 }, id: 'b' }]));
    const config = threadConfig('stream-events');
    let toolEnds = 0;
    for await (const ev of graph.streamEvents(human('go'), { ...config, version: 'v2' })) if (ev.event === 'on_tool_end') toolEnds++;
    expect(toolEnds).toBe(0);
    expect(h.ran).toEqual([]);
    expect(pendingReviews(await graph.getState(config))).toHaveLength(1);
    for await (const _ of await graph.stream(new Command({ resume: { b: { approved: true } } }), { ...config, streamMode: 'values' })) void _;
    expect([...h.ran].sort()).toEqual(['transfer(5)', 'transfer(500)']);
    // Streaming the finished thread again from the top of the tools step runs nothing again.
    for await (const _ of await graph.stream(null, { ...(await beforeNode(graph, config, 'tools')), streamMode: 'updates' } as never)) void _;
    expect([...h.ran].sort()).toEqual(['transfer(5)', 'transfer(500)']);
  });
});

describe('a toolNode built with another gate', () => {
  it('is refused by addGovernance: the turn would be reviewed by one gate and enforced by another (a tool only the graph gate lists ran again on a replay)', async () => {
    const h = harness();
    const other = createGate({ reviewer: callbackReviewer(() => ({ verdict: 'allow', reason: 'ok' })), highStakes: [], failMode: 'closed', telemetry: false });
    const toolNode = governedToolNode(h.tools, other);
    expect(() => governed(h, model([{ name: 'transfer', args: { amount: 5 }, id: 'c1' }]), { tools: undefined, toolNode })).toThrow(/another gate/);
    expect(toolNode.reviewsTurns).toBe(false);
    // The same node with its own gate is accepted, and a replay does not run the call twice.
    const h2: Harness = { ...h, gate: other };
    const graph = governed(h2, model([{ name: 'transfer', args: { amount: 5 }, id: 'c1' }]), { tools: undefined, toolNode });
    const config = threadConfig('other-gate');
    await graph.invoke(human('go'), config);
    expect(h.ran).toEqual(['transfer(5)']); // not high-stakes for this gate: runs as in ToolNode
  });
});

describe('an edit that needs a second approver', () => {
  it('the edited call does not run on one approval: the turn answers it with an error (fail closed), never with the original args', async () => {
    const h = harness({
      policy: (r) => (r.call.tool === 'transfer' && ((r.call.args as { amount: number }).amount ?? 0) > 100 ? { verdict: 'review', reason: 'two approvers', approvals: { required: 2 } } : { verdict: 'allow', reason: 'ok' }),
    });
    const graph = governed(h, model([{ name: 'transfer', args: { amount: 500 }, id: 'c1' }]));
    const config = threadConfig('edit-two-approvers');
    await graph.invoke(human('go'), config);
    const second = await graph.invoke(new Command({ resume: { decisions: [{ type: 'edit', editedAction: { name: 'transfer', args: { amount: 700 } }, approver: 'alice' }] } }), config);
    expect(h.ran).toEqual([]);
    expect(toolMessagesById(second.messages).get('c1')?.status).toBe('error');
    // A late second approval (a replayed resume) runs nothing either.
    await graph.invoke(new Command({ resume: { c1: { approved: true, approver: 'bob' } } }), config);
    expect(h.ran).toEqual([]);
  });
});

describe('arguments and predicates', () => {
  function predicateHarness(): Harness {
    const base = harness();
    const gate = createGate({
      reviewer: callbackReviewer((request) => {
        (request.dryRun ? base.rechecked : base.reviewed).push(request);
        const amount = (request.call.args as { amount?: number }).amount ?? 0;
        return amount > 100 ? { verdict: 'review', reason: 'amount > 100' } : { verdict: 'allow', reason: 'ok' };
      }),
      highStakes: [{ tool: 'transfer', when: (a) => ((a as { amount?: number }).amount ?? 0) > 10 }, 'shell'],
      failMode: 'closed',
      telemetry: false,
    });
    return { ...base, gate };
  }

  it('args sent as a JSON string are judged, reviewed and run as the object they parse to', async () => {
    const h = predicateHarness();
    const graph = governed(h, model([
      { name: 'transfer', args: '{"amount": 5000, "apiKey": "sk-secret"}' as never, id: 'big' },
      { name: 'transfer', args: '{"amount": 50}' as never, id: 'mid' },
    ]));
    const config = threadConfig('string-args');
    const paused = await graph.invoke(human('go'), config);
    expect(h.ran).toEqual([]);
    // The human sees the call (as the model sent it: a JSON string) with its secrets redacted.
    const args = pendingReviews(paused).map((r) => [r.tool_call_id, typeof r.args === 'string' ? JSON.parse(r.args) : r.args]);
    expect(args).toEqual([['big', { amount: 5000, apiKey: '[REDACTED]' }]]);
    await graph.invoke(new Command({ resume: { big: { approved: false } } }), config);
    expect(h.ran).toEqual(['transfer(50)']);
  });

  it('a { tool, when } predicate with args whose toJSON hides the amount: never runs a high amount unreviewed', async () => {
    const h = predicateHarness();
    const hidden = { amount: 5, toJSON: () => ({ amount: 5000 }) };
    const shown = { amount: 5000, toJSON: () => ({ amount: 5 }) };
    const graph = governed(h, model([
      { name: 'transfer', args: hidden, id: 'a' },
      { name: 'transfer', args: shown, id: 'b' },
    ]));
    const config = threadConfig('predicate-tojson');
    const out = await graph.invoke(human('go'), config);
    // Whatever was paused or refused, no body ever saw 5000 without a human's approval.
    expect(h.ran.filter((r) => r === 'transfer(5000)')).toEqual([]);
    if (pendingReviews(out).length > 0) {
      await graph.invoke(new Command({ resume: Object.fromEntries(pendingReviews(out).map((r) => [r.tool_call_id, { approved: false }])) }), config);
      expect(h.ran.filter((r) => r === 'transfer(5000)')).toEqual([]);
    }
  });
});

describe('threads that move on', () => {
  it('a review abandoned with a new message, then the same id for a smaller call: the stale review approves nothing', async () => {
    const h = harness();
    const graph = governed(h, model([{ name: 'transfer', args: { amount: 500 }, id: 'x' }], [{ name: 'transfer', args: { amount: 5 }, id: 'x' }]));
    const config = threadConfig('abandoned');
    await graph.invoke(human('pay 500'), config);
    expect(h.ran).toEqual([]);
    const next = await graph.invoke(human('no, pay 5'), config);
    const shown = pendingReviews(next);
    if (shown.length > 0) await graph.invoke(new Command({ resume: Object.fromEntries(shown.map((r) => [r.tool_call_id, { approved: true, digest: r.digest }])) }), config);
    // At most the 5 runs, once; 500 never (nobody approved it).
    expect(h.ran.filter((r) => r === 'transfer(500)')).toEqual([]);
    expect(h.ran.length).toBeLessThanOrEqual(1);
  });

  it('the governed graph as a subgraph node of a parent: pause, approve, a second resume — the call runs once', async () => {
    const h = harness();
    const inner = (() => {
      const m = model([{ name: 'transfer', args: { amount: 500 }, id: 'big' }, { name: 'transfer', args: { amount: 5 }, id: 'small' }]);
      const builder = new StateGraph(GovernedState)
        .addNode('agent', async (s: typeof GovernedState.State) => ({ messages: [await m.invoke(s.messages)] }))
        .addEdge(START, 'agent');
      return addGovernance(builder, { gate: h.gate, tools: h.tools }).compile();
    })();
    const parent = new StateGraph(GovernedState).addNode('inner', inner).addEdge(START, 'inner').addEdge('inner', END).compile({ checkpointer: new MemorySaver() });
    const config = threadConfig('subgraph');
    const paused = await parent.invoke(human('go'), config);
    expect(h.ran).toEqual([]);
    expect(pendingReviews(paused).map((r) => r.tool_call_id)).toEqual(['big']);
    await parent.invoke(new Command({ resume: { big: { approved: true } } }), config);
    await parent.invoke(new Command({ resume: { big: { approved: true } } }), config);
    expect([...h.ran].sort()).toEqual(['transfer(5)', 'transfer(500)']);
  });
});

describe('more ids, races and forged state', () => {
  it('an empty or numeric tool_call id: a call needing a human is refused, never run', async () => {
    const h = harness();
    const graph = governed(h, model([
      { name: 'transfer', args: { amount: 5000 }, id: '' },
      { name: 'transfer', args: { amount: 6000 }, id: 7 as never },
      { name: 'transfer', args: { amount: 5 }, id: 'ok' },
    ]));
    await graph.invoke(human('go'), threadConfig('odd-ids'));
    expect(h.ran.filter((r) => r !== 'transfer(5)')).toEqual([]);
    expect(h.ran.filter((r) => r === 'transfer(5)').length).toBeLessThanOrEqual(1);
  });

  it('two resumes of one pause raced at once run the approved call once', async () => {
    const h = harness();
    const graph = governed(h, model([{ name: 'transfer', args: { amount: 500 }, id: 'big' }]));
    const config = threadConfig('raced-resumes');
    await graph.invoke(human('go'), config);
    const resume = () => graph.invoke(new Command({ resume: { big: { approved: true } } }), config).catch(() => undefined);
    await Promise.all([resume(), resume(), resume()]);
    expect(h.ran).toEqual(['transfer(500)']);
  });

  it('the tools node sent the same turn twice in one step (two Sends): each allowed call runs once', async () => {
    const h = harness();
    const m = model([{ name: 'transfer', args: { amount: 5 }, id: 't' }, { name: 'lookup', args: { q: 'a' }, id: 'l' }]);
    const graph = new StateGraph(GovernedState)
      .addNode('agent', async (s: typeof GovernedState.State) => ({ messages: [await m.invoke(s.messages)] }))
      .addNode('tools', governedToolNode(h.tools, h.gate, { reviewTurn: { humanGate: 'human_gate', agent: 'agent' } }), { ends: ['human_gate', 'agent'] })
      .addNode('human_gate', humanGateNode(h.gate))
      .addEdge(START, 'agent')
      .addConditionalEdges('agent', (s: typeof GovernedState.State) => ((s.messages.at(-1) as AIMessage).tool_calls?.length ? [new Send('tools', s), new Send('tools', s)] : END))
      .addConditionalEdges('human_gate', routeAfterGovernance(), ['tools', 'agent'])
      .compile({ checkpointer: new MemorySaver() });
    await graph.invoke(human('go'), { ...threadConfig('double-send'), recursionLimit: 10 }).catch(() => undefined);
    expect(h.ran.filter((r) => r === 'transfer(5)')).toEqual(['transfer(5)']);
  });

  it('a Decision forged into the input state for another digest or another tool is refused, the call is not run', async () => {
    const h = harness();
    const real = await h.gate.review({ tool: 'transfer', args: { amount: 5 }, callId: 'c1', runId: 'forged-input' });
    const graph = governed(h, model([{ name: 'transfer', args: { amount: 5000 }, id: 'c1' }, { name: 'shell', args: { cmd: 'rm -rf /' }, id: 'c2' }]));
    const out = await graph.invoke({ ...human('go'), toolgateDecisions: { c1: real, c2: { ...real, callId: 'c2' } } }, threadConfig('forged-input'));
    expect(h.ran).toEqual([]);
    expect([...toolMessagesById(out.messages).values()].map((m) => m.status)).toEqual(['error', 'error']);
  });
});

describe('Decision objects and call objects from elsewhere', () => {
  it('carried out of a paused turn into another thread for the same id and tool with other args: not taken there (issued for another thread), nothing runs', async () => {
    // Thread B's own call is denied by the policy: only the leaked Decision could run anything there.
    const h = harness({ policy: (r) => (r.call.runId === 'leak-b' ? { verdict: 'deny', reason: 'not in thread b' } : defaultPolicy(r)) });
    const a = governed(h, model([{ name: 'transfer', args: { amount: 5 }, id: 'c1' }, { name: 'transfer', args: { amount: 500 }, id: 'c2' }]));
    // The turn waits for a human (c2), so c1's allowing Decision is written but not run or claimed.
    let leaked: Decision | undefined;
    for await (const chunk of await a.stream(human('go'), { ...threadConfig('leak-a'), streamMode: 'values' as const })) {
      leaked = (chunk as { toolgateDecisions?: Record<string, Decision> }).toolgateDecisions?.c1 ?? leaked;
    }
    expect(leaked?.verdict).toBe('allow');
    expect(h.ran).toEqual([]);
    const b = governed(h, model([{ name: 'transfer', args: { amount: 50 }, id: 'c1' }]));
    const out = await b.invoke({ ...human('go'), toolgateDecisions: { c1: leaked! } }, threadConfig('leak-b'));
    expect(h.ran).toEqual([]);
    expect(toolMessagesById(out.messages).get('c1')?.status).toBe('error');
  });

  it('a tool call whose name is a getter (lookup to the checks, shell to the tool lookup) never runs shell unreviewed', async () => {
    const hits: string[] = [];
    for (let pre = 0; pre <= 8; pre++) {
      const h = harness();
      let reads = 0;
      const call = { args: { cmd: 'rm -rf /', q: 'x' }, id: `g${pre}`, type: 'tool_call' as const };
      Object.defineProperty(call, 'name', { enumerable: true, get: () => (reads++ < pre ? 'lookup' : 'shell') });
      let turn = 0;
      const builder = new StateGraph(GovernedState)
        .addNode('agent', async () => {
          if (turn++ > 0) return { messages: [new AIMessage('done')] };
          const m = new AIMessage({ content: '', tool_calls: [] });
          m.tool_calls = [call as never];
          return { messages: [m] };
        })
        .addEdge(START, 'agent');
      await addGovernance(builder, { gate: h.gate, tools: h.tools }).compile({ checkpointer: new MemorySaver() }).invoke(human('go'), threadConfig(`getter-${pre}`)).catch(() => undefined);
      if (h.ran.some((r) => r.startsWith('shell'))) hits.push(`pre=${pre}: ${h.ran.join(',')}`);
    }
    expect(hits).toEqual([]);
  });
});

describe('restarts (a fresh gate on the same ledger and checkpoints)', () => {
  const closers: Array<() => Promise<void> | undefined> = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((c) => c()));
  });

  function processWith(path: string, saver: MemorySaver, ran: string[], calls: Call[], toolNodeOptions: { handleToolErrors?: boolean } = {}, failing?: Set<string>) {
    const ledger = sqliteLedger(path);
    closers.push(() => ledger.close?.());
    const gate = createGate({ reviewer: callbackReviewer((r) => ((r.call.args as { amount?: number }).amount ?? 0) > 100 ? { verdict: 'review', reason: 'big' } : { verdict: 'allow', reason: 'ok' }), highStakes: HIGH_STAKES, telemetry: false, ledger });
    const m = model(calls);
    const tools = makeTools(ran);
    if (failing) {
      const orig = tools[0]!;
      tools[0] = tool(
        async ({ amount }: { amount: number }) => {
          ran.push(`transfer(${amount})`);
          if (failing.has(String(amount))) throw new Error('crash');
          return 'ok';
        },
        { name: orig.name, description: orig.description, schema: z.object({ amount: z.number() }) },
      ) as never;
    }
    const builder = new StateGraph(GovernedState)
      .addNode('agent', async (s: typeof GovernedState.State) => ({ messages: [await m.invoke(s.messages)] }))
      .addEdge(START, 'agent');
    return addGovernance(builder, { gate, toolNode: governedToolNode(tools, gate, toolNodeOptions) }).compile({ checkpointer: saver });
  }
  const ledgerFile = () => join(mkdtempSync(join(tmpdir(), 'toolgate-lgattack-')), 'ledger.db');

  it('a mixed turn paused in one process, approved in a second, replayed from both tools steps in a third: each call ran once', async () => {
    const path = ledgerFile();
    const saver = new MemorySaver();
    const ran: string[] = [];
    const calls: Call[] = [{ name: 'transfer', args: { amount: 5 }, id: 'small' }, { name: 'transfer', args: { amount: 500 }, id: 'big' }];
    const config = threadConfig('restart-mixed');
    await processWith(path, saver, ran, calls).invoke(human('go'), config);
    expect(ran).toEqual([]);
    await processWith(path, saver, ran, calls).invoke(new Command({ resume: { big: { approved: true } } }), config);
    expect([...ran].sort()).toEqual(['transfer(5)', 'transfer(500)']);
    const third = processWith(path, saver, ran, calls);
    const forks: object[] = [];
    for await (const st of third.getStateHistory(config)) if (st.next.includes('tools')) forks.push(st.config);
    expect(forks.length).toBeGreaterThanOrEqual(2);
    for (const f of forks) await processWith(path, saver, ran, calls).invoke(null, f as never).catch(() => undefined);
    expect([...ran].sort()).toEqual(['transfer(5)', 'transfer(500)']);
  });

  it('a tools step that crashed half-way (handleToolErrors: false) retried in a new process: what ran does not run again', async () => {
    const path = ledgerFile();
    const saver = new MemorySaver();
    const ran: string[] = [];
    const calls: Call[] = [{ name: 'transfer', args: { amount: 5 }, id: 'a' }, { name: 'transfer', args: { amount: 7 }, id: 'b' }];
    const config = threadConfig('restart-crash');
    await expect(processWith(path, saver, ran, calls, { handleToolErrors: false }, new Set(['7'])).invoke(human('go'), config)).rejects.toThrow(/crash/);
    expect([...ran].sort()).toEqual(['transfer(5)', 'transfer(7)']);
    await processWith(path, saver, ran, calls, { handleToolErrors: false }).invoke(null, config).catch(() => undefined);
    expect([...ran].sort()).toEqual(['transfer(5)', 'transfer(7)']);
  });
});

describe('answers given before anyone was asked', () => {
  it('a resume sent to a thread with no pending interrupt approves nothing the model asks later', async () => {
    const h = harness();
    const graph = governed(h, model([{ name: 'transfer', args: { amount: 500 }, id: 'big' }]));
    const config = threadConfig('pre-resume');
    await graph.invoke(new Command({ resume: { big: { approved: true } }, update: human('go') }), config).catch(() => undefined);
    expect(h.ran).toEqual([]);
    // The real run asks, and the early answer is not taken for it.
    const paused = await graph.invoke(human('go'), config);
    expect(pendingReviews(paused).map((r) => r.tool_call_id)).toEqual(['big']);
    expect(h.ran).toEqual([]);
  });

  it('without a checkpointer a review turn runs nothing (the human gate cannot pause)', async () => {
    const h = harness();
    const m = model([{ name: 'transfer', args: { amount: 500 }, id: 'big' }, { name: 'transfer', args: { amount: 5 }, id: 'small' }]);
    const builder = new StateGraph(GovernedState)
      .addNode('agent', async (s: typeof GovernedState.State) => ({ messages: [await m.invoke(s.messages)] }))
      .addEdge(START, 'agent');
    const graph = addGovernance(builder, { gate: h.gate, tools: h.tools }).compile();
    await graph.invoke(human('go')).catch(() => undefined);
    expect(h.ran).toEqual([]);
  });
});

describe('one toolNode in two graphs', () => {
  it('is refused when the graphs name their nodes differently (the first graph routed to the second one\'s human gate and ended without asking)', async () => {
    const h = harness();
    const toolNode = governedToolNode(h.tools, h.gate);
    const build = (m: ScriptedModel, humanGate: string) => {
      const builder = new StateGraph(GovernedState)
        .addNode('agent', async (s: typeof GovernedState.State) => ({ messages: [await m.invoke(s.messages)] }))
        .addEdge(START, 'agent');
      return addGovernance(builder, { gate: h.gate, toolNode, names: { humanGate } }).compile({ checkpointer: new MemorySaver() });
    };
    const first = build(model([{ name: 'transfer', args: { amount: 500 }, id: 'big' }, { name: 'transfer', args: { amount: 5 }, id: 'small' }]), 'gate_one');
    expect(() => build(model([]), 'gate_two')).toThrow(/another graph/);
    // Same names: the node can serve both; the first graph still pauses, nothing run before the answer.
    build(model([]), 'gate_one');
    const config = threadConfig('shared-node');
    const paused = await first.invoke(human('go'), config);
    expect(pendingReviews(paused).map((r) => r.tool_call_id)).toEqual(['big']);
    expect(h.ran).toEqual([]);
    await first.invoke(new Command({ resume: { big: { approved: true } } }), config);
    expect([...h.ran].sort()).toEqual(['transfer(5)', 'transfer(500)']);
  });
});

describe('createAgent + governanceMiddleware: the same tool_call id twice', () => {
  it('approving what pendingReviews shows (keyed, with or without digest) never runs the call it did not show', async () => {
    const { createAgent } = await import('langchain');
    const { governanceMiddleware } = await import('./middleware/governance-middleware');
    for (const withDigest of [true, false]) {
      const h = harness();
      const agent = createAgent({
        model: model([{ name: 'transfer', args: { amount: 500 }, id: 'x' }, { name: 'transfer', args: { amount: 5000 }, id: 'x' }]),
        tools: h.tools,
        middleware: [governanceMiddleware(h.gate)],
        checkpointer: new MemorySaver(),
      });
      const config = threadConfig(`mw-dup-${withDigest}`);
      const paused = await agent.invoke(human('go'), config);
      expect(h.ran).toEqual([]);
      const shown = pendingReviews(paused);
      const resume = Object.fromEntries(shown.map((r) => [r.tool_call_id, withDigest ? { approved: true, digest: r.digest } : { approved: true }]));
      await agent.invoke(new Command({ resume }), config);
      const shownAmounts = shown.map((r) => `transfer(${(r.args as { amount: number }).amount})`);
      expect(h.ran.filter((r) => !shownAmounts.includes(r))).toEqual([]);
      // The id binds no Decision: both calls refused before anyone is asked.
      expect(shown).toEqual([]);
      expect(h.ran).toEqual([]);
    }
  });
});

describe('a high-stakes tool that asks its own interrupt()', () => {
  it('its side effect after the interrupt happens at most once (the node re-runs on resume and the claim refuses a second start)', async () => {
    const h = harness();
    let started = 0;
    let completed = 0;
    const confirming = tool(
      async ({ amount }: { amount: number }) => {
        started++;
        const ok = interrupt({ confirm: amount });
        if (ok) completed++;
        return `sent ${amount}`;
      },
      { name: 'transfer', description: 'Transfer money', schema: z.object({ amount: z.number() }) },
    );
    const [, shell, lookup] = h.tools;
    const graph = governed(h, model([{ name: 'transfer', args: { amount: 5 }, id: 't' }]), { tools: [confirming, shell!, lookup!] });
    const config = threadConfig('tool-interrupt');
    await graph.invoke(human('go'), config);
    expect(started).toBe(1);
    const done = await graph.invoke(new Command({ resume: true }), config);
    await graph.invoke(new Command({ resume: true }), config).catch(() => undefined);
    expect(completed).toBeLessThanOrEqual(1);
    expect(started).toBe(1);
    // Today the resumed body is refused (ALREADY_EXECUTED: the claim is taken before the body starts),
    // so a tool's own interrupt() cannot complete under GovernedToolNode — fail closed, never twice.
    expect(toolMessagesById(done.messages).get('t')?.status).toBe('error');
  });
});
