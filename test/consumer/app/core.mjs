// @toolgate/core from ESM: a gate with a YAML policy file (yaml is loaded on first use), one allowed and one denied call.
import assert from 'node:assert/strict';
import { createGate, policyReviewer } from '@toolgate/core';

const gate = createGate({ reviewer: policyReviewer('./policy.yaml'), highStakes: ['transfer'] });
let ran = 0;
for (const [amount, want] of [[50, 'allow'], [5000, 'deny']]) {
  const d = await gate.review({ tool: 'transfer', args: { amount }, callId: `c${amount}` });
  assert.equal(d.verdict, want);
  if (d.verdict === 'allow') ran++;
}
assert.equal(ran, 1);
await gate.close();
console.log('core (esm): allowed 1, denied 1');
