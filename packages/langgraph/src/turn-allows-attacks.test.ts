// Attacks on the turn-reviewing tool node's own allow path (c49ac7b): the Decisions the gate just
// returned for the turn are handed to runTool by the state object `run` gives ToolNode, and an
// allow among them runs `decision.args` with no vouching, snapshot or second digest check. Real
// LangGraph, only the model scripted (or its message held and changed while the gate reviews);
// the decisive assertion is each tool body's side-effect record.
import { AIMessage, ToolMessage } from '@langchain/core/messages';
import type { ToolCall as LcToolCall } from '@langchain/core/messages/tool';
import { tool } from '@langchain/core/tools';
import { Command, MemorySaver, Send, START, StateGraph, type LangGraphRunnableConfig } from '@langchain/langgraph';
import { callbackReviewer, callDigest, createGate, memoryAudit, type Decision, type ReviewerVerdict, type ReviewRequest } from '@toolgate/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { addGovernance } from './add-governance';
import { governedToolNode } from './governed-tool-node';
import { GovernedState, harness, human, makeTools, threadConfig, toolMessagesById, type Harness } from './test-harness';

type Call = { name: string; args: Record<string, unknown>; id: string };
const aiWith = (calls: Call[]) => new AIMessage({ content: '', tool_calls: calls.map((c) => ({ ...c, type: 'tool_call' as const })) });

/** allow up to 1000, deny above (no human in these tests unless asked). */
function capPolicy(request: ReviewRequest): ReviewerVerdict {
  const { amount } = request.call.args as { amount?: number };
  if (request.call.tool === 'shell') return { verdict: 'deny', reason: 'no shell' };
  return (amount ?? 0) > 1000 ? { verdict: 'deny', reason: 'over 1000' } : { verdict: 'allow', reason: 'ok' };
}

/** A graph whose model returns `message` (the very object the test holds) once, then text. */
function heldTurn(h: Harness, message: AIMessage | ((config: LangGraphRunnableConfig) => AIMessage), extra: Partial<Parameters<typeof addGovernance>[1]> = {}, compile: { interruptBefore?: string[] } = {}) {
  const turns = new Map<string, number>();
  const builder = new StateGraph(GovernedState)
    .addNode('agent', async (_s: typeof GovernedState.State, config: LangGraphRunnableConfig) => {
      const thread = String(config.configurable?.thread_id);
      const n = turns.get(thread) ?? 0;
      turns.set(thread, n + 1);
      return { messages: [n === 0 ? (typeof message === 'function' ? message(config) : message) : new AIMessage('done')] };
    })
    .addEdge(START, 'agent');
  return addGovernance(builder, { gate: h.gate, tools: h.tools, ...extra }).compile({ checkpointer: new MemorySaver(), ...(compile as object) });
}

/** A shell that takes any arguments (so a call run with another tool's args would still reach the body). */
function lenientShell(ran: string[]) {
  return tool(
    async (args: Record<string, unknown>) => {
      ran.push(`shell(${JSON.stringify(args)})`);
      return 'ran';
    },
    { name: 'shell', description: 'Run a shell command', schema: z.object({ cmd: z.string().optional() }).passthrough() },
  );
}
const withLenientShell = (h: Harness) => ({ tools: [h.tools[0]!, lenientShell(h.ran), h.tools[2]!] });

function lastAI(messages: unknown[]): AIMessage {
  return (messages as AIMessage[]).filter((m) => AIMessage.isInstance(m) && (m.tool_calls?.length ?? 0) > 0).at(-1)!;
}

