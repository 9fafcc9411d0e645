import { ToolMessage } from '@langchain/core/messages';
import { Command, INTERRUPT, isInterrupted } from '@langchain/langgraph';
import { GovernanceDeniedError, denialText, type Decision } from '@toolgate/core';
import { describe, expect, it } from 'vitest';
import type { HumanReviewInterrupt, HumanReviewResume } from './human-gate-node';
import { pendingReviews } from './pending-reviews';
import { governedGraph, harness, human, scripted, threadConfig, toolMessagesById } from './test-harness';

const outcomes = (h: ReturnType<typeof harness>) => h.audit.records.filter((r) => r.kind === 'outcome');

describe('addGovernance: StateGraph agent → governance → human_gate → tools', () => {
  it('allow: the tool runs once, the Decision is in state, the outcome is recorded', async () => {
    const h = harness();
    const graph = governedGraph(h, scripted([{ name: 'transfer', args: { amount: 5 }, id: 'c1' }]));
    const result = await graph.invoke(human('pay 5'), threadConfig('allow'));

    expect(h.ran).toEqual(['transfer(5)']);
    expect(h.reviewed).toHaveLength(1);
    const decision = result.toolgateDecisions.c1 as Decision;
    expect(decision).toMatchObject({ verdict: 'allow', source: 'reviewer', tool: 'transfer', callId: 'c1', runId: 'allow' });
    expect(decision.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(toolMessagesById(result.messages).get('c1')?.status).toBe('success');
    await h.gate.close();
    expect(outcomes(h)).toHaveLength(1);
    expect(outcomes(h)[0]?.outcome?.status).toBe('success');
  });

  it('deny: the body never runs and the model reads the denial on its next turn', async () => {
    const h = harness();
    const model = scripted([{ name: 'shell', args: { cmd: 'rm -rf /' }, id: 'c1' }], 'ok, not running it');
    const result = await governedGraph(h, model).invoke(human('clean up'), threadConfig('deny'));

    expect(h.ran).toEqual([]);
    const decision = result.toolgateDecisions.c1 as Decision;
    expect(decision).toMatchObject({ verdict: 'deny', source: 'reviewer' });
    const seen = model.calls[1]?.messages.find((m) => ToolMessage.isInstance(m)) as ToolMessage | undefined;
    expect(seen?.status).toBe('error');
    expect(seen?.content).toBe(denialText(decision));
    expect(seen?.content).toContain('shell is not allowed in prod');
    expect(seen?.artifact).toEqual(decision);
    expect(outcomes(h)).toHaveLength(0);
  });

  it('fail-closed: reviewer down → not run, Decision source fail_closed', async () => {
    const h = harness({ policy: () => { throw new Error('reviewer unreachable'); } });
    const result = await governedGraph(h, scripted([{ name: 'transfer', args: { amount: 5 }, id: 'c1' }])).invoke(human('pay'), threadConfig('fc'));
    expect(h.ran).toEqual([]);
    expect(result.toolgateDecisions.c1).toMatchObject({ verdict: 'deny', source: 'fail_closed', error: { code: 'REVIEWER_FAILED' } });
    expect(toolMessagesById(result.messages).get('c1')?.status).toBe('error');
  });

  it('fail-open: reviewer down → runs, Decision source fail_open, outcome recorded', async () => {
    const h = harness({ failMode: 'open', policy: () => { throw new Error('reviewer unreachable'); } });
    const result = await governedGraph(h, scripted([{ name: 'transfer', args: { amount: 5 }, id: 'c1' }])).invoke(human('pay'), threadConfig('fo'));
    expect(h.ran).toEqual(['transfer(5)']);
    expect(result.toolgateDecisions.c1).toMatchObject({ verdict: 'allow', source: 'fail_open' });
    await h.gate.close();
    expect(outcomes(h)).toHaveLength(1);
  });

  it('non-high-stakes calls pass with no reviewer call and no Decision', async () => {
    const h = harness();
    const result = await governedGraph(h, scripted([{ name: 'lookup', args: { q: 'x' }, id: 'c1' }])).invoke(human('look'), threadConfig('nhs'));
    expect(h.ran).toEqual(['lookup(x)']);
    expect(h.reviewed).toHaveLength(0);
    expect(result.toolgateDecisions).toEqual({});
    expect(h.audit.records).toHaveLength(0);
  });

  it('review → approve: one batched interrupt, runs exactly once, reviewer asked once', async () => {
    const h = harness();
    const graph = governedGraph(h, scripted([{ name: 'transfer', args: { amount: 500, apiKey: 'sk-secret' }, id: 'c1' }]));
    const config = threadConfig('approve');
    const paused = await graph.invoke(human('pay 500'), config);

    expect(isInterrupted<HumanReviewInterrupt>(paused)).toBe(true);
    if (!isInterrupted<HumanReviewInterrupt>(paused)) return;
    expect(paused[INTERRUPT]).toHaveLength(1);
    const value = paused[INTERRUPT][0]?.value as HumanReviewInterrupt;
    expect(value.kind).toBe('toolgate_review');
    expect(pendingReviews(paused)).toEqual(value.requests);
    expect(value.requests).toEqual([
      { tool_call_id: 'c1', tool: 'transfer', args: { amount: 500, apiKey: '[REDACTED]' }, reason: 'amount > 100', reviewId: 'rev_c1', digest: expect.stringMatching(/^sha256:/) },
    ]);
    expect(h.ran).toEqual([]);

    const done = await graph.invoke(new Command({ resume: { c1: { approved: true, approver: 'cfo' } } satisfies HumanReviewResume }), config);
    expect(h.ran).toEqual(['transfer(500)']);
    expect(h.reviewed).toHaveLength(1);
    expect(done.toolgateDecisions.c1).toMatchObject({ verdict: 'allow', source: 'human', decidedBy: 'human:cfo', reviewId: 'rev_c1' });
    expect(toolMessagesById(done.messages).get('c1')?.status).toBe('success');
    await h.gate.close();
    expect(h.audit.records.map((r) => r.kind)).toEqual(['review', 'human_decision', 'outcome']);
  });

  it('review → reject: never runs; the model reads the human reason', async () => {
    const h = harness();
    const model = scripted([{ name: 'transfer', args: { amount: 500 }, id: 'c1' }], 'understood');
    const graph = governedGraph(h, model);
    const config = threadConfig('reject');
    await graph.invoke(human('pay 500'), config);
    const done = await graph.invoke(new Command({ resume: { c1: { approved: false, reason: 'CFO said no' } } satisfies HumanReviewResume }), config);

    expect(h.ran).toEqual([]);
    expect(done.toolgateDecisions.c1).toMatchObject({ verdict: 'deny', source: 'human', reason: 'CFO said no' });
    const seen = model.calls[1]?.messages.find((m) => ToolMessage.isInstance(m)) as ToolMessage | undefined;
    expect(seen?.status).toBe('error');
    expect(String(seen?.content)).toContain('CFO said no');
  });

  it('a resume without an answer for a call rejects it (fail closed)', async () => {
    const h = harness();
    const graph = governedGraph(h, scripted([{ name: 'transfer', args: { amount: 500 }, id: 'c1' }]));
    const config = threadConfig('no-answer');
    await graph.invoke(human('pay 500'), config);
    const done = await graph.invoke(new Command({ resume: { other: { approved: true } } }), config);
    expect(h.ran).toEqual([]);
    expect(done.toolgateDecisions.c1).toMatchObject({ verdict: 'deny', source: 'human' });
  });

  it('mixed batch: allow + deny + review(approve) + review(reject) + passthrough in one AIMessage', async () => {
    const h = harness();
    const model = scripted([
      { name: 'transfer', args: { amount: 5 }, id: 'small' },
      { name: 'shell', args: { cmd: 'ls' }, id: 'sh' },
      { name: 'transfer', args: { amount: 500 }, id: 'big1' },
      { name: 'transfer', args: { amount: 700 }, id: 'big2' },
      { name: 'lookup', args: { q: 'rates' }, id: 'look' },
    ]);
    const graph = governedGraph(h, model);
    const config = threadConfig('mixed');
    const paused = await graph.invoke(human('do it all'), config);

    // One interrupt for both reviews; nothing ran yet (tools wait for the human gate).
    expect(isInterrupted<HumanReviewInterrupt>(paused) ? paused[INTERRUPT] : []).toHaveLength(1);
    expect(pendingReviews(paused).map((r) => r.tool_call_id)).toEqual(['big1', 'big2']);
    expect(h.ran).toEqual([]);
    expect(h.reviewed.map((r) => r.call.callId).sort()).toEqual(['big1', 'big2', 'sh', 'small']);

    const done = await graph.invoke(
      new Command({ resume: { big1: { approved: true }, big2: { approved: false, reason: 'over daily limit' } } satisfies HumanReviewResume }),
      config,
    );
    expect([...h.ran].sort()).toEqual(['lookup(rates)', 'transfer(5)', 'transfer(500)']);
    expect(h.reviewed).toHaveLength(4); // once per high-stakes call, across the resume

    const byId = toolMessagesById(done.messages); // throws on a duplicate
    expect([...byId.keys()].sort()).toEqual(['big1', 'big2', 'look', 'sh', 'small']);
    expect(Object.fromEntries([...byId].map(([id, m]) => [id, m.status]))).toEqual({
      small: 'success', sh: 'error', big1: 'success', big2: 'error', look: 'success',
    });
    const d = done.toolgateDecisions;
    expect([d.small?.source, d.sh?.verdict, d.big1?.source, d.big2?.verdict]).toEqual(['reviewer', 'deny', 'human', 'deny']);
    expect(d.look).toBeUndefined();
    // The model's second turn saw exactly one answer per call.
    expect(model.calls[1]?.messages.filter((m) => ToolMessage.isInstance(m))).toHaveLength(5);
  });

  it('the reviewer is consulted once per tool call id across resumes, even when the graph is rebuilt', async () => {
    const h = harness();
    const calls = [
      { name: 'transfer', args: { amount: 500 }, id: 'big1' },
      { name: 'transfer', args: { amount: 900 }, id: 'big2' },
    ];
    const model = scripted(calls);
    const graph = governedGraph(h, model);
    const config = threadConfig('once');
    await graph.invoke(human('pay twice'), config);
    expect(h.reviewed).toHaveLength(2);
    // Inspect the paused state from another handle, then resume: the governance node does not run again.
    const snapshot = await graph.getState(config);
    expect(snapshot.next).toEqual(['human_gate']);
    expect(pendingReviews(snapshot).map((r) => r.tool_call_id)).toEqual(['big1', 'big2']);
    await graph.invoke(new Command({ resume: { big1: { approved: true }, big2: { approved: true } } }), config);
    expect(h.reviewed).toHaveLength(2);
    expect([...h.ran].sort()).toEqual(['transfer(500)', 'transfer(900)']);
  });

  it('no tool runs twice: resuming a finished thread again changes nothing', async () => {
    const h = harness();
    const graph = governedGraph(h, scripted([{ name: 'transfer', args: { amount: 500 }, id: 'c1' }, { name: 'transfer', args: { amount: 5 }, id: 'c2' }]));
    const config = threadConfig('twice');
    await graph.invoke(human('pay'), config);
    await graph.invoke(new Command({ resume: { c1: { approved: true } } }), config);
    expect([...h.ran].sort()).toEqual(['transfer(5)', 'transfer(500)']);
    await graph.invoke(new Command({ resume: { c1: { approved: true } } }), config).catch(() => undefined);
    expect([...h.ran].sort()).toEqual(['transfer(5)', 'transfer(500)']);
    expect(h.reviewed).toHaveLength(2);
  });

  it("onDeny: 'throw' aborts the run with GovernanceDeniedError and runs nothing", async () => {
    const h = harness();
    const graph = governedGraph(h, scripted([{ name: 'shell', args: { cmd: 'ls' }, id: 'c1' }]), { onDeny: 'throw' });
    const error = await graph.invoke(human('ls'), threadConfig('throw')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GovernanceDeniedError);
    expect((error as GovernanceDeniedError).code).toBe('DENIED');
    expect((error as GovernanceDeniedError).decision.source).toBe('reviewer');
    expect(h.ran).toEqual([]);
  });
});
