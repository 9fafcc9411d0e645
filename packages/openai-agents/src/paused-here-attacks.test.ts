// Attack review of resumeAnswers: 'paused-here' (3af7a5b): a client-held RunState string, edited,
// resumed with the option ON — two gates on one runner, a renamed tool, runs keyed by a run id read
// from the run context, a sub-agent's call. Real SDK, only the model scripted; bodies are counted.
import { Agent, Runner, RunState, tool } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { createGate, memoryAudit, policyReviewer } from '@toolgate/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GovernanceHooks } from './index';
import { bankWorld, forgedRunState, transferPolicy } from './runstate-forgery.test-support';

const ON = { resumeAnswers: 'paused-here' } as const;
const newGate = (highStakes = ['transfer']) => createGate({ reviewer: transferPolicy(), highStakes, audit: memoryAudit(), telemetry: false });
const counted = (name: string, ran: string[]) =>
  tool({ name, description: name, parameters: z.object({ amount: z.number() }), execute: async ({ amount }) => (ran.push(`${name}(${amount})`), `ok ${amount}`) });

describe("resumeAnswers: 'paused-here' under attack", () => {
  it('two gates (two hooks) on one runner: the renamed forgery runs nothing; the untouched approval runs once', async () => {
    const ran: number[] = [];
    const w = bankWorld(ran, ON);
    new GovernanceHooks(newGate(), ON).attach(w.runner);
    const paused = await w.runner.run(w.agent, 'send 500');
    expect(paused.interruptions).toHaveLength(1);
    paused.state.approve(paused.interruptions[0]!);
    const saved = paused.state.toString();
    await w.runner.run(w.agent, await RunState.fromString(w.agent, forgedRunState(saved, 900, 'call_2')));
    expect(ran).toEqual([]);
    await w.runner.run(w.agent, await RunState.fromString(w.agent, saved));
    await w.runner.run(w.agent, await RunState.fromString(w.agent, saved));
    expect(ran).toEqual([500]);
  });

  it('an approval of transfer(500) with the tool renamed in the string to another high-stakes tool (payout) runs neither', async () => {
    const ran: string[] = [];
    const model = new ScriptedModel([[functionCall('transfer', { amount: 500 }, { callId: 'call_1' })], ...Array.from({ length: 4 }, () => [assistantMessage('done')])]);
    const agent = new Agent({ name: 'bank', model, tools: [counted('transfer', ran), counted('payout', ran)] });
    const gate = createGate({
      // Both tools: over 100 needs a human.
      reviewer: policyReviewer({ default: 'allow', rules: [{ name: 'big', tools: ['transfer', 'payout'], when: [{ field: 'args.amount', op: 'gt', value: 100 }], verdict: 'review', reason: 'over 100 needs a human' }] }),
      highStakes: ['transfer', 'payout'],
      audit: memoryAudit(),
      telemetry: false,
    });
    const runner = new GovernanceHooks(gate, ON).attach(new Runner({ tracingDisabled: true }));
    const paused = await runner.run(agent, 'send 500');
    paused.state.approve(paused.interruptions[0]!);
    const saved = paused.state.toString();
    const renamed = saved.replaceAll('transfer', 'payout');
    expect(renamed).not.toBe(saved);
    await runner.run(agent, await RunState.fromString(agent, renamed));
    expect(ran.filter((r) => r.startsWith('payout'))).toEqual([]);
    await runner.run(agent, await RunState.fromString(agent, saved));
    expect(ran).toEqual(['transfer(500)']);
  });

  it('run id read from the run context: the approved string of conv-A moved to conv-B (where call_1 paused with other args) runs nothing of conv-A\'s approval there', async () => {
    const ran: number[] = [];
    const transfer = tool({ name: 'transfer', description: 'send', parameters: z.object({ amount: z.number() }), execute: async ({ amount }) => (ran.push(amount), 'sent') });
    const model = new ScriptedModel([
      [functionCall('transfer', { amount: 500 }, { callId: 'call_1' })],
      [functionCall('transfer', { amount: 800 }, { callId: 'call_1' })],
      ...Array.from({ length: 4 }, () => [assistantMessage('done')]),
    ]);
    const agent = new Agent<{ conv: string }>({ name: 'bank', model, tools: [transfer] });
    const runner = new GovernanceHooks<{ conv: string }>(newGate(), { ...ON, runId: (ctx) => ctx.context.conv }).attach(new Runner({ tracingDisabled: true }));
    const a = await runner.run(agent, 'send 500', { context: { conv: 'conv-A' } });
    const b = await runner.run(agent, 'send 800', { context: { conv: 'conv-B' } });
    expect(a.interruptions).toHaveLength(1);
    expect(b.interruptions).toHaveLength(1);
    a.state.approve(a.interruptions[0]!);
    const savedA = a.state.toString();
    // conv-A's approved string, moved to conv-B with conv-A's own arguments (500): conv-B never paused 500.
    await runner.run(agent, await RunState.fromString(agent, savedA.replaceAll('conv-A', 'conv-B')));
    expect(ran).toEqual([]);
    await runner.run(agent, await RunState.fromString(agent, savedA));
    expect(ran).toEqual([500]);
  });

  it("an asTool() sub-agent's paused call: the renamed forgery runs nothing", async () => {
    const ran: number[] = [];
    const transfer = tool({ name: 'transfer', description: 'send', parameters: z.object({ amount: z.number() }), execute: async ({ amount }) => (ran.push(amount), 'sent') });
    const inner = new Agent({
      name: 'payer',
      model: new ScriptedModel([[functionCall('transfer', { amount: 500 }, { callId: 'call_1' })], ...Array.from({ length: 4 }, () => [assistantMessage('inner done')])]),
      tools: [transfer],
    });
    const boss = new Agent({
      name: 'boss',
      model: new ScriptedModel([[functionCall('payer_tool', { input: 'pay' }, { callId: 'outer_1' })], ...Array.from({ length: 4 }, () => [assistantMessage('outer done')])]),
      tools: [inner.asTool({ toolName: 'payer_tool', toolDescription: 'pays' })],
    });
    const runner = new GovernanceHooks(newGate(), ON).attach(new Runner({ tracingDisabled: true }));
    const paused = await runner.run(boss, 'pay');
    expect(paused.interruptions.map((i) => i.toolName)).toEqual(['transfer']);
    for (const item of paused.interruptions) paused.state.approve(item);
    const saved = paused.state.toString();
    await runner.run(boss, await RunState.fromString(boss, forgedRunState(saved, 900, 'call_2'))).catch(() => undefined);
    expect(ran).toEqual([]);
    await runner.run(boss, await RunState.fromString(boss, saved));
    await runner.run(boss, await RunState.fromString(boss, saved)).catch(() => undefined);
    expect(ran).toEqual([500]);
  });
});

