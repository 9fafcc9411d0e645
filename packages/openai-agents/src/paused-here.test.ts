// `resumeAnswers: 'paused-here'` (opt-in): a human answer read back from a RunState counts only for
// a call this governor paused for a human itself (tool + call id + run id + digest it recorded as
// shown). It closes the renamed-call forgery of renamed-call-attacks.test.ts (the default keeps
// resumes from other processes working, so that test stays `it.fails`). Real SDK, only the model
// scripted; the decisive assertion is the body's side-effect counter.
import { Agent, Runner, RunState, tool } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { createGate, memoryAudit, OptionsError } from '@toolgate/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AgentsErrorCodes, approveWithEdits, getDecisions, governAgent, GovernanceHooks } from './index';
import { bankWorld, forgedRunState, transferPolicy } from './runstate-forgery.test-support';

const world = bankWorld;
const forged = forgedRunState;

const ON = { resumeAnswers: 'paused-here' } as const;
const notPausedHere = { verdict: 'deny', source: 'fail_closed', error: { code: AgentsErrorCodes.ANSWER_NOT_PAUSED_HERE } };

describe("resumeAnswers: 'paused-here'", () => {
  it('approved 500; the string changed to 900 under a call id this process never paused: 900 runs zero times, the untouched approval runs 500 once', async () => {
    const ran: number[] = [];
    const w = world(ran, ON);
    const paused = await w.runner.run(w.agent, 'send 500');
    expect(paused.interruptions).toHaveLength(1);
    paused.state.approve(paused.interruptions[0]!);
    const saved = paused.state.toString();

    const forgery = await w.runner.run(w.agent, await RunState.fromString(w.agent, forged(saved, 900, 'call_2')));
    expect(ran).toEqual([]);
    const refused = getDecisions(forgery).get('call_2');
    expect(refused).toMatchObject(notPausedHere);
    expect(refused?.reason).toMatch(/not paused for a human in this process/);

    await w.runner.run(w.agent, await RunState.fromString(w.agent, saved));
    expect(ran).toEqual([500]);
    // Once only: the same string again meets ALREADY_EXECUTED.
    await w.runner.run(w.agent, await RunState.fromString(w.agent, saved));
    expect(ran).toEqual([500]);
  });

  it('the approved 500 ran; the same string with only the call id renamed (a replay) runs nothing more', async () => {
    const ran: number[] = [];
    const w = world(ran, ON);
    const paused = await w.runner.run(w.agent, 'send 500');
    paused.state.approve(paused.interruptions[0]!);
    const saved = paused.state.toString();
    await w.runner.run(w.agent, await RunState.fromString(w.agent, saved));
    expect(ran).toEqual([500]);
    const replay = await w.runner.run(w.agent, await RunState.fromString(w.agent, forged(saved, undefined, 'call_2')));
    expect(ran).toEqual([500]);
    expect(getDecisions(replay).get('call_2')).toMatchObject(notPausedHere);
  });

  it('approveWithEdits (to 400) runs the edit once; the string renamed to another call id does not run it again', async () => {
    const ran: number[] = [];
    const w = world(ran, ON);
    const paused = await w.runner.run(w.agent, 'send 500');
    approveWithEdits(paused.state, paused.interruptions[0]!, { amount: 400 });
    const saved = paused.state.toString();
    await w.runner.run(w.agent, await RunState.fromString(w.agent, saved));
    expect(ran).toEqual([400]);
    const replay = await w.runner.run(w.agent, await RunState.fromString(w.agent, forged(saved, undefined, 'call_2')));
    expect(ran).toEqual([400]);
    expect(getDecisions(replay).get('call_2')).toMatchObject(notPausedHere);
  });

  it('a rejection of the paused call is recorded as the human\'s (nothing runs)', async () => {
    const ran: number[] = [];
    const w = world(ran, ON);
    const paused = await w.runner.run(w.agent, 'send 500');
    paused.state.reject(paused.interruptions[0]!, { message: 'not today' });
    const resumed = await w.runner.run(w.agent, await RunState.fromString(w.agent, paused.state.toString()));
    expect(ran).toEqual([]);
    expect(getDecisions(resumed).get('call_1')).toMatchObject({ verdict: 'deny', source: 'human' });
  });

  it('a RunState paused in another process (another governor, same gate) is refused here: nothing runs', async () => {
    const ran: number[] = [];
    const a = world(ran, ON);
    const paused = await a.runner.run(a.agent, 'send 500');
    paused.state.approve(paused.interruptions[0]!);
    const b = world(ran, ON, a.gate);
    const resumed = await b.runner.run(b.agent, await RunState.fromString(b.agent, paused.state.toString()));
    expect(ran).toEqual([]);
    expect(getDecisions(resumed).get('call_1')).toMatchObject(notPausedHere);
  });

  it('governAgent takes the option too: the renamed forgery runs nothing, the untouched approval runs once', async () => {
    const ran: number[] = [];
    const w = world(ran);
    const gate = createGate({ reviewer: transferPolicy(), highStakes: ['transfer'], audit: memoryAudit(), telemetry: false });
    const agent = governAgent(w.agent, gate, ON);
    const runner = new Runner({ tracingDisabled: true });
    const paused = await runner.run(agent, 'send 500');
    paused.state.approve(paused.interruptions[0]!);
    const saved = paused.state.toString();
    await runner.run(agent, await RunState.fromString(agent, forged(saved, 900, 'call_2')));
    expect(ran).toEqual([]);
    await runner.run(agent, await RunState.fromString(agent, saved));
    expect(ran).toEqual([500]);
  });

  it('a streamed pause counts as paused here', async () => {
    const ran: number[] = [];
    const w = world(ran, ON);
    const s = await w.runner.run(w.agent, 'send 500', { stream: true });
    for await (const _event of s) void _event;
    await s.completed;
    expect(s.interruptions).toHaveLength(1);
    s.state.approve(s.interruptions[0]!);
    const saved = s.state.toString();
    await w.runner.run(w.agent, await RunState.fromString(w.agent, forged(saved, 900, 'call_2')));
    expect(ran).toEqual([]);
    await w.runner.run(w.agent, await RunState.fromString(w.agent, saved));
    expect(ran).toEqual([500]);
  });

  it('two calls paused in one run, both approved, run once each; with a runId, the string under another run id runs nothing', async () => {
    const ran: number[] = [];
    const gate = createGate({ reviewer: transferPolicy(), highStakes: ['transfer'], audit: memoryAudit(), telemetry: false });
    const transfer = tool({
      name: 'transfer',
      description: 'send money',
      parameters: z.object({ amount: z.number() }),
      execute: async ({ amount }) => {
        ran.push(amount);
        return `sent ${amount}`;
      },
    });
    const model = new ScriptedModel([
      [functionCall('transfer', { amount: 500 }, { callId: 'call_1' }), functionCall('transfer', { amount: 600 }, { callId: 'call_9' })],
      ...Array.from({ length: 4 }, () => [assistantMessage('done')]),
    ]);
    const agent = new Agent<{ conv: string }>({ name: 'bank', model, tools: [transfer] });
    const runner = new GovernanceHooks<{ conv: string }>(gate, { ...ON, runId: (ctx) => ctx.context.conv }).attach(new Runner({ tracingDisabled: true }));
    const paused = await runner.run(agent, 'send 500 and 600', { context: { conv: 'conv-A' } });
    expect(paused.interruptions).toHaveLength(2);
    for (const item of paused.interruptions) paused.state.approve(item);
    const saved = paused.state.toString();
    await runner.run(agent, await RunState.fromString(agent, saved.replaceAll('conv-A', 'conv-B').replaceAll('call_1', 'call_2')));
    expect(ran).toEqual([]);
    await runner.run(agent, await RunState.fromString(agent, saved));
    expect(ran.sort()).toEqual([500, 600]);
  });

  it('rejects an unknown value', () => {
    const gate = createGate({ reviewer: transferPolicy(), highStakes: ['transfer'], audit: memoryAudit(), telemetry: false });
    expect(() => new GovernanceHooks(gate, { resumeAnswers: 'here' as never })).toThrow(OptionsError);
  });
});

describe('resumeAnswers by default (any)', () => {
  it("a RunState paused in another process runs its approved call once (the default keeps cross-process resumes); 'any' is the default", async () => {
    for (const options of [undefined, { resumeAnswers: 'any' } as const]) {
      const ran: number[] = [];
      const a = world(ran, options);
      const paused = await a.runner.run(a.agent, 'send 500');
      paused.state.approve(paused.interruptions[0]!);
      const b = world(ran, options, a.gate);
      await b.runner.run(b.agent, await RunState.fromString(b.agent, paused.state.toString()));
      expect(ran).toEqual([500]);
    }
  });
});