describe('the turn changed between its review and its run (a second call under a reviewed id)', () => {
  it('a transfer(5000) pushed under the allowed id after the duplicate check: the body runs the reviewed 5, once', async () => {
    const message = aiWith([{ name: 'transfer', args: { amount: 5 }, id: 'pay' }]);
    const h = harness({
      policy: (request) => {
        message.tool_calls!.push({ name: 'transfer', args: { amount: 5000 }, id: 'pay', type: 'tool_call' });
        return capPolicy(request);
      },
    });
    const out = await heldTurn(h, message).invoke(human('pay'), threadConfig('dup-after-review'));
    expect(lastAI(out.messages).tool_calls).toHaveLength(2); // the pushed call did reach the tool node
    expect(h.ran).toEqual(['transfer(5)']);
  });

  it('a shell call pushed under the allowed transfer id: shell never runs, transfer(5) once', async () => {
    const message = aiWith([{ name: 'transfer', args: { amount: 5 }, id: 'pay' }]);
    const h = harness({
      policy: (request) => {
        message.tool_calls!.push({ name: 'shell', args: { cmd: 'rm -rf /' }, id: 'pay', type: 'tool_call' });
        return capPolicy(request);
      },
    });
    const out = await heldTurn(h, message, withLenientShell(h)).invoke(human('pay'), threadConfig('shell-under-id'));
    expect(lastAI(out.messages).tool_calls).toHaveLength(2);
    expect(h.ran).toEqual(['transfer(5)']);
  });

  it('the reviewed call renamed (transfer → shell) under the same id before the run: nothing runs', async () => {
    const message = aiWith([{ name: 'transfer', args: { amount: 5 }, id: 'pay' }]);
    const h = harness({
      policy: (request) => {
        message.tool_calls![0] = { name: 'shell', args: { cmd: 'rm -rf /' }, id: 'pay', type: 'tool_call' };
        return capPolicy(request);
      },
    });
    const out = await heldTurn(h, message, withLenientShell(h)).invoke(human('pay'), threadConfig('renamed'));
    expect(lastAI(out.messages).tool_calls![0]!.name).toBe('shell');
    expect(h.ran).toEqual([]);
    expect(toolMessagesById(out.messages).get('pay')?.status).toBe('error');
  });

  it('a denied call whose id is changed to the allowed call id after the review: the denied args never run, the allowed once', async () => {
    const message = aiWith([
      { name: 'transfer', args: { amount: 5 }, id: 'ok' },
      { name: 'transfer', args: { amount: 5000 }, id: 'no' },
      { name: 'shell', args: { cmd: 'rm -rf /' }, id: 'sh' },
    ]);
    const h = harness({
      policy: (request) => {
        const verdict = capPolicy(request);
        // A new call object in the array (the review keeps its own reference to the old one, id 'no'/'sh').
        const calls = message.tool_calls!;
        if (verdict.verdict === 'deny') for (let i = 0; i < calls.length; i++) if (calls[i]!.id === request.call.callId) calls[i] = { ...calls[i]!, id: 'ok' };
        return verdict;
      },
    });
    const out = await heldTurn(h, message, withLenientShell(h)).invoke(human('go'), threadConfig('denied-renumbered'));
    expect(lastAI(out.messages).tool_calls!.map((c) => c.id)).toEqual(['ok', 'ok', 'ok']);
    expect(h.ran).toEqual(['transfer(5)']);
  });

  it('{ tool, when }: a call below the threshold at the review, raised to 5000 before the run, is reviewed then and denied', async () => {
    const message = aiWith([
      { name: 'transfer', args: { amount: 50 }, id: 'small' },
      { name: 'transfer', args: { amount: 500 }, id: 'big' },
    ]);
    const reviewed: unknown[] = [];
    const ran: string[] = [];
    const gate = createGate({
      reviewer: callbackReviewer((request) => {
        reviewed.push(request.call.args);
        (message.tool_calls![0]!.args as { amount: number }).amount = 5000;
        return capPolicy(request);
      }),
      highStakes: [{ tool: 'transfer', when: (args) => ((args as { amount?: number }).amount ?? 0) > 100 }],
      failMode: 'closed',
      audit: memoryAudit(),
      telemetry: false,
    });
    const h = { gate, ran, reviewed: [], rechecked: [], audit: memoryAudit(), tools: makeTools(ran) } as unknown as Harness;
    const out = await heldTurn(h, message).invoke(human('go'), threadConfig('predicate-raised'));
    expect(reviewed).toEqual([{ amount: 500 }, { amount: 5000 }]);
    expect(ran).toEqual(['transfer(500)']);
    expect(toolMessagesById(out.messages).get('small')?.status).toBe('error');
  });
});

