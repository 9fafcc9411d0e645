// LangChain's own human-in-the-loop shapes on the createAgent path (governanceMiddleware):
// the waiting calls of a model turn are one interrupt whose value is a HITLRequest; resume with a HITLResponse.
import { ToolMessage, type BaseMessage } from '@langchain/core/messages';
import { Command, INTERRUPT, MemorySaver, type Interrupt } from '@langchain/langgraph';
import type { Decision } from '@toolgate/core';
import { createAgent, type HITLResponse } from 'langchain';
import { describe, expect, it } from 'vitest';
import type { HitlResponse } from '../hitl';
import { hitlHarness, lastToolMessage, type HitlHarness } from '../hitl-test-support';
import { hitlResume, pendingReviews } from '../pending-reviews';
import type { HumanReviewInterrupt } from '../human-gate-node';
import { human, scripted, threadConfig, type ScriptedModel } from '../test-harness';
import { governanceMiddleware, type GovernanceMiddlewareOptions } from './governance-middleware';

function agentFor(h: HitlHarness, model: ScriptedModel, options: GovernanceMiddlewareOptions = {}) {
  return createAgent({ model, tools: h.tools, middleware: [governanceMiddleware(h.gate, options)], checkpointer: new MemorySaver() });
}
const decisionsIn = (state: unknown) => (state as { toolgateDecisions: Record<string, Decision> }).toolgateDecisions;
const interruptsOf = (paused: unknown) => ((paused as Record<string, unknown>)[INTERRUPT] ?? []) as Array<Interrupt<HumanReviewInterrupt>>;
const transfer = (amount: number, id = 'c1', extra: Record<string, unknown> = {}) => ({ name: 'transfer', args: { amount, ...extra }, id });
const seenBy = (model: ScriptedModel, turn = 1): BaseMessage[] => model.calls[turn]?.messages ?? [];

