// Test-only: the bank agent the RunState forgery tests share — one `transfer` tool whose body counts
// each run, a policy (over 100 needs a human, over 1,000 is denied), a model that asks to send 500
// under call_1 — and the forger's edit of a saved RunState string.
import { Agent, Runner, tool } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { createGate, memoryAudit, policyReviewer, type Gate } from '@toolgate/core';
import { expect } from 'vitest';
import { z } from 'zod';
import { GovernanceHooks, type GovernanceOptions } from './index';

/** Over 100 needs a human, over 1,000 is denied. */
export const transferPolicy = () =>
  policyReviewer({
    default: 'allow',
    rules: [
      { name: 'huge', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 1000 }], verdict: 'deny', reason: 'over 1,000' },
      { name: 'big', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 100 }], verdict: 'review', reason: 'over 100 needs a human' },
    ],
  });

/** The agent, its gate and a governed runner; every transfer that ran is pushed to `ran`. */
export function bankWorld(ran: number[], options?: GovernanceOptions, gate: Gate = createGate({ reviewer: transferPolicy(), highStakes: ['transfer'], audit: memoryAudit(), telemetry: false })) {
  const transfer = tool({
    name: 'transfer',
    description: 'send money',
    parameters: z.object({ amount: z.number() }),
    execute: async ({ amount }) => {
      ran.push(amount);
      return `sent ${amount}`;
    },
  });
  const model = new ScriptedModel([[functionCall('transfer', { amount: 500 }, { callId: 'call_1' })], ...Array.from({ length: 6 }, () => [assistantMessage('done')])]);
  const agent = new Agent({ name: 'bank', model, tools: [transfer] });
  return { gate, agent, model, runner: new GovernanceHooks(gate, options).attach(new Runner({ tracingDisabled: true })) };
}

/**
 * The saved string with the paused call's amount changed (the SDK's approval fingerprint of the
 * arguments fixed up to match) and, optionally, its call id renamed everywhere.
 */
export function forgedRunState(saved: string, amount: number | undefined, callId?: string): string {
  let out = saved;
  if (amount !== undefined) {
    out = out
      .replace(/(amount\\*":)500\b/g, `$1${amount}`)
      .replaceAll('openai-agents-json:number:5e2', `openai-agents-json:number:${amount.toExponential().replace('+', '')}`);
  }
  if (callId) out = out.replaceAll('call_1', callId);
  expect(out).not.toBe(saved);
  return out;
}