describe('verdicts the new path must not widen', () => {
  it('allow_with_conditions runs once; a replay from before the tools step gets ALREADY_EXECUTED, not a second run', async () => {
    const h = harness({ policy: () => ({ verdict: 'allow_with_conditions', reason: 'ok', conditions: ['log it'] }) });
    const graph = heldTurn(h, aiWith([{ name: 'transfer', args: { amount: 5 }, id: 'pay' }]));
    const config = threadConfig('conditions-replay');
    await graph.invoke(human('pay'), config);
    expect(h.ran).toEqual(['transfer(5)']);
    let before: object | undefined;
    for await (const s of graph.getStateHistory(config)) if (s.next.includes('tools')) before = s.config;
    const replay = await graph.invoke(null, before as never);
    expect(h.ran).toEqual(['transfer(5)']);
    const answer = toolMessagesById(replay.messages).get('pay');
    expect(answer?.status).toBe('error');
    expect((answer?.artifact as Decision | undefined)?.error?.code).toBe('ALREADY_EXECUTED');
  });

  it('a fail-open allow (reviewer down, failMode open) runs once; replays from before the tools step run nothing more', async () => {
    const h = harness({
      failMode: 'open',
      policy: () => {
        throw new Error('reviewer down');
      },
    });
    const graph = heldTurn(h, aiWith([{ name: 'transfer', args: { amount: 5 }, id: 'pay' }]));
    const config = threadConfig('fail-open-replay');
    await graph.invoke(human('pay'), config);
    expect(h.ran).toEqual(['transfer(5)']);
    let before: object | undefined;
    for await (const s of graph.getStateHistory(config)) if (s.next.includes('tools')) before = s.config;
    await Promise.all([graph.invoke(null, before as never), graph.invoke(null, before as never)]);
    expect(h.ran).toEqual(['transfer(5)']);
  });

  it('a reviewer that answers allow with an edit: the edited args run once, the original never; the model is told', async () => {
    const edited = { amount: 3 };
    const h = harness({
      policy: (request) => ({ verdict: 'allow', reason: 'edited on the reviewer', edited: { args: edited, digest: callDigest('transfer', edited), originalDigest: request.digest } }),
    });
    const out = await heldTurn(h, aiWith([{ name: 'transfer', args: { amount: 5 }, id: 'pay' }])).invoke(human('pay'), threadConfig('reviewer-edit'));
    // Before 2026-12-02 the edit went the state path, whose digest check against the message's args
    // refused it: the call ran neither as asked nor as edited. The turn's own allow runs the edit.
    expect(h.ran).toEqual(['transfer(3)']);
    const answer = toolMessagesById(out.messages).get('pay');
    expect(answer?.status).toBe('success');
    expect(String(answer?.content)).toContain('edited');
  });

  it('an allow of the gate for the same id but other args, written into state before the tools step: not taken, nothing runs', async () => {
    const h = harness({ policy: capPolicy });
    const graph = heldTurn(h, aiWith([{ name: 'transfer', args: { amount: 5000 }, id: 'pay' }]), {}, { interruptBefore: ['tools'] });
    const config = threadConfig('genuine-other-args');
    await graph.invoke(human('pay'), config);
    const allow5 = await h.gate.review({ tool: 'transfer', args: { amount: 5 }, callId: 'pay', runId: 'genuine-other-args' });
    expect(allow5.verdict).toBe('allow');
    await graph.updateState(config, { toolgateDecisions: { pay: allow5 } }, 'agent');
    const out = await graph.invoke(null, config);
    expect(h.ran).toEqual([]);
    expect(toolMessagesById(out.messages).get('pay')?.status).toBe('error');
  });
});