describe('governanceMiddleware speaks LangChain HITLRequest / HITLResponse', () => {
  it('the interrupt value is a HITLRequest; approve runs the body once', async () => {
    const h = hitlHarness();
    const agent = agentFor(h, scripted([transfer(500, 'c1', { apiKey: 'sk-1' })]));
    const config = threadConfig('mw-hitl-approve');
    const paused = await agent.invoke(human('pay'), config);
    const [only] = interruptsOf(paused);
    expect(only?.value?.actionRequests).toEqual([{ name: 'transfer', args: { amount: 500, apiKey: '[REDACTED]' }, description: expect.stringContaining('amount > 100') }]);
    expect(only?.value?.reviewConfigs).toEqual([{ actionName: 'transfer', allowedDecisions: ['approve', 'edit', 'reject'] }]);
    // The value langchain's own type describes, as an app built for humanInTheLoopMiddleware sends it.
    const answer: HITLResponse = { decisions: [{ type: 'approve' }] };
    const done = await agent.invoke(new Command({ resume: answer }), config);
    expect(h.calls).toEqual([{ amount: 500, apiKey: 'sk-1' }]);
    expect(decisionsIn(done).c1).toMatchObject({ verdict: 'allow', source: 'human' });
  });

  it('edit: runs once with exactly the edited args; the model is told', async () => {
    const h = hitlHarness();
    const model = scripted([transfer(25_000)], 'sent');
    const agent = agentFor(h, model);
    const config = threadConfig('mw-hitl-edit');
    await agent.invoke(human('pay 25k'), config);
    const done = await agent.invoke(new Command({ resume: { decisions: [{ type: 'edit', editedAction: { name: 'transfer', args: { amount: 2_500 } } }] } satisfies HitlResponse }), config);
    expect(h.calls).toEqual([{ amount: 2_500 }]);
    expect(decisionsIn(done).c1).toMatchObject({ verdict: 'allow', source: 'human', edited: { args: { amount: 2_500 } } });
    const told = lastToolMessage(seenBy(model));
    expect(told?.status).toBe('success');
    expect(String(told?.content)).toBe('transferred 2500\n\nThe call ran with edited arguments: {"amount":2500}. Do not repeat the original call.');
  });

  it('edit the policy denies, and edit naming another tool: nothing runs', async () => {
    for (const [thread, editedAction, expected] of [
      ['mw-hitl-edit-denied', { name: 'transfer', args: { amount: 5_000_000 } }, { verdict: 'deny', source: 'reviewer' }],
      ['mw-hitl-edit-tool', { name: 'shell', args: { cmd: 'ls' } }, { verdict: 'deny', error: { code: 'EDIT_TOOL_CHANGED' } }],
    ] as const) {
      const h = hitlHarness();
      const model = scripted([transfer(500)]);
      const agent = agentFor(h, model);
      const config = threadConfig(thread);
      await agent.invoke(human('pay'), config);
      const done = await agent.invoke(new Command({ resume: { decisions: [{ type: 'edit', editedAction }] } }), config);
      expect(h.ran).toEqual([]);
      expect(decisionsIn(done).c1).toMatchObject(expected);
      expect(lastToolMessage(seenBy(model))?.status).toBe('error');
    }
  });

  it('reject: the model reads the message; expired: shown as expired', async () => {
    const h = hitlHarness();
    const model = scripted([transfer(500)]);
    const agent = agentFor(h, model);
    await agent.invoke(human('pay'), threadConfig('mw-hitl-reject'));
    await agent.invoke(new Command({ resume: { decisions: [{ type: 'reject', message: 'not this month' }] } }), threadConfig('mw-hitl-reject'));
    expect(h.calls).toEqual([]);
    expect(String(lastToolMessage(seenBy(model))?.content)).toContain('not this month');

    let t = 5_000_000;
    const late = hitlHarness({ now: () => t, reviewTimeoutMs: 1_000 });
    const lateModel = scripted([transfer(500)]);
    const lateAgent = agentFor(late, lateModel);
    await lateAgent.invoke(human('pay'), threadConfig('mw-hitl-expired'));
    t += 10_000;
    const done = await lateAgent.invoke(new Command({ resume: { decisions: [{ type: 'approve' }] } }), threadConfig('mw-hitl-expired'));
    expect(late.calls).toEqual([]);
    expect(decisionsIn(done).c1).toMatchObject({ verdict: 'deny', error: { code: 'REVIEW_EXPIRED' } });
    const told = String(lastToolMessage(lateModel.calls[1]?.messages ?? [])?.content);
    expect(told).toContain('expired');
    expect(told).not.toMatch(/reject/i);
  });

  it('two calls waiting: one interrupt, also answerable by its id; resuming again runs nothing twice', async () => {
    const h = hitlHarness();
    const agent = agentFor(h, scripted([transfer(500, 'a'), transfer(700, 'b')]));
    const config = threadConfig('mw-hitl-two');
    const paused = await agent.invoke(human('pay'), config);
    const interrupts = interruptsOf(paused);
    expect(interrupts).toHaveLength(1);
    expect(interrupts[0]!.value!.requests.map((r) => r.tool_call_id)).toEqual(['a', 'b']);
    const resume = {
      [interrupts[0]!.id!]: { decisions: [{ type: 'approve' }, { type: 'edit', editedAction: { name: 'transfer', args: { amount: 70 } } }] },
    } satisfies Record<string, HitlResponse>;
    const done = await agent.invoke(new Command({ resume }), config);
    expect(h.calls).toEqual(expect.arrayContaining([{ amount: 500 }, { amount: 70 }]));
    expect(h.calls).toHaveLength(2);
    const byId = new Map(done.messages.filter((m: BaseMessage): m is ToolMessage => ToolMessage.isInstance(m)).map((m: ToolMessage) => [m.tool_call_id, m]));
    expect(String(byId.get('b')?.content)).toContain('edited arguments: {"amount":70}');
    await agent.invoke(new Command({ resume }), config).catch(() => undefined);
    expect(h.calls).toHaveLength(2);
  });

  it('hitlResume: decisions in pendingReviews() order reach exactly their own call; a wrong count throws before anything resumes', async () => {
    const h = hitlHarness();
    const agent = agentFor(h, scripted([transfer(500, 'a'), transfer(5, 'small'), transfer(700, 'b')]));
    const config = threadConfig('mw-hitl-resume-helper');
    const paused = await agent.invoke(human('pay'), config);
    const waiting = pendingReviews(paused);
    expect(waiting.map((r) => r.tool_call_id).sort()).toEqual(['a', 'b']);
    expect(() => hitlResume(paused, [{ type: 'approve' }])).toThrow(/1 decision\(s\) for 2 waiting call\(s\)/);
    const decisions = waiting.map((r) => (r.tool_call_id === 'a' ? { type: 'reject' as const, message: 'not a' } : { type: 'edit' as const, editedAction: { name: 'transfer', args: { amount: 7 } } }));
    const done = await agent.invoke(new Command({ resume: hitlResume(paused, decisions) }), config);
    expect(h.calls).toEqual([{ amount: 5 }, { amount: 7 }]);
    expect([decisionsIn(done).a?.reason, decisionsIn(done).b?.verdict]).toEqual(['not a', 'allow']);
  });
});
