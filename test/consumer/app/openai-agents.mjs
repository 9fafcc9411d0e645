// @toolgate/openai-agents with the latest @openai/agents: a scripted model calls transfer twice; the gate lets one run.
import assert from 'node:assert/strict';
import { Agent, Runner, tool } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { createGate, policyReviewer } from '@toolgate/core';
import { GovernanceHooks } from '@toolgate/openai-agents';
import { z } from 'zod';

const gate = createGate({ reviewer: policyReviewer('./policy.yaml'), highStakes: ['transfer'] });
let ran = 0;
const transfer = tool({
  name: 'transfer',
  description: 'Transfer money',
  parameters: z.object({ to: z.string(), amount: z.number() }),
  execute: async ({ to, amount }) => {
    ran++;
    return `sent ${amount} to ${to}`;
  },
});
const model = new ScriptedModel([
  [functionCall('transfer', { to: 'alice', amount: 50 }, { callId: 'call_small' })],
  [functionCall('transfer', { to: 'mallory', amount: 5000 }, { callId: 'call_big' })],
  [assistantMessage('done')],
]);
const agent = new Agent({ name: 'payments', instructions: 'Pay.', model, tools: [transfer] });
const runner = new GovernanceHooks(gate).attach(new Runner({ tracingDisabled: true }));
await runner.run(agent, 'Pay alice 50 and mallory 5000.');
assert.equal(ran, 1);
await gate.close();
console.log('openai-agents: allowed 1, denied 1');
