import { ToolMessage } from '@langchain/core/messages';
import { Command, MemorySaver } from '@langchain/langgraph';
import { GovernanceDeniedError, OptionsError, denialText, type Decision } from '@toolgate/core';
import { createAgent } from 'langchain';
import { describe, expect, it } from 'vitest';
import type { HumanReviewResume } from '../human-gate-node';
import { pendingReviews } from '../pending-reviews';
import { harness, human, scripted, threadConfig, toolMessagesById, type Harness, type ScriptedModel } from '../test-harness';
import { governanceMiddleware, type GovernanceMiddlewareOptions } from './governance-middleware';

function agentFor(h: Harness, model: ScriptedModel, options: GovernanceMiddlewareOptions = {}) {
  return createAgent({ model, tools: h.tools, middleware: [governanceMiddleware(h.gate, options)], checkpointer: new MemorySaver() });
}
const decisionsIn = (state: unknown) => (state as { toolgateDecisions: Record<string, Decision> }).toolgateDecisions;

describe('governanceMiddleware (langchain createAgent, afterModel + wrapToolCall)', () => {
  it('allow: runs once; Decision in state; outcome recorded', async () => {
    const h = harness();
    const result = await agentFor(h, scripted([{ name: 'transfer', args: { amount: 5 }, id: 'c1' }])).invoke(human('pay'), threadConfig('mw-allow'));
    expect(h.ran).toEqual(['transfer(5)']);
    expect(decisionsIn(result).c1).toMatchObject({ verdict: 'allow', source: 'reviewer', runId: 'mw-allow', callId: 'c1' });
    await h.gate.close();
    expect(h.audit.records.filter((r) => r.kind === 'outcome').map((r) => r.outcome?.status)).toEqual(['success']);
  });

  it('deny: not run; the model reads denialText; artifact and state hold the Decision', async () => {
    const h = harness();
    const model = scripted([{ name: 'shell', args: { cmd: 'rm -rf /' }, id: 'c1' }], 'will not');
    const result = await agentFor(h, model).invoke(human('clean'), threadConfig('mw-deny'));
    expect(h.ran).toEqual([]);
    const decision = decisionsIn(result).c1 as Decision;
    expect(decision.verdict).toBe('deny');
    const seen = model.calls[1]?.messages.find((m) => ToolMessage.isInstance(m)) as ToolMessage | undefined;
    expect(seen?.status).toBe('error');
    expect(seen?.content).toBe(denialText(decision));
    expect(seen?.artifact).toEqual(decision);
  });

  it('fail-closed and fail-open', async () => {
    const down = () => { throw new Error('reviewer unreachable'); };
    const closed = harness({ policy: down });
    const r1 = await agentFor(closed, scripted([{ name: 'transfer', args: { amount: 5 }, id: 'c1' }])).invoke(human('pay'), threadConfig('mw-fc'));
    expect(closed.ran).toEqual([]);
    expect(decisionsIn(r1).c1?.source).toBe('fail_closed');

    const open = harness({ policy: down, failMode: 'open' });
    const r2 = await agentFor(open, scripted([{ name: 'transfer', args: { amount: 5 }, id: 'c1' }])).invoke(human('pay'), threadConfig('mw-fo'));
    expect(open.ran).toEqual(['transfer(5)']);
    expect(decisionsIn(r2).c1?.source).toBe('fail_open');
  });

  it('mixed batch with two reviews: one resume keyed by tool_call_id; reviewer once per call; nothing runs twice', async () => {
    const h = harness();
    const model = scripted([
      { name: 'transfer', args: { amount: 5 }, id: 'small' },
      { name: 'shell', args: { cmd: 'ls' }, id: 'sh' },
      { name: 'transfer', args: { amount: 500, apiKey: 'sk-1' }, id: 'big1' },
      { name: 'transfer', args: { amount: 700 }, id: 'big2' },
      { name: 'lookup', args: { q: 'x' }, id: 'look' },
    ]);
    const agent = agentFor(h, model);
    const config = threadConfig('mw-mixed');
    const paused = await agent.invoke(human('go'), config);

    const pending = pendingReviews(paused);
    expect(pending.map((r) => r.tool_call_id).sort()).toEqual(['big1', 'big2']);
    expect(pending.find((r) => r.tool_call_id === 'big1')?.args).toEqual({ amount: 500, apiKey: '[REDACTED]' });
    // Reviewed in afterModel, before any tool runs (as humanInTheLoopMiddleware): nothing ran yet.
    expect(h.ran).toEqual([]);
    expect(h.reviewed).toHaveLength(4);

    const done = await agent.invoke(
      new Command({ resume: { big1: { approved: true }, big2: { approved: false, reason: 'over limit' } } satisfies HumanReviewResume }),
      config,
    );
    expect([...h.ran].sort()).toEqual(['lookup(x)', 'transfer(5)', 'transfer(500)']); // each once
    expect(h.reviewed).toHaveLength(4); // the task() replayed the reviews of the resumed calls
    const byId = toolMessagesById(done.messages);
    expect(Object.fromEntries([...byId].map(([id, m]) => [id, m.status]))).toEqual({
      small: 'success', sh: 'error', big1: 'success', big2: 'error', look: 'success',
    });
    const d = decisionsIn(done);
    expect([d.big1?.source, d.big1?.verdict, d.big2?.verdict, d.big2?.reason]).toEqual(['human', 'allow', 'deny', 'over limit']);
    await h.gate.close();
    expect(h.audit.records.filter((r) => r.kind === 'outcome').map((r) => r.call.callId).sort()).toEqual(['big1', 'small']);
  });

  it('review → reject: never runs', async () => {
    const h = harness();
    const agent = agentFor(h, scripted([{ name: 'transfer', args: { amount: 500 }, id: 'c1' }]));
    const config = threadConfig('mw-reject');
    await agent.invoke(human('pay'), config);
    await agent.invoke(new Command({ resume: { c1: { approved: false } } }), config);
    expect(h.ran).toEqual([]);
    expect(h.reviewed).toHaveLength(1);
  });

  it("onDeny: 'throw' fails the run with the GovernanceDeniedError as cause", async () => {
    const h = harness();
    const error = await agentFor(h, scripted([{ name: 'shell', args: { cmd: 'ls' }, id: 'c1' }]), { onDeny: 'throw' })
      .invoke(human('ls'), threadConfig('mw-throw'))
      .catch((e: unknown) => e);
    expect((error as Error).cause).toBeInstanceOf(GovernanceDeniedError);
    expect(h.ran).toEqual([]);
  });

  it('validates options', () => {
    const h = harness();
    expect(() => governanceMiddleware({} as never)).toThrow(OptionsError);
    expect(() => governanceMiddleware(h.gate, { onDeny: 'abort' as never })).toThrow(/onDeny must be one of/);
  });
});
