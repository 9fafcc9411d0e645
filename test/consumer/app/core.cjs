// @toolgate/core through require: an inline policy object, one allowed and one denied call.
const assert = require('node:assert/strict');
const { createGate, policyReviewer } = require('@toolgate/core');

(async () => {
  const gate = createGate({
    reviewer: policyReviewer({
      version: 1,
      default: 'deny',
      rules: [{ id: 'small-transfer', tools: ['transfer'], when: [{ field: 'args.amount', op: 'lte', value: 100 }], verdict: 'allow' }],
    }),
    highStakes: ['transfer'],
  });
  let ran = 0;
  for (const [amount, want] of [[50, 'allow'], [5000, 'deny']]) {
    const d = await gate.review({ tool: 'transfer', args: { amount }, callId: `c${amount}` });
    assert.equal(d.verdict, want);
    if (d.verdict === 'allow') ran++;
  }
  assert.equal(ran, 1);
  await gate.close();
  console.log('core (cjs): allowed 1, denied 1');
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