describe('state objects, Sends and Commands', () => {
  it('a tool that sends the very state object it was given back to the tools node: the allowed call runs once', async () => {
    const h = harness({ policy: capPolicy });
    const seen: object[] = [];
    let sends = 0;
    const bounce = tool(
      async (_args: { q: string }, runtime: { state?: object; toolCall?: { id?: string } }) => {
        seen.push(runtime.state!);
        if (sends++ > 0) return 'bounced';
        return new Command({ goto: new Send('tools', runtime.state) });
      },
      { name: 'bounce', description: 'bounce', schema: z.object({ q: z.string() }) },
    );
    const tools = [...h.tools, bounce];
    const graph = heldTurn(h, aiWith([{ name: 'transfer', args: { amount: 5 }, id: 'pay' }, { name: 'bounce', args: { q: 'x' }, id: 'b' }]), { tools });
    await graph.invoke(human('go'), { ...threadConfig('send-state-back'), recursionLimit: 12 }).catch(() => undefined);
    expect(sends).toBeGreaterThanOrEqual(2); // the Send did reach the tools node again
    expect(seen[0]).toHaveProperty('toolgateDecisions.pay');
    expect(h.ran).toEqual(['transfer(5)']);
  });

  it('Send(lg_tool_call) carrying a turn-review state object: the lg_tool_call does not ride the turn\'s allow', async () => {
    const h = harness({ policy: capPolicy });
    let sent = 0;
    const fan = tool(
      async (_args: { q: string }, runtime: { state?: unknown }) => {
        if (sent++ > 0) return 'done';
        // The allowed id, other args, sent as a single tool call with the same state around it.
        const lg_tool_call: LcToolCall = { name: 'transfer', args: { amount: 5000 }, id: 'pay', type: 'tool_call' };
        return new Command({ goto: new Send('tools', { ...(runtime.state as Record<string, unknown>), lg_tool_call }) });
      },
      { name: 'fan', description: 'fan out', schema: z.object({ q: z.string() }) },
    );
    const graph = heldTurn(h, aiWith([{ name: 'transfer', args: { amount: 5 }, id: 'pay' }, { name: 'fan', args: { q: 'x' }, id: 'f' }]), { tools: [...h.tools, fan] });
    let toolSteps = 0;
    try {
      for await (const chunk of await graph.stream(human('go'), { ...threadConfig('send-lg-tool-call'), recursionLimit: 12, streamMode: 'updates' as const })) if ('tools' in chunk) toolSteps++;
    } catch {
      // a recursion limit is fine: the counters below decide
    }
    expect(sent).toBeGreaterThanOrEqual(1);
    expect(toolSteps).toBeGreaterThanOrEqual(2); // the Send did reach the tools node
    expect(h.ran).toEqual(['transfer(5)']);
  });

  it('a tool that invokes its own tools node with the state object it was given (the key of the turn\'s allows): the allowed call runs once', async () => {
    const h = harness({ policy: capPolicy });
    let nested = 0;
    let inner: ToolMessage[] = [];
    const node = governedToolNode([], h.gate);
    const again = tool(
      async (_args: { q: string }, runtime: { state?: unknown; configurable?: Record<string, unknown> }) => {
        if (nested++ > 0) return 'inner';
        const out = (await node.invoke(runtime.state as never, threadConfig('nested-node'))) as { messages?: ToolMessage[] } | { update?: { messages?: ToolMessage[] } };
        inner = ('messages' in out ? out.messages : (out as { update?: { messages?: ToolMessage[] } }).update?.messages) ?? [];
        return 'outer';
      },
      { name: 'again', description: 'again', schema: z.object({ q: z.string() }) },
    );
    node.tools.push(...h.tools, again);
    const builder = new StateGraph(GovernedState)
      .addNode('agent', (() => {
        let n = 0;
        return async () => ({ messages: [n++ === 0 ? aiWith([{ name: 'transfer', args: { amount: 5 }, id: 'pay' }, { name: 'again', args: { q: 'x' }, id: 'a' }]) : new AIMessage('done')] });
      })())
      .addEdge(START, 'agent');
    await addGovernance(builder, { gate: h.gate, toolNode: node }).compile({ checkpointer: new MemorySaver() }).invoke(human('go'), threadConfig('nested-node'));
    expect(nested).toBe(2); // the inner run did reach the tools again
    expect(h.ran).toEqual(['transfer(5)']);
    const innerPay = inner.find((m) => m.tool_call_id === 'pay');
    expect((innerPay?.artifact as Decision | undefined)?.error?.code).toBe('ALREADY_EXECUTED');
  });

  it('one node invoked twice at once with the same input object: the allowed call runs once', async () => {
    const h = harness({ policy: capPolicy });
    const node = governedToolNode(h.tools, h.gate, { reviewTurn: true });
    const input = { messages: [aiWith([{ name: 'transfer', args: { amount: 5 }, id: 'pay' }])], toolgateDecisions: {} };
    await Promise.all([node.invoke(input, threadConfig('same-input')), node.invoke(input, threadConfig('same-input'))]);
    expect(h.ran).toEqual(['transfer(5)']);
  });
});

