// BYPASS found in the attack review of resumeAnswers: 'paused-here' (3af7a5b) — not fixed here, the
// lead decides. A function tool inside toolNamespace({ name: 'billing' }): the SDK keeps its human
// approval under the key ["namespaced","billing","refund"], but the governor asks
// ctx.isToolApproved({ toolName: 'refund' | 'billing.refund', callId }), which answers undefined for
// both. So, on a resume:
//  - recordHumanDecisions sees no answer (approved undefined → `continue`): neither the
//    'paused-here' check nor the changed-arguments check runs, and nothing is recorded on the gate;
//  - needsApproval, re-asked by the SDK, sees no answer either, so it marks the call as shown
//    (markShown) — for whatever call the string holds;
//  - the input guardrail's humanAnswer then finds "shown, no approval" → 'preapproval' →
//    { allowed: true } with the gate's Decision still 'review' (no claimExecution: no
//    ALREADY_EXECUTED), while the SDK runs the body on its own approval.
// Result: with resumeAnswers 'paused-here', a string forged to 900 under a call id never paused runs
// 900 (Decision: review/policy, no human answer); and the approved string resumed twice runs the
// body twice. Same in the default mode. Real SDK (0.20), only the model scripted; body counted.
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

describe('namespaced tool: the SDK approval is not seen by the governor', () => {
  it.fails("resumeAnswers 'paused-here': refund(500) approved; the string changed to 900 under call_2 (never paused here) runs 900 (BYPASS: ran [900])", async () => {
    const ran: number[] = [];
    const w = billingWorld(ran, { resumeAnswers: 'paused-here' });
    const paused = await w.runner.run(w.agent, 'refund');
    expect(paused.interruptions).toHaveLength(1);
    expect(ran).toEqual([]);
    paused.state.approve(paused.interruptions[0]!);
    await w.runner.run(w.agent, await RunState.fromString(w.agent, forgedRunState(paused.state.toString(), 900, 'call_2')));
    expect(ran).toEqual([]); // fails: [900]
  });

  it.fails('one approval of refund(500), the same string resumed twice: the body runs twice (BYPASS: ran [500, 500])', async () => {
    const ran: number[] = [];
    const w = billingWorld(ran, { resumeAnswers: 'paused-here' });
    const paused = await w.runner.run(w.agent, 'refund');
    paused.state.approve(paused.interruptions[0]!);
    const saved = paused.state.toString();
    await w.runner.run(w.agent, await RunState.fromString(w.agent, saved));
    expect(ran).toEqual([500]);
    await w.runner.run(w.agent, await RunState.fromString(w.agent, saved)).catch(() => undefined);
    expect(ran).toEqual([500]); // fails: [500, 500]
  });

  it.fails('default mode, one approval, the same string resumed twice: the body runs twice (BYPASS: ran [500, 500])', async () => {
    const ran: number[] = [];
    const w = billingWorld(ran);
    const paused = await w.runner.run(w.agent, 'refund');
    paused.state.approve(paused.interruptions[0]!);
    const saved = paused.state.toString();
    await w.runner.run(w.agent, await RunState.fromString(w.agent, saved));
    expect(ran).toEqual([500]);
    await w.runner.run(w.agent, await RunState.fromString(w.agent, saved)).catch(() => undefined);
    expect(ran).toEqual([500]); // fails: [500, 500]
  });
});
