// Attack pass (7e429d3's AI SDK case, for the OpenAI adapter): an approved, already-run RunState
// string resumed again under another run id — the app derives runId from its run context, which the
// string carries. The human approved ONE transfer. Real SDK, only the model scripted; the decisive
// assertion is the body's side-effect counter.
import { Agent, Runner, RunState, tool } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { createGate, ErrorCodes, memoryAudit, policyReviewer } from '@toolgate/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { getDecisions, GovernanceHooks } from './index';

type Ctx = { conv: string };

describe('an approved RunState resumed again under another run id (same process)', () => {
  it('approved 500 ran once; the string with the conversation id changed runs nothing', async () => {
    const ran: number[] = [];
    const gate = createGate({
      reviewer: policyReviewer({ default: 'allow', rules: [{ name: 'big', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 100 }], verdict: 'review', reason: 'over 100' }] }),
      highStakes: ['transfer'],
      audit: memoryAudit(),
      telemetry: false,
    });
    const transfer = tool({
      name: 'transfer',
      description: 'send money',
      parameters: z.object({ amount: z.number() }),
      execute: async ({ amount }) => {
        ran.push(amount);
        return `sent ${amount}`;
      },
    });
    const model = new ScriptedModel([[functionCall('transfer', { amount: 500 }, { callId: 'call_1' })], ...Array.from({ length: 4 }, () => [assistantMessage('done')])]);
    const agent = new Agent<Ctx>({ name: 'bank', model, tools: [transfer] });
    const runner = new GovernanceHooks<Ctx>(gate, { runId: (ctx) => ctx.context.conv }).attach(new Runner({ tracingDisabled: true }));
    const paused = await runner.run(agent, 'send 500', { context: { conv: 'conv-A' } });
    expect(paused.interruptions).toHaveLength(1);
    paused.state.approve(paused.interruptions[0]!);
    const saved = paused.state.toString();
    expect(saved).toContain('conv-A');
    await runner.run(agent, await RunState.fromString(agent, saved));
    expect(ran).toEqual([500]);
    // The same string again: the gate's key (conv-A, call_1, 500) already ran.
    await runner.run(agent, await RunState.fromString(agent, saved));
    expect(ran).toEqual([500]);
    // The same string under a conversation id the client picks.
    const replayed = await runner.run(agent, await RunState.fromString(agent, saved.replaceAll('conv-A', 'conv-B')));
    expect(ran).toEqual([500]);
    expect(getDecisions(replayed).get('call_1')).toMatchObject({ verdict: 'deny', error: { code: ErrorCodes.DENIED } });

    // Conversation C's own model asks the same call under the same id (providers with deterministic
    // ids): paused and approved by its own human, it runs once.
    const modelC = new ScriptedModel([[functionCall('transfer', { amount: 500 }, { callId: 'call_1' })], [assistantMessage('done')]]);
    const agentC = new Agent<Ctx>({ name: 'bank', model: modelC, tools: [transfer] });
    const pausedC = await runner.run(agentC, 'send 500', { context: { conv: 'conv-C' } });
    expect(pausedC.interruptions).toHaveLength(1);
    pausedC.state.approve(pausedC.interruptions[0]!);
    await runner.run(agentC, await RunState.fromString(agentC, pausedC.state.toString()));
    expect(ran).toEqual([500, 500]);
  });
});
