// One tool_call_id for two calls in one model turn (the hole found in the LangGraph adapter):
// Decisions, SDK approvals and results are keyed by call id, so a human who approves the call they
// were shown must not thereby authorise a sibling call that reuses its id with other arguments.
// Every body counts its runs and records the arguments it got. The human-loop assertions hold whatever
// refuses the turn; the last ones pin who refuses it today (the SDK), so an SDK change is re-checked.
import { Agent, Runner, tool } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { createGate, memoryAudit, policyReviewer } from '@toolgate/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GovernanceHooks } from './index';

// transfer: over 100 needs a human (so 500 and 5,000 both do); 100 or less runs.
const policy = () =>
  policyReviewer({
    default: 'allow',
    rules: [{ name: 'big', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 100 }], verdict: 'review', reason: 'over 100 needs a human' }],
  });

type Args = { to: string; amount: number };

function world(calls: Args[]) {
  const ran: Args[] = [];
  const gate = createGate({ reviewer: policy(), highStakes: ['transfer'], audit: memoryAudit(), telemetry: false });
  const transfer = tool({
    name: 'transfer',
    description: 'send money',
    parameters: z.object({ to: z.string(), amount: z.number() }),
    execute: async (args) => {
      ran.push({ ...args });
      return `sent ${args.amount} to ${args.to}`;
    },
  });
  const model = new ScriptedModel([calls.map((a) => functionCall('transfer', a, { callId: 'x' })), [assistantMessage('done')], [assistantMessage('done')]]);
  const agent = new Agent({ name: 'bank', model, tools: [transfer] });
  const runner = new GovernanceHooks(gate).attach(new Runner({ tracingDisabled: true }));
  return { ran, agent, runner };
}

const argsOf = (item: { rawItem: unknown }): Args => JSON.parse((item.rawItem as { arguments: string }).arguments) as Args;

/** Runs the turn; the human approves exactly the interruptions showing `approve` (by amount); returns what ran, what was approved, and any refusal of the run. */
async function scenario(calls: Args[], approve: number) {
  const w = world(calls);
  const approved: Args[] = [];
  let refused: unknown;
  let ranBeforeHuman: Args[] = [];
  try {
    const first = await w.runner.run(w.agent, 'pay');
    ranBeforeHuman = [...w.ran];
    for (const item of first.interruptions) {
      if (argsOf(item).amount !== approve) continue;
      first.state.approve(item);
      approved.push(argsOf(item));
    }
    if (first.interruptions.length > 0) await w.runner.run(w.agent, first.state);
  } catch (error) {
    refused = error;
  }
  expect(ranBeforeHuman.filter((a) => a.amount > 100)).toEqual([]); // nothing high-stakes before a human answered
  return { ran: w.ran, approved, refused };
}

describe('one call id for two calls of one tool in a model turn', () => {
  it('500 and 5,000 share id x; the human approves the 500 they were shown: the 5,000 body never runs', async () => {
    const r = await scenario([{ to: 'bob', amount: 500 }, { to: 'bob', amount: 5_000 }], 500);
    expect(r.ran.filter((a) => a.amount === 5_000)).toEqual([]);
    // Nothing ran that a human was not shown and did not approve for its exact arguments, and nothing twice.
    for (const a of r.ran) expect(r.approved).toContainEqual(a);
    expect(r.ran.length).toBeLessThanOrEqual(1);
    // Today the SDK itself refuses the turn before any tool or approval (RunState preflight, from 0.16.0).
    expect(String(r.refused)).toMatch(/Tool call ID x was reused for different tool invocations/);
    expect(r.ran).toEqual([]);
  });

  it('the same with the 5,000 call first in the turn', async () => {
    const r = await scenario([{ to: 'bob', amount: 5_000 }, { to: 'bob', amount: 500 }], 500);
    expect(r.ran.filter((a) => a.amount === 5_000)).toEqual([]);
    for (const a of r.ran) expect(r.approved).toContainEqual(a);
    expect(r.ran.length).toBeLessThanOrEqual(1);
    // Today the SDK itself refuses the turn before any tool or approval (RunState preflight, from 0.16.0).
    expect(String(r.refused)).toMatch(/Tool call ID x was reused for different tool invocations/);
    expect(r.ran).toEqual([]);
  });

  it('a low-stakes 50 and a high-stakes 5,000 share id x: the 5,000 never runs unreviewed, nor on an approval of another call', async () => {
    const r = await scenario([{ to: 'bob', amount: 50 }, { to: 'bob', amount: 5_000 }], 50);
    expect(r.ran.filter((a) => a.amount === 5_000)).toEqual([]);
    for (const a of r.ran) expect([{ to: 'bob', amount: 50 }]).toContainEqual(a);
    expect(r.ran.length).toBeLessThanOrEqual(1);
    // Today the SDK itself refuses the turn before any tool or approval (RunState preflight, from 0.16.0).
    expect(String(r.refused)).toMatch(/Tool call ID x was reused for different tool invocations/);
    expect(r.ran).toEqual([]);
  });

  it('the same with the high-stakes call first', async () => {
    const r = await scenario([{ to: 'bob', amount: 5_000 }, { to: 'bob', amount: 50 }], 50);
    expect(r.ran.filter((a) => a.amount === 5_000)).toEqual([]);
    for (const a of r.ran) expect([{ to: 'bob', amount: 50 }]).toContainEqual(a);
    expect(r.ran.length).toBeLessThanOrEqual(1);
    // Today the SDK itself refuses the turn before any tool or approval (RunState preflight, from 0.16.0).
    expect(String(r.refused)).toMatch(/Tool call ID x was reused for different tool invocations/);
    expect(r.ran).toEqual([]);
  });
});
