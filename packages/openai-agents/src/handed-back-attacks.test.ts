// Attack pass (handed-back state): what a run can hand the governor that it then trusts as an
// allowing Decision the gate did not issue for that call — another run's review still in flight
// under the same tool + call id, a client-held RunState edited after the human answered. Real SDK,
// only the model scripted; the decisive assertion is the body's side-effect counter.
import { Agent, defineToolInputGuardrail, Runner, RunState, tool, ToolGuardrailFunctionOutputFactory as Guard } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { createGate, ErrorCodes, memoryAudit, policyReviewer, type ReviewerCallOptions, type ReviewRequest } from '@toolgate/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { approveWithEdits, getDecisions, GovernanceHooks } from './index';
import { bankWorld, forgedRunState, transferPolicy } from './runstate-forgery.test-support';

type Ctx = { conv: string };

describe('another run\'s review in flight under the same tool + call id', () => {
  it('run B (5,000, denied) does not run on run A\'s allow of 50 while A\'s review is in flight (distinct runIds)', async () => {
    let aStarted!: () => void;
    const aStartedP = new Promise<void>((r) => (aStarted = r));
    let releaseA!: () => void;
    const releaseAP = new Promise<void>((r) => (releaseA = r));
    let aInFlight = false;
    const policy = policyReviewer({
      default: 'allow',
      rules: [{ name: 'big', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 1000 }], verdict: 'deny', reason: 'over 1,000' }],
    });
    const reviewer = {
      ...policy,
      review: async (req: ReviewRequest, options: ReviewerCallOptions) => {
        if ((req.call.args as { amount: number }).amount === 50 && !req.dryRun) {
          aInFlight = true;
          aStarted();
          await releaseAP;
        }
        return policy.review(req, options);
      },
    };
    const gate = createGate({ reviewer, highStakes: ['transfer'], audit: memoryAudit(), telemetry: false });
    const ran: Array<{ conv: string; amount: number }> = [];
    // An ordinary user guardrail that does async work (a moderation call): in run B it is still
    // working while run A asks its review.
    const slowCheck = defineToolInputGuardrail({
      name: 'moderation',
      run: async ({ context }) => {
        if ((context.context as Ctx).conv === 'B') await aStartedP;
        return Guard.allow();
      },
    });
    const transfer = tool({
      name: 'transfer',
      description: 'send money',
      parameters: z.object({ amount: z.number() }),
      inputGuardrails: [slowCheck],
      execute: async ({ amount }, runContext) => {
        ran.push({ conv: (runContext?.context as Ctx).conv, amount });
        return `sent ${amount}`;
      },
    });
    const hooks = new GovernanceHooks<Ctx>(gate, {
      runId: (ctx) => {
        const conv = ctx.context.conv;
        // Run B's toolgate guard is looking its call up while A's review is still in flight.
        if (conv === 'B' && aInFlight) releaseA();
        return conv;
      },
    });
    const runner = hooks.attach(new Runner({ tracingDisabled: true }));
    const agentFor = (amount: number) =>
      new Agent<Ctx>({ name: 'bank', model: new ScriptedModel([[functionCall('transfer', { amount }, { callId: 'call_0' })], [assistantMessage('done')]]), tools: [transfer] });

    const b = runner.run(agentFor(5000), 'send 5000', { context: { conv: 'B' } });
    await new Promise((r) => setImmediate(r)); // B is past its review, in its own guardrail
    const a = runner.run(agentFor(50), 'send 50', { context: { conv: 'A' } });
    await Promise.allSettled([a, b]);

    expect(ran.filter((r) => r.amount === 5000)).toEqual([]);
    expect(ran).toEqual([{ conv: 'A', amount: 50 }]);
  });
});

