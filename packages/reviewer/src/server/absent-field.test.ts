import { afterEach, expect, it } from 'vitest';
import { createGate, httpReviewer, runGoverned } from '@toolgate/core';
import { removeDir, startServer, type Started } from '../testing/fixture';

// A policy condition on an argument the call does not have is an ordinary miss (the rule does not
// apply). The server's answer then lists the check without an `actual` (JSON has no undefined),
// and the gate must read that answer, not deny the call as "a malformed reviewer response".
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

it('a call without the field a rule tests is decided by the policy, and runs once', async () => {
  const s: Started = await startServer({
    policy: {
      version: 1,
      default: 'allow',
      rules: [{ id: 'huge-transfer', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 10000 }], verdict: 'deny', reason: 'too big' }],
    },
  });
  cleanups.push(() => removeDir(s.dataDir));
  cleanups.push(() => s.server.close());
  const gate = createGate({
    reviewer: httpReviewer({ url: s.url, apiKey: s.evalKey }),
    highStakes: ['transfer'],
    jwksUrl: `${s.url}/.well-known/jwks.json`,
    timeoutMs: 10_000,
  });
  cleanups.push(() => gate.close());
  let ran = 0;
  const decision = await gate.review({ tool: 'transfer', args: { to: 'acme' }, callId: 'c1' });
  expect(decision).toMatchObject({ verdict: 'allow', source: 'policy' });
  expect(decision.error).toBeUndefined();
  expect(decision.evaluated.some((c) => c.field === 'args.amount' && c.passed === false)).toBe(true);
  await runGoverned(gate, decision, () => {
    ran++;
  });
  expect(ran).toBe(1);
});