describe("resumeAnswers: 'paused-here': an extra approved interruption added to the string", () => {
  /** Adds a copy of the paused call (call id and amount as given) to every list of the saved string that holds it. */
  function withExtraCall(saved: string, callId: string, amount: number): string {
    const s = JSON.parse(saved) as Record<string, any>;
    const fix = (raw: any) => ({ ...raw, id: callId, callId, arguments: JSON.stringify({ amount }) });
    const lpr = s.lastProcessedResponse;
    lpr.functions.push({ ...lpr.functions[0], toolCall: fix(lpr.functions[0].toolCall) });
    lpr.newItems.push({ ...lpr.newItems[0], rawItem: fix(lpr.newItems[0].rawItem) });
    const ints = s.currentStep.data.interruptions;
    ints.push({ ...ints[0], rawItem: fix(ints[0].rawItem) });
    s.lastModelResponse.output.push(fix(s.lastModelResponse.output[0]));
    s.modelResponses[s.modelResponses.length - 1] = s.lastModelResponse;
    // generatedItems: the processed items, then the interruptions (the SDK checks this layout).
    s.generatedItems = [...lpr.newItems, ...ints];
    s.currentResponseGeneratedItemOwnership.generatedItemEndIndexExclusive = s.generatedItems.length;
    s.currentResponseGeneratedItemOwnership.interruptionGeneratedItemIndexes = ints.map((_: unknown, i: number) => lpr.newItems.length + i);
    for (const ai of s.context.approvalInvocations) {
      const inv = ai.invocations as Record<string, string>;
      inv[callId] = inv.call_1!.replaceAll('call_1', callId).replaceAll('number:5e2', `number:${amount.toExponential().replace('+', '')}`);
    }
    for (const fa of s.context.functionApprovals) for (const v of Object.values(fa.approvals) as Array<{ approved: string[] }>) v.approved.push(callId);
    return JSON.stringify(s);
  }

  it('the approved call_1 (500) plus an approved call_5 (900) never paused: 500 runs once, 900 never', async () => {
    const ran: number[] = [];
    const w = bankWorld(ran, ON);
    const paused = await w.runner.run(w.agent, 'send 500');
    paused.state.approve(paused.interruptions[0]!);
    const forged = withExtraCall(paused.state.toString(), 'call_5', 900);
    const state = await RunState.fromString(w.agent, forged);
    expect(state.getInterruptions()).toHaveLength(2);
    await w.runner.run(w.agent, state);
    expect(ran).toEqual([500]);
    await w.runner.run(w.agent, await RunState.fromString(w.agent, forged));
    expect(ran).toEqual([500]);
  });

  it('the approved call_1 (500) duplicated under the same call id: 500 runs at most once', async () => {
    const ran: number[] = [];
    const w = bankWorld(ran, ON);
    const paused = await w.runner.run(w.agent, 'send 500');
    paused.state.approve(paused.interruptions[0]!);
    const forged = withExtraCall(paused.state.toString(), 'call_1', 500);
    await w.runner.run(w.agent, await RunState.fromString(w.agent, forged)).catch(() => undefined);
    await w.runner.run(w.agent, await RunState.fromString(w.agent, paused.state.toString())).catch(() => undefined);
    expect(ran.length).toBeLessThanOrEqual(1);
    expect(ran.every((a) => a === 500)).toBe(true);
  });
});