describe('an edit one gate allowed and another refused, left behind for a later run', () => {
  it.each([
    ['with a runId per conversation', true],
    ['without runIds', false],
  ])('run B\'s approved call under the same tool + call id does not run run A\'s edit (2,500), which gate 2 denies — %s', async (_label, withRunId) => {
    // Gate 1: over 100 needs a human. Gate 2: the same, and 2,500 is denied outright.
    const gate1 = createGate({
      reviewer: policyReviewer({ default: 'allow', rules: [{ name: 'big', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 100 }], verdict: 'review', reason: 'over 100' }] }),
      highStakes: ['transfer'],
      audit: memoryAudit(),
      telemetry: false,
    });
    const gate2 = createGate({
      reviewer: policyReviewer({
        default: 'allow',
        rules: [
          { name: 'not-2500', tools: ['transfer'], when: [{ field: 'args.amount', op: 'eq', value: 2500 }], verdict: 'deny', reason: 'never 2,500' },
          { name: 'big', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 100 }], verdict: 'review', reason: 'over 100' },
        ],
      }),
      highStakes: ['transfer'],
      audit: memoryAudit(),
      telemetry: false,
    });
    const ran: Array<{ conv: string; amount: number }> = [];
    const transfer = tool({
      name: 'transfer',
      description: 'send money',
      parameters: z.object({ amount: z.number() }),
      execute: async ({ amount }, runContext) => {
        ran.push({ conv: (runContext?.context as Ctx).conv, amount });
        return `sent ${amount}`;
      },
    });
    const options = withRunId ? { runId: (ctx: { context: Ctx }) => ctx.context.conv } : {};
    const runner = new GovernanceHooks<Ctx>(gate2, options).attach(new GovernanceHooks<Ctx>(gate1, options).attach(new Runner({ tracingDisabled: true })));
    const agent = () => new Agent<Ctx>({ name: 'bank', model: new ScriptedModel([[functionCall('transfer', { amount: 25000 }, { callId: 'call_0' })], [assistantMessage('done')]]), tools: [transfer] });

    // Run A: the human edits 25,000 to 2,500; gate 1 allows the edit, gate 2 denies it: nothing runs.
    const agentA = agent();
    const pausedA = await runner.run(agentA, 'send 25000', { context: { conv: 'A' } });
    expect(pausedA.interruptions).toHaveLength(1);
    approveWithEdits(pausedA.state, pausedA.interruptions[0]!, { amount: 2500 });
    await runner.run(agentA, pausedA.state);
    expect(ran).toEqual([]);

    // Run B, another conversation: the model asks the same 25,000 under the same call id; its human approves it as asked.
    const agentB = agent();
    const pausedB = await runner.run(agentB, 'send 25000', { context: { conv: 'B' } });
    if (withRunId) expect(pausedB.interruptions).toHaveLength(1);
    for (const item of pausedB.interruptions) pausedB.state.approve(item);
    if (pausedB.interruptions.length > 0) await runner.run(agentB, pausedB.state);

    expect(ran.filter((r) => r.amount === 2500)).toEqual([]);
    // With run ids, B's own call is B's (it runs as its human approved); without, both runs share
    // one idempotency key and gate 1 answers B with A's superseded call: nothing runs.
    expect(ran).toEqual(withRunId ? [{ conv: 'B', amount: 25000 }] : []);
  });
});

describe('an allowed edit whose call never started, left behind for a later run', () => {
  it('one gate, no runIds: A\'s edit (2,500) stopped by the app\'s own guardrail does not run in run B, whose human approved 25,000', async () => {
    const gate = createGate({
      reviewer: policyReviewer({ default: 'allow', rules: [{ name: 'big', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 100 }], verdict: 'review', reason: 'over 100' }] }),
      highStakes: ['transfer'],
      audit: memoryAudit(),
      telemetry: false,
    });
    const ran: Array<{ conv: string; amount: number }> = [];
    // The app's own guardrail (it runs before toolgate's): conversation A is frozen meanwhile.
    const frozen = defineToolInputGuardrail({
      name: 'frozen-accounts',
      run: async ({ context }) => ((context.context as Ctx).conv === 'A' ? Guard.rejectContent('account A is frozen') : Guard.allow()),
    });
    const transfer = tool({
      name: 'transfer',
      description: 'send money',
      parameters: z.object({ amount: z.number() }),
      inputGuardrails: [frozen],
      execute: async ({ amount }, runContext) => {
        ran.push({ conv: (runContext?.context as Ctx).conv, amount });
        return `sent ${amount}`;
      },
    });
    const runner = new GovernanceHooks<Ctx>(gate).attach(new Runner({ tracingDisabled: true }));
    const agent = () => new Agent<Ctx>({ name: 'bank', model: new ScriptedModel([[functionCall('transfer', { amount: 25000 }, { callId: 'call_0' })], [assistantMessage('done')]]), tools: [transfer] });

    const agentA = agent();
    const pausedA = await runner.run(agentA, 'send 25000', { context: { conv: 'A' } });
    approveWithEdits(pausedA.state, pausedA.interruptions[0]!, { amount: 2500 });
    await runner.run(agentA, pausedA.state);
    expect(ran).toEqual([]);

    const agentB = agent();
    const pausedB = await runner.run(agentB, 'send 25000', { context: { conv: 'B' } });
    for (const item of pausedB.interruptions) pausedB.state.approve(item);
    if (pausedB.interruptions.length > 0) await runner.run(agentB, pausedB.state);
    expect(ran.filter((r) => r.amount === 2500)).toEqual([]);
  });
});

