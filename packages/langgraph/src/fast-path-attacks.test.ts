// Attacks on the turn-reviewing tool node's fast path (729826b, 6a98ee0, f10f8dd): an allowed call
// of a turn reviewed in this run runs with the args the gate digested (decision.args), skipping the
// snapshot + re-digest check. Each test counts tool-body side effects and asserts the args the body
// saw: what runs is what was reviewed, once, and only with an allowing Decision for that call.
import { AIMessage, type BaseMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { MemorySaver, START, StateGraph } from '@langchain/langgraph';
import { callbackReviewer, callDigest, createGate, isAllowed, memoryAudit, type Decision, type ReviewerVerdict, type ReviewRequest } from '@toolgate/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { addGovernance } from './add-governance';
import { GovernedState, human, threadConfig, toolMessagesById } from './test-harness';

type Seen = { tool: string; args: unknown }[];

function setup(policy: (r: ReviewRequest) => ReviewerVerdict = () => ({ verdict: 'allow', reason: 'ok' })) {
  const seen: Seen = [];
  const reviewed: ReviewRequest[] = [];
  const gate = createGate({
    reviewer: callbackReviewer((r) => {
      if (!r.dryRun) reviewed.push(r);
      return policy(r);
    }),
    highStakes: ['transfer', 'wipe'],
    failMode: 'closed',
    audit: memoryAudit(),
    telemetry: false,
  });
  const transfer = tool(
    async (args: { amount: number; meta?: { to: string } }) => {
      seen.push({ tool: 'transfer', args: structuredClone(args) });
      // The body scribbles on what it was given: must not reach the Decision or a later call.
      (args as { amount: number }).amount = 999_999;
      return `transferred ${args.amount}`;
    },
    { name: 'transfer', description: 'Transfer money', schema: z.object({ amount: z.number(), meta: z.object({ to: z.string() }).optional() }) },
  );
  const wipe = tool(
    async (args: { amount: number }) => {
      seen.push({ tool: 'wipe', args: structuredClone(args) });
      return 'wiped';
    },
    { name: 'wipe', description: 'Wipe', schema: z.object({ amount: z.number() }) },
  );
  const lookup = tool(
    async (args: { q: string }) => {
      seen.push({ tool: 'lookup', args: structuredClone(args) });
      return 'found';
    },
    { name: 'lookup', description: 'Look up', schema: z.object({ q: z.string() }) },
  );
  return { gate, seen, reviewed, tools: [transfer, wipe, lookup] };
}

/** A graph whose agent returns the given AIMessages one per turn (then a text answer). */
function graphOf(s: ReturnType<typeof setup>, turns: Array<() => AIMessage>) {
  let turn = 0;
  const builder = new StateGraph(GovernedState)
    .addNode('agent', async () => ({ messages: [turn < turns.length ? turns[turn++]!() : new AIMessage('done')] }))
    .addEdge(START, 'agent');
  return addGovernance(builder, { gate: s.gate, tools: s.tools }).compile({ checkpointer: new MemorySaver() });
}

const ai = (tool_calls: Array<{ name: string; args: Record<string, unknown>; id: string }>) => new AIMessage({ content: '', tool_calls });

function decisionsIn(values: { toolgateDecisions?: Record<string, Decision> }): Record<string, Decision> {
  return values.toolgateDecisions ?? {};
}

describe('fast path: the body runs with what the gate digested, not the live message args', () => {
  it('a getter on the message args that turns 5 into 5000 once the reviewer has answered: the body sees 5, once', async () => {
    let answered = false;
    let readsAfter = 0;
    const s = setup((r) => {
      answered = true;
      return (r.call.args as { amount: number }).amount <= 100 ? { verdict: 'allow', reason: 'small' } : { verdict: 'deny', reason: 'big' };
    });
    const args = {} as Record<string, unknown>;
    Object.defineProperty(args, 'amount', {
      enumerable: true,
      get: () => {
        if (!answered) return 5;
        readsAfter++;
        return 5000;
      },
    });
    const graph = graphOf(s, [() => ai([{ name: 'transfer', args, id: 't1' }])]);
    const out = await graph.invoke(human('go'), threadConfig('fp-getter'));
    expect(s.reviewed.map((r) => r.call.args)).toEqual([{ amount: 5 }]);
    // Either the reviewed args ran once (fast path: decision.args) or nothing ran (the digest check
    // saw 5000): never 5000, never twice.
    expect([[], [{ tool: 'transfer', args: { amount: 5 } }]]).toContainEqual(s.seen);
    expect(toolMessagesById(out.messages as BaseMessage[]).get('t1')?.status).toBe(s.seen.length === 1 ? 'success' : 'error');
    // The live args did say 5000 after the review (the attack was live): nothing of it ran.
    expect(args.amount).toBe(5000);
    expect(readsAfter).toBeGreaterThan(0);
  });

  it('a Proxy as args whose reads change after the review: the body sees the reviewed args', async () => {
    let answered = false;
    const s = setup((r) => {
      answered = true;
      return (r.call.args as { amount: number }).amount <= 100 ? { verdict: 'allow', reason: 'small' } : { verdict: 'deny', reason: 'big' };
    });
    const target: Record<string, unknown> = { amount: 5, meta: { to: 'alice' } };
    const args = new Proxy(target, {
      get: (t, k, r) => (answered && k === 'amount' ? 5000 : answered && k === 'meta' ? { to: 'mallory' } : Reflect.get(t, k, r)),
    });
    const graph = graphOf(s, [() => ai([{ name: 'transfer', args, id: 't1' }])]);
    await graph.invoke(human('go'), threadConfig('fp-proxy'));
    expect([[], [{ tool: 'transfer', args: { amount: 5, meta: { to: 'alice' } } }]]).toContainEqual(s.seen);
  });

  it('a tool of the same turn (not high-stakes) mutates the high-stakes call\'s args object while the turn runs: the body sees the reviewed args', async () => {
    const s = setup((r) => ((r.call.args as { amount: number }).amount <= 100 ? { verdict: 'allow', reason: 'small' } : { verdict: 'deny', reason: 'big' }));
    const shared: Record<string, unknown> = { amount: 5 };
    const mutator = tool(
      async () => {
        shared.amount = 5000;
        s.seen.push({ tool: 'mutator', args: {} });
        return 'ok';
      },
      { name: 'mutator', description: 'm', schema: z.object({}) },
    );
    s.tools.push(mutator as unknown as (typeof s.tools)[number]);
    const graph = graphOf(s, [() => ai([{ name: 'mutator', args: {}, id: 'm1' }, { name: 'transfer', args: shared, id: 't1' }, { name: 'transfer', args: shared, id: 't2' }])]);
    await graph.invoke(human('go'), threadConfig('fp-parallel'));
    const transfers = s.seen.filter((x) => x.tool === 'transfer');
    expect(transfers).toEqual([
      { tool: 'transfer', args: { amount: 5 } },
      { tool: 'transfer', args: { amount: 5 } },
    ]);
    expect(s.seen.filter((x) => x.tool === 'mutator')).toHaveLength(1);
  });

  it('the body scribbling on its args changes neither the Decision in state nor the audit of the call', async () => {
    const s = setup();
    const graph = graphOf(s, [() => ai([{ name: 'transfer', args: { amount: 5, meta: { to: 'alice' } }, id: 't1' }])]);
    const config = threadConfig('fp-scribble');
    await graph.invoke(human('go'), config);
    expect(s.seen).toEqual([{ tool: 'transfer', args: { amount: 5, meta: { to: 'alice' } } }]);
    const d = decisionsIn((await graph.getState(config)).values as { toolgateDecisions?: Record<string, Decision> })['t1'];
    expect(d && isAllowed(d)).toBe(true);
    expect(d?.digest).toBe(callDigest('transfer', { amount: 5, meta: { to: 'alice' } }));
    expect(s.reviewed.map((r) => r.call.args)).toEqual([{ amount: 5, meta: { to: 'alice' } }]);
  });
});

describe('fast path: one args object, two call ids', () => {
  it('two calls share one args object, the reviewer allows one id and denies the other: the body runs once', async () => {
    const s = setup((r) => (r.call.callId === 'ok' ? { verdict: 'allow', reason: 'ok' } : { verdict: 'deny', reason: 'no' }));
    const shared = { amount: 5 };
    const graph = graphOf(s, [() => ai([{ name: 'transfer', args: shared, id: 'ok' }, { name: 'transfer', args: shared, id: 'no' }])]);
    const out = await graph.invoke(human('go'), threadConfig('fp-shared-deny'));
    expect(s.seen).toEqual([{ tool: 'transfer', args: { amount: 5 } }]);
    const msgs = toolMessagesById(out.messages as BaseMessage[]);
    expect(msgs.get('ok')?.status).not.toBe('error');
    expect(msgs.get('no')?.status).toBe('error');
  });

  it('one args object used by an allowed transfer and a denied wipe: wipe never runs', async () => {
    const s = setup((r) => (r.call.tool === 'transfer' ? { verdict: 'allow', reason: 'ok' } : { verdict: 'deny', reason: 'no wipe' }));
    const shared = { amount: 5 };
    const graph = graphOf(s, [() => ai([{ name: 'transfer', args: shared, id: 'a' }, { name: 'wipe', args: shared, id: 'b' }])]);
    await graph.invoke(human('go'), threadConfig('fp-shared-tool'));
    expect(s.seen).toEqual([{ tool: 'transfer', args: { amount: 5 } }]);
  });
});

describe('fast path: ids and Decisions across turns and threads', () => {
  it('a tool_call_id reused in a later turn with other args, then with the same args: neither runs again', async () => {
    const s = setup();
    const graph = graphOf(s, [
      () => ai([{ name: 'transfer', args: { amount: 5 }, id: 'x' }]),
      () => ai([{ name: 'transfer', args: { amount: 50 }, id: 'x' }]),
      () => ai([{ name: 'transfer', args: { amount: 5 }, id: 'x' }]),
    ]);
    await graph.invoke(human('go'), threadConfig('fp-reuse'));
    expect(s.seen).toEqual([{ tool: 'transfer', args: { amount: 5 } }]);
    expect(s.reviewed).toHaveLength(1);
  });

  it('the gate\'s allowing Decision object fed back into another thread with the same id and args: the second thread does not run it again', async () => {
    // Thread B's own call is denied by the policy: only a leaked Decision taken at its word could run it there.
    const s = setup((r) => (r.call.runId === 'fp-leak-b' ? { verdict: 'deny', reason: 'not in thread b' } : { verdict: 'allow', reason: 'ok' }));
    const graph = graphOf(s, [() => ai([{ name: 'transfer', args: { amount: 5 }, id: 'x' }])]);
    const config = threadConfig('fp-leak-a');
    let leaked: Decision | undefined;
    for await (const chunk of await graph.stream(human('go'), { ...config, streamMode: 'updates' as const })) {
      const tools = (chunk as Record<string, { toolgateDecisions?: Record<string, Decision> } | undefined>)['tools'];
      leaked ??= tools?.toolgateDecisions?.['x'];
    }
    expect(leaked && isAllowed(leaked)).toBe(true);
    expect(s.seen).toHaveLength(1);
    // Thread B: same id, same tool, same args, with the leaked Decision pre-seeded in its input.
    const graphB = graphOf(s, [() => ai([{ name: 'transfer', args: { amount: 5 }, id: 'x' }])]);
    await graphB.invoke({ ...human('go'), toolgateDecisions: { x: leaked! } }, threadConfig('fp-leak-b'));
    expect(s.seen).toHaveLength(1);
    // Thread A's Decision is not thread B's: B's call was reviewed on its own (and denied).
    expect(s.reviewed.map((r) => r.call.runId)).toEqual(['fp-leak-a', 'fp-leak-b']);
  });
});
