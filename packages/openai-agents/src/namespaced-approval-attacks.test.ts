// Found in the attack review of resumeAnswers: 'paused-here' (3af7a5b), fixed after it. A function
// tool inside toolNamespace({ name: 'billing' }): the SDK keeps its human approval under the key
// ["namespaced","billing","refund"], and the governor asked ctx.isToolApproved({ toolName: 'refund' })
// only, which answers undefined. So on a resume recordHumanDecisions saw no answer (neither the
// 'paused-here' nor the changed-arguments check ran, nothing was recorded on the gate), and the input
// guardrail read "shown, no answer" as 'preapproval' → allowed, with the gate's Decision still
// 'review' and no claim, while the SDK ran the body on its own approval: a string forged to 900 under
// a call id never paused ran 900, and the approved string resumed twice ran the body twice. The
// governor now also asks under the namespaced key, and keys the interruption item by the tool's own
// name as the pause and the guard do. Real SDK, only the model scripted; body counted.
import { Agent, Runner, RunState, tool, toolNamespace } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { createGate, memoryAudit, policyReviewer } from '@toolgate/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GovernanceHooks, type GovernanceOptions } from './index';
import { forgedRunState } from './runstate-forgery.test-support';

function billingWorld(ran: number[], options?: GovernanceOptions) {
  const refund = tool({ name: 'refund', description: 'refund', parameters: z.object({ amount: z.number() }), execute: async ({ amount }) => (ran.push(amount), 'ok') });
  const model = new ScriptedModel([[functionCall('refund', { amount: 500 }, { callId: 'call_1', namespace: 'billing' })], ...Array.from({ length: 6 }, () => [assistantMessage('done')])]);
  const agent = new Agent({ name: 'bot', model, tools: toolNamespace({ name: 'billing', description: 'billing tools', tools: [refund] }) });
  const gate = createGate({
    // Over 100 needs a human.
    reviewer: policyReviewer({ default: 'allow', rules: [{ name: 'big', tools: ['billing.*'], when: [{ field: 'args.amount', op: 'gt', value: 100 }], verdict: 'review', reason: 'over 100 needs a human' }] }),
    highStakes: ['billing.*'],
    audit: memoryAudit(),
    telemetry: false,
  });
  return { agent, runner: new GovernanceHooks(gate, options).attach(new Runner({ tracingDisabled: true })) };
}

describe('namespaced tool: the governor reads the SDK approval the SDK acts on', () => {
  it("resumeAnswers 'paused-here': refund(500) approved; the string changed to 900 under call_2 (never paused here) runs nothing", async () => {
    const ran: number[] = [];
    const w = billingWorld(ran, { resumeAnswers: 'paused-here' });
    const paused = await w.runner.run(w.agent, 'refund');
    expect(paused.interruptions).toHaveLength(1);
    expect(ran).toEqual([]);
    paused.state.approve(paused.interruptions[0]!);
    await w.runner.run(w.agent, await RunState.fromString(w.agent, forgedRunState(paused.state.toString(), 900, 'call_2')));
    expect(ran).toEqual([]);
  });

  it.each([
    ['default mode', undefined],
    ["resumeAnswers 'paused-here'", { resumeAnswers: 'paused-here' } as const],
  ])('%s, one approval of refund(500), the same string resumed twice: the body runs once', async (_mode, options) => {
    const ran: number[] = [];
    const w = billingWorld(ran, options);
    const paused = await w.runner.run(w.agent, 'refund');
    paused.state.approve(paused.interruptions[0]!);
    const saved = paused.state.toString();
    await w.runner.run(w.agent, await RunState.fromString(w.agent, saved));
    expect(ran).toEqual([500]);
    await w.runner.run(w.agent, await RunState.fromString(w.agent, saved)).catch(() => undefined);
    expect(ran).toEqual([500]);
  });
});