describe('a client-held RunState string whose paused call was changed after the human answered (same process)', () => {
  // Over 100 needs a human, over 1,000 is denied. The human is shown (and approves) 500.
  const world = (ran: number[]) => bankWorld(ran);
  const forged = (saved: string, amount: number) => forgedRunState(saved, amount);

  it.each([900, 5000])('approved 500, the string changed to %i: the changed call is refused (DENIED) and never runs; the untouched approval then runs 500 once', async (amount) => {
    const ran: number[] = [];
    const w = world(ran);
    const paused = await w.runner.run(w.agent, 'send 500');
    expect(paused.interruptions).toHaveLength(1);
    paused.state.approve(paused.interruptions[0]!);
    const saved = paused.state.toString();

    const changed = await w.runner.run(w.agent, await RunState.fromString(w.agent, forged(saved, amount)));
    expect(ran).toEqual([]);
    const d = getDecisions(changed).get('call_1');
    expect(d?.verdict).toBe('deny');
    expect(d?.source).not.toBe('human');
    if (amount === 900) {
      expect(d?.error?.code).toBe(ErrorCodes.DENIED);
      expect(d?.reason).toMatch(/arguments changed after the review/);
    }

    // The genuine state (the server's copy) still runs what the human approved, once.
    await w.runner.run(w.agent, await RunState.fromString(w.agent, saved));
    expect(ran).toEqual([500]);
    // And the changed string handed in after the answer was used runs nothing either.
    await w.runner.run(w.agent, await RunState.fromString(w.agent, forged(saved, amount)));
    expect(ran).toEqual([500]);
  });

  it('rejected 500, the string changed to 900 and approved: 900 never runs', async () => {
    const ran: number[] = [];
    const w = world(ran);
    const paused = await w.runner.run(w.agent, 'send 500');
    paused.state.reject(paused.interruptions[0]!);
    const saved = paused.state.toString();
    const state = await RunState.fromString(w.agent, forged(saved, 900));
    for (const item of state.getInterruptions()) state.approve(item);
    await w.runner.run(w.agent, state);
    expect(ran).toEqual([]);
  });

  it.each([
    ['run', false],
    ['streamed run', true],
  ])('a schema that fills in defaults (needsApproval sees the parsed input, the resume the raw call), %s: approved 500 runs once; changed to 900 it never runs', async (_label, stream) => {
    const ran: string[] = [];
    const gate = createGate({ reviewer: transferPolicy(), highStakes: ['transfer'], audit: memoryAudit(), telemetry: false });
    const transfer = tool({
      name: 'transfer',
      description: 'send money',
      parameters: z.object({ amount: z.number(), memo: z.string().default('none') }),
      execute: async ({ amount, memo }) => {
        ran.push(`${amount}:${memo}`);
        return `sent ${amount}`;
      },
    });
    const model = new ScriptedModel([[functionCall('transfer', { amount: 500 }, { callId: 'call_1' })], [assistantMessage('done')], [assistantMessage('done')]]);
    const agent = new Agent({ name: 'bank', model, tools: [transfer] });
    const runner = new GovernanceHooks(gate).attach(new Runner({ tracingDisabled: true }));
    let paused;
    if (stream) {
      const s = await runner.run(agent, 'send 500', { stream: true });
      for await (const _event of s) void _event;
      await s.completed;
      paused = s;
    } else {
      paused = await runner.run(agent, 'send 500');
    }
    expect(paused.interruptions).toHaveLength(1);
    paused.state.approve(paused.interruptions[0]!);
    const saved = paused.state.toString();
    await runner.run(agent, await RunState.fromString(agent, forged(saved, 900)));
    expect(ran).toEqual([]);
    await runner.run(agent, await RunState.fromString(agent, saved));
    expect(ran).toEqual(['500:none']);
  });

  it('approveWithEdits of the paused 500 (to 400) still runs the edit once', async () => {
    const ran: number[] = [];
    const w = world(ran);
    const paused = await w.runner.run(w.agent, 'send 500');
    approveWithEdits(paused.state, paused.interruptions[0]!, { amount: 400 });
    await w.runner.run(w.agent, await RunState.fromString(w.agent, paused.state.toString()));
    expect(ran).toEqual([400]);
  });
});
