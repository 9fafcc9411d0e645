// @toolgate/ai-sdk with the latest ai: the governed tool's execute runs only when the gate allows.
import assert from 'node:assert/strict';
import { tool } from 'ai';
import { createGate, policyReviewer } from '@toolgate/core';
import { isGovernanceDenial, withGovernance } from '@toolgate/ai-sdk';
import { z } from 'zod';

const gate = createGate({ reviewer: policyReviewer('./policy.yaml'), highStakes: ['transfer'] });
let ran = 0;
const tools = withGovernance(
  {
    transfer: tool({
      description: 'Transfer money',
      inputSchema: z.object({ to: z.string(), amount: z.number() }),
      execute: async ({ to, amount }) => {
        ran++;
        return { sent: amount, to };
      },
    }),
  },
  gate,
);
const ok = await tools.transfer.execute({ to: 'alice', amount: 50 }, { toolCallId: 'call_small', messages: [] });
assert.deepEqual(ok, { sent: 50, to: 'alice' });
const denied = await tools.transfer.execute({ to: 'mallory', amount: 5000 }, { toolCallId: 'call_big', messages: [] }).catch((err) => err);
assert.ok(isGovernanceDenial(denied) || denied instanceof Error, `expected a denial, got ${JSON.stringify(denied)}`);
assert.equal(ran, 1);
await gate.close();
console.log('ai-sdk: allowed 1, denied 1');