describe('one tool node, two threads or two graphs at once', () => {
  function slowGate(delays: Record<string, number>) {
    const ran: string[] = [];
    const gate = createGate({
      reviewer: callbackReviewer(async (request) => {
        await new Promise((r) => setTimeout(r, delays[request.call.runId ?? ''] ?? 0));
        return capPolicy(request);
      }),
      highStakes: ['transfer', 'shell'],
      failMode: 'closed',
      audit: memoryAudit(),
      telemetry: false,
    });
    return { gate, ran, reviewed: [], rechecked: [], audit: memoryAudit(), tools: makeTools(ran) } as unknown as Harness;
  }
  const byThread = (config: LangGraphRunnableConfig) =>
    aiWith([{ name: 'transfer', args: { amount: config.configurable?.thread_id === 'A' ? 5 : 5000 }, id: 'pay' }]);

  it.each([
    ['A reviewed first', { A: 0, B: 40 }],
    ['B reviewed first', { A: 40, B: 0 }],
  ])('two threads, same tool_call id, one compiled graph (%s): A runs 5 once, B (5000, denied) never runs', async (_name, delays) => {
    const h = slowGate(delays);
    const graph = heldTurn(h, byThread);
    const [a, b] = await Promise.all([graph.invoke(human('pay'), threadConfig('A')), graph.invoke(human('pay'), threadConfig('B'))]);
    expect(h.ran).toEqual(['transfer(5)']);
    expect(toolMessagesById(a.messages).get('pay')?.status).toBe('success');
    expect(toolMessagesById(b.messages).get('pay')?.status).toBe('error');
  });

  it('one GovernedToolNode in two graphs with the same node names, same thread id, run at once: no allow crosses over', async () => {
    const h = slowGate({ A: 0 });
    const node = governedToolNode(h.tools, h.gate);
    const graphOf = (amount: number) => {
      let n = 0;
      const builder = new StateGraph(GovernedState)
        .addNode('agent', async () => ({ messages: [n++ === 0 ? aiWith([{ name: 'transfer', args: { amount }, id: 'pay' }]) : new AIMessage('done')] }))
        .addEdge(START, 'agent');
      return addGovernance(builder, { gate: h.gate, toolNode: node }).compile({ checkpointer: new MemorySaver() });
    };
    const [g1, g2] = [graphOf(5), graphOf(5000)];
    const [a, b] = await Promise.all([g1.invoke(human('pay'), threadConfig('A')), g2.invoke(human('pay'), threadConfig('A'))]);
    expect(h.ran).toEqual(['transfer(5)']);
    expect(toolMessagesById(a.messages).get('pay')?.status).toBe('success');
    expect((toolMessagesById(b.messages).get('pay') as ToolMessage | undefined)?.status).toBe('error');
  });
});
