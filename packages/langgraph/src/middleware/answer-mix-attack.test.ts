// Attack review of the turn-resume re-check (aa182c6): several high-stakes calls in ONE turn, ONE
// interrupt, answered with a mix of approve / edit / reject — resumed in the same process, in a new
// process sharing only the checkpointer (policy unchanged, or now allowing the calls outright), and
// replayed again. Nothing may run that the human did not approve as asked, nothing twice in-process.
import { AIMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { Command, MemorySaver } from '@langchain/langgraph';
import type { ReviewerVerdict } from '@toolgate/core';
import { createAgent } from 'langchain';
import { describe, expect, it } from 'vitest';
import { pendingReviews } from '../pending-reviews';
import { harness, human, threadConfig, type Harness } from '../test-harness';
import { governanceMiddleware } from './governance-middleware';

const calls = [
  { name: 'transfer', args: { amount: 500 }, id: 'c1' },
  { name: 'transfer', args: { amount: 600 }, id: 'c2' },
  { name: 'transfer', args: { amount: 700 }, id: 'c3' },
];
const model = () => fakeModel().respondWithTools(calls).respond(new AIMessage('done')).respond(new AIMessage('done again')).respond(new AIMessage('done 3'));
const agentOn = (h: Harness, saver: MemorySaver) => createAgent({ model: model(), tools: h.tools, middleware: [governanceMiddleware(h.gate)], checkpointer: saver });
const nowAllows = (): ReviewerVerdict => ({ verdict: 'allow', reason: 'within the new limit' });
const mix = { decisions: [{ type: 'approve' }, { type: 'edit', editedAction: { name: 'transfer', args: { amount: 50 } } }, { type: 'reject', message: 'no' }] };

describe('one interrupt, three calls, answered approve / edit / reject', () => {
  it('same process: the approval runs 500 once, the edit runs 50 once, the rejection nothing; the resume replayed runs nothing more', async () => {
    const h = harness();
    const saver = new MemorySaver();
    const config = threadConfig('mix-same');
    const a = agentOn(h, saver);
    expect(pendingReviews(await a.invoke(human('pay'), config))).toHaveLength(3);
    await a.invoke(new Command({ resume: mix }), config);
    expect([...h.ran].sort()).toEqual(['transfer(50)', 'transfer(500)']);
    await a.invoke(new Command({ resume: mix }), config).catch(() => undefined);
    const forks: Array<{ configurable?: Record<string, unknown> }> = [];
    for await (const s of a.graph.getStateHistory(config)) forks.push(s.config);
    for (const fork of forks) {
      await a.graph.invoke(new Command({ resume: mix }), fork as never).catch(() => undefined);
      await a.graph.invoke(null, fork as never).catch(() => undefined);
    }
    expect([...h.ran].sort()).toEqual(['transfer(50)', 'transfer(500)']);
  });

  it('new process, policy now allows every transfer: only the approved 500 runs; the edited and the rejected call run nothing', async () => {
    const saver = new MemorySaver();
    const config = threadConfig('mix-restart-allows');
    expect(pendingReviews(await agentOn(harness(), saver).invoke(human('pay'), config))).toHaveLength(3);
    const second = harness({ policy: nowAllows });
    await agentOn(second, saver).invoke(new Command({ resume: mix }), config);
    expect(second.ran).toEqual(['transfer(500)']);
  });

  it('new process, same policy: approve 500, edit 600 to 50, reject 700 — each as answered, once', async () => {
    const saver = new MemorySaver();
    const config = threadConfig('mix-restart-same');
    await agentOn(harness(), saver).invoke(human('pay'), config);
    const second = harness();
    const b = agentOn(second, saver);
    await b.invoke(new Command({ resume: mix }), config);
    expect([...second.ran].sort()).toEqual(['transfer(50)', 'transfer(500)']);
    await b.invoke(new Command({ resume: mix }), config).catch(() => undefined);
    expect([...second.ran].sort()).toEqual(['transfer(50)', 'transfer(500)']);
  });

  it('new process, policy now allows: keyed answers — c3 approved, c1 edited to c3\'s 700, c2 unanswered — run only c3 (700) once', async () => {
    const saver = new MemorySaver();
    const config = threadConfig('mix-restart-keyed');
    await agentOn(harness(), saver).invoke(human('pay'), config);
    const second = harness({ policy: nowAllows });
    const b = agentOn(second, saver);
    const resume = { c3: { approved: true }, c1: { type: 'edit', args: { amount: 700 } } };
    await b.invoke(new Command({ resume }), config);
    expect(second.ran).toEqual(['transfer(700)']);
    await b.invoke(new Command({ resume }), config).catch(() => undefined);
    expect(second.ran).toEqual(['transfer(700)']);
  });
});
