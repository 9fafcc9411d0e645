// LangChain's own human-in-the-loop shapes on the StateGraph path (addGovernance → human_gate):
// the interrupt is a HITLRequest, the resume a HITLResponse, mapped to core's human decisions.
import { AIMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import { Command, INTERRUPT, isInterrupted } from '@langchain/langgraph';
import type { Decision } from '@toolgate/core';
import { describe, expect, it } from 'vitest';
import type { HitlResponse } from './hitl';
import type { HumanReviewInterrupt } from './human-gate-node';
import { hitlResume, pendingReviews } from './pending-reviews';
import { graphWith, hitlHarness, lastToolMessage } from './hitl-test-support';
import { governedGraph, human, scripted, threadConfig } from './test-harness';

function pausedRequest(paused: unknown): HumanReviewInterrupt {
  if (!isInterrupted<HumanReviewInterrupt>(paused)) throw new Error('expected the run to pause for a human');
  expect(paused[INTERRUPT]).toHaveLength(1);
  return paused[INTERRUPT][0]!.value as HumanReviewInterrupt;
}

const transfer = (amount: number, id = 'c1', extra: Record<string, unknown> = {}) => ({ name: 'transfer', args: { amount, ...extra }, id });
const resume = (r: HitlResponse) => new Command<HitlResponse, Record<string, never>, never>({ resume: r });
const seenBy = (model: ReturnType<typeof scripted>, turn = 1): BaseMessage[] => model.calls[turn]?.messages ?? [];

describe('StateGraph human gate speaks LangChain HITLRequest / HITLResponse', () => {
  it('the interrupt value is a HITLRequest as humanInTheLoopMiddleware makes it (plus toolgate kind/requests)', async () => {
    const h = hitlHarness();
    const graph = governedGraph(h, scripted([transfer(25_000, 'c1', { apiKey: 'sk-live-1' }), transfer(5, 'small')]));
    const value = pausedRequest(await graph.invoke(human('pay'), threadConfig('hitl-shape')));
    expect(value.actionRequests).toEqual([{ name: 'transfer', args: { amount: 25_000, apiKey: '[REDACTED]' }, description: expect.stringContaining('amount > 100') }]);
    expect(value.actionRequests[0]?.description).toContain('Tool: transfer');
    expect(value.reviewConfigs).toEqual([{ actionName: 'transfer', allowedDecisions: ['approve', 'edit', 'reject'] }]);
    expect(value.kind).toBe('toolgate_review');
    expect(value.requests.map((r) => r.tool_call_id)).toEqual(['c1']);
    expect(h.calls).toEqual([]); // in a StateGraph the tools wait for the human gate
  });

  it('approve: the body runs once with the asked args', async () => {
    const h = hitlHarness();
    const graph = governedGraph(h, scripted([transfer(500)]));
    const config = threadConfig('hitl-approve');
    await graph.invoke(human('pay'), config);
    const done = await graph.invoke(resume({ decisions: [{ type: 'approve' }] }), config);
    expect(h.calls).toEqual([{ amount: 500 }]);
    expect(done.toolgateDecisions.c1).toMatchObject({ verdict: 'allow', source: 'human' });
  });

  it('edit: the body runs once with exactly the edited args (a redacted secret left alone keeps its value); the model is told', async () => {
    const h = hitlHarness();
    const model = scripted([transfer(25_000, 'c1', { apiKey: 'sk-live-1' })], 'sent 2,500 as edited');
    const graph = governedGraph(h, model);
    const config = threadConfig('hitl-edit');
    const asked = pausedRequest(await graph.invoke(human('pay 25k'), config));
    const shown = asked.actionRequests[0]!;
    const done = await graph.invoke(resume({ decisions: [{ type: 'edit', editedAction: { name: shown.name, args: { ...shown.args, amount: 2_500 } } }] }), config);

    expect(h.calls).toEqual([{ amount: 2_500, apiKey: 'sk-live-1' }]);
    const decision = done.toolgateDecisions.c1 as Decision;
    expect(decision).toMatchObject({ verdict: 'allow', source: 'human', edited: { originalDigest: asked.requests[0]!.digest } });
    expect(decision.digest).not.toBe(asked.requests[0]!.digest);
    // The reviewer judged the edited call again from the start.
    expect(h.reviewed.map((r) => (r.call.args as { amount: number }).amount)).toEqual([25_000, 2_500]);
    // What the model reads on its next turn: the result and the notice (the secret redacted in it).
    const told = lastToolMessage(seenBy(model));
    expect(told?.status).toBe('success');
    expect(String(told?.content)).toContain('transferred 2500');
    expect(String(told?.content)).toContain('The call ran with edited arguments: {"amount":2500,"apiKey":"[REDACTED]"}. Do not repeat the original call.');
    // As with humanInTheLoopMiddleware, the AIMessage now shows the edited call.
    const ai = done.messages.find((m: BaseMessage) => AIMessage.isInstance(m)) as AIMessage;
    expect(ai.tool_calls?.[0]?.args).toEqual({ amount: 2_500, apiKey: 'sk-live-1' });
  });

  it('edit the policy denies: never runs; the model reads the deny', async () => {
    const h = hitlHarness();
    const model = scripted([transfer(500)]);
    const graph = governedGraph(h, model);
    const config = threadConfig('hitl-edit-denied');
    await graph.invoke(human('pay'), config);
    const done = await graph.invoke(resume({ decisions: [{ type: 'edit', editedAction: { name: 'transfer', args: { amount: 2_000_000 } } }] }), config);
    expect(h.calls).toEqual([]);
    expect(done.toolgateDecisions.c1).toMatchObject({ verdict: 'deny', source: 'reviewer', edited: { args: { amount: 2_000_000 } } });
    const told = lastToolMessage(seenBy(model));
    expect(told?.status).toBe('error');
    expect(String(told?.content)).toContain('over the hard limit');
  });

  it('edit naming another tool is refused (EDIT_TOOL_CHANGED): nothing runs (langchain #40166)', async () => {
    const h = hitlHarness();
    const graph = governedGraph(h, scripted([transfer(500)]));
    const config = threadConfig('hitl-edit-tool');
    await graph.invoke(human('pay'), config);
    const done = await graph.invoke(resume({ decisions: [{ type: 'edit', editedAction: { name: 'lookup', args: { q: 'x' } } }] }), config);
    expect(h.calls).toEqual([]);
    expect(h.ran).toEqual([]);
    expect(done.toolgateDecisions.c1).toMatchObject({ verdict: 'deny', error: { code: 'EDIT_TOOL_CHANGED' } });
  });

  it('reject: never runs; the model reads the human message', async () => {
    const h = hitlHarness();
    const model = scripted([transfer(500)], 'ok');
    const graph = governedGraph(h, model);
    const config = threadConfig('hitl-reject');
    await graph.invoke(human('pay'), config);
    const done = await graph.invoke(resume({ decisions: [{ type: 'reject', message: 'Use the invoice account instead' }] }), config);
    expect(h.calls).toEqual([]);
    expect(done.toolgateDecisions.c1).toMatchObject({ verdict: 'deny', source: 'human', reason: 'Use the invoice account instead' });
    const told = lastToolMessage(seenBy(model));
    expect(told?.status).toBe('error');
    expect(String(told?.content)).toContain('Use the invoice account instead');
  });

  it('expired: an approval after the deadline is REVIEW_EXPIRED, shown as expired (not rejected); nothing runs', async () => {
    let t = 1_000_000;
    const h = hitlHarness({ now: () => t, reviewTimeoutMs: 60_000 });
    const model = scripted([transfer(500)]);
    const graph = governedGraph(h, model);
    const config = threadConfig('hitl-expired');
    const asked = pausedRequest(await graph.invoke(human('pay'), config));
    expect(asked.actionRequests[0]?.description).toContain('Answer before');
    t += 120_000;
    const done = await graph.invoke(resume({ decisions: [{ type: 'approve' }] }), config);
    expect(h.calls).toEqual([]);
    expect(done.toolgateDecisions.c1).toMatchObject({ verdict: 'deny', error: { code: 'REVIEW_EXPIRED' } });
    expect(done.toolgateDecisions.c1?.source).not.toBe('human');
    const told = String(lastToolMessage(seenBy(model))?.content);
    expect(told).toContain('expired');
    expect(told).not.toMatch(/reject/i);
  });

  it('one decision per action request, in order; a count mismatch rejects them all (fail closed)', async () => {
    const h = hitlHarness();
    const graph = governedGraph(h, scripted([transfer(500, 'a'), transfer(700, 'b'), transfer(900, 'c')]));
    const config = threadConfig('hitl-order');
    const asked = pausedRequest(await graph.invoke(human('pay'), config));
    expect(asked.actionRequests.map((a) => a.args.amount)).toEqual([500, 700, 900]);
    const done = await graph.invoke(
      resume({ decisions: [{ type: 'approve' }, { type: 'reject', message: 'no' }, { type: 'edit', editedAction: { name: 'transfer', args: { amount: 90 } } }] }),
      config,
    );
    expect(h.calls).toEqual([{ amount: 500 }, { amount: 90 }]);
    expect([done.toolgateDecisions.a?.verdict, done.toolgateDecisions.b?.verdict, done.toolgateDecisions.c?.source]).toEqual(['allow', 'deny', 'reviewer']);

    const h2 = hitlHarness();
    const g2 = governedGraph(h2, scripted([transfer(500, 'a'), transfer(700, 'b')]));
    await g2.invoke(human('pay'), threadConfig('hitl-count'));
    const d2 = await g2.invoke(resume({ decisions: [{ type: 'approve' }] }), threadConfig('hitl-count'));
    expect(h2.calls).toEqual([]);
    expect(String(d2.toolgateDecisions.a?.reason)).toContain('1 decision(s) for 2 waiting call(s)');
  });

  it('a decision the reviewConfig does not allow is a rejection', async () => {
    const h = hitlHarness();
    const g = graphWith(h, scripted([transfer(500)]), { humanGate: { allowedDecisions: ['approve', 'reject'] } });
    const config = threadConfig('hitl-allowed');
    const asked = pausedRequest(await g.invoke(human('pay'), config));
    expect(asked.reviewConfigs[0]?.allowedDecisions).toEqual(['approve', 'reject']);
    const done = await g.invoke(resume({ decisions: [{ type: 'edit', editedAction: { name: 'transfer', args: { amount: 1 } } }] }), config);
    expect(h.calls).toEqual([]);
    expect(done.toolgateDecisions.c1).toMatchObject({ verdict: 'deny', source: 'human' });
    expect(String(done.toolgateDecisions.c1?.reason)).toContain('not allowed');
  });

  it('resume twice: the edited call runs once', async () => {
    const h = hitlHarness();
    const graph = governedGraph(h, scripted([transfer(25_000)]));
    const config = threadConfig('hitl-twice');
    await graph.invoke(human('pay'), config);
    const edit = resume({ decisions: [{ type: 'edit', editedAction: { name: 'transfer', args: { amount: 2_500 } } }] });
    await graph.invoke(edit, config);
    await graph.invoke(resume({ decisions: [{ type: 'edit', editedAction: { name: 'transfer', args: { amount: 2_500 } } }] }), config).catch(() => undefined);
    await graph.invoke(resume({ decisions: [{ type: 'approve' }] }), config).catch(() => undefined);
    expect(h.calls).toEqual([{ amount: 2_500 }]);
  });

  it("toolgate's keyed resume still works, also with core's { type: 'edit' } answers", async () => {
    const h = hitlHarness();
    const model = scripted([transfer(500, 'a'), transfer(700, 'b')]);
    const graph = governedGraph(h, model);
    const config = threadConfig('hitl-keyed');
    await graph.invoke(human('pay'), config);
    await graph.invoke(new Command({ resume: { a: { approved: true, approver: 'ann' }, b: { type: 'edit', args: { amount: 70 }, approver: 'bob' } } }), config);
    expect(h.calls).toEqual([{ amount: 500 }, { amount: 70 }]);
    const tools = seenBy(model).filter((m): m is ToolMessage => ToolMessage.isInstance(m));
    expect(String(tools.find((m) => m.tool_call_id === 'b')?.content)).toContain('edited arguments: {"amount":70}');
  });

  it('hitlResume addresses the one batched interrupt by its id', async () => {
    const h = hitlHarness();
    const graph = governedGraph(h, scripted([transfer(500, 'a'), transfer(700, 'b')]));
    const config = threadConfig('hitl-resume-helper');
    const paused = await graph.invoke(human('pay'), config);
    const value = hitlResume(paused, [{ type: 'approve' }, { type: 'reject' }]);
    const [a, b] = pendingReviews(paused);
    // Each decision is bound to the digest of the request it answers (toolgate's extension).
    expect(Object.values(value)).toEqual([{ decisions: [{ type: 'approve', digest: a!.digest }, { type: 'reject', digest: b!.digest }] }]);
    await graph.invoke(new Command({ resume: value }), config);
    expect(h.calls).toEqual([{ amount: 500 }]);
  });
});
