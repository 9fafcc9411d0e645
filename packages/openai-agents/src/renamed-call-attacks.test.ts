// Attack pass on a7d9ebf (a human's answer counts only for the call the human was shown, kept per
// tool + call id): a client-held RunState string whose paused call was changed after the human
// answered — the arguments AND the call id (every occurrence, so the SDK's approval follows it).
// Real SDK, only the model scripted; the decisive assertion is the body's side-effect counter.
import { Agent, Runner, RunState, tool } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { createGate, memoryAudit, policyReviewer } from '@toolgate/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GovernanceHooks } from './index';

const policy = () =>
  policyReviewer({
    default: 'allow',
    rules: [
      { name: 'huge', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 1000 }], verdict: 'deny', reason: 'over 1,000' },
      { name: 'big', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 100 }], verdict: 'review', reason: 'over 100 needs a human' },
    ],
  });

function world(ran: number[]) {
  const gate = createGate({ reviewer: policy(), highStakes: ['transfer'], audit: memoryAudit(), telemetry: false });
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
  const agent = new Agent({ name: 'bank', model, tools: [transfer] });
  return { gate, agent, runner: new GovernanceHooks(gate).attach(new Runner({ tracingDisabled: true })) };
}

/** The saved string with the paused call's amount changed (the SDK's fingerprint fixed up) and, optionally, its call id renamed everywhere. */
function forged(saved: string, amount: number, callId?: string): string {
  let out = saved
    .replace(/(amount\\*":)500\b/g, `$1${amount}`)
    .replaceAll('openai-agents-json:number:5e2', `openai-agents-json:number:${amount.toExponential().replace('+', '')}`);
  if (callId) out = out.replaceAll('call_1', callId);
  expect(out).not.toBe(saved);
  return out;
}

describe('a RunState whose paused call was changed and renamed after the human approved it (same process)', () => {
  // Known limit, not fixed here: see the report. The governor keeps what it showed per tool + call
  // id; a call id it never saw is read as a RunState from a fresh process, where the string is all
  // there is. Anything in the string that could tell the two apart can be rewritten with it.
  it.fails('approved 500; the string changed to 900 under a call id the process never saw: 900 never runs', async () => {
    const ran: number[] = [];
    const w = world(ran);
    const paused = await w.runner.run(w.agent, 'send 500');
    expect(paused.interruptions).toHaveLength(1);
    paused.state.approve(paused.interruptions[0]!);
    const saved = paused.state.toString();
    await w.runner.run(w.agent, await RunState.fromString(w.agent, forged(saved, 900, 'call_2')));
    expect(ran).toEqual([]);
  });

  it('the same call id kept (a7d9ebf): 900 never runs; the untouched state runs 500 once', async () => {
    const ran: number[] = [];
    const w = world(ran);
    const paused = await w.runner.run(w.agent, 'send 500');
    paused.state.approve(paused.interruptions[0]!);
    const saved = paused.state.toString();
    await w.runner.run(w.agent, await RunState.fromString(w.agent, forged(saved, 900)));
    expect(ran).toEqual([]);
    await w.runner.run(w.agent, await RunState.fromString(w.agent, saved));
    expect(ran).toEqual([500]);
  });
});
