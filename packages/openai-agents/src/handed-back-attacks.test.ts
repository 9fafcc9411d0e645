// Attack pass (handed-back state): what a run can hand the governor that it then trusts as an
// allowing Decision the gate did not issue for that call — another run's review still in flight
// under the same tool + call id, a client-held RunState edited after the human answered. Real SDK,
// only the model scripted; the decisive assertion is the body's side-effect counter.
import { Agent, defineToolInputGuardrail, Runner, RunState, tool, ToolGuardrailFunctionOutputFactory as Guard } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { createGate, memoryAudit, policyReviewer, type ReviewerCallOptions, type ReviewRequest } from '@toolgate/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GovernanceHooks } from './index';

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
