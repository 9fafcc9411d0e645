// @toolgate/reviewer on node:sqlite: the review server on loopback, a gate over HTTP with required proofs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGate, httpReviewer } from '@toolgate/core';
import { createReviewServer } from '@toolgate/reviewer';

const dataDir = mkdtempSync(join(tmpdir(), 'toolgate-consumer-'));
const server = createReviewServer({ policy: './policy.yaml', port: 0, host: '127.0.0.1', dataDir, defaultMetrics: false });
const apiKey = server.keys.create('eval', 'consumer');
const url = await server.listen();
const gate = createGate({
  reviewer: httpReviewer({ url, apiKey }),
  highStakes: ['transfer'],
  jwksUrl: `${url}/.well-known/jwks.json`,
  requireProof: true,
});
let ran = 0;
try {
  for (const [amount, want] of [[50, 'allow'], [5000, 'deny']]) {
    const d = await gate.review({ tool: 'transfer', args: { amount }, callId: `c${amount}` });
    assert.equal(d.verdict, want, d.reason);
    if (d.verdict === 'allow') ran++;
  }
  assert.equal(ran, 1);
} finally {
  await gate.close();
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
}
console.log('reviewer: allowed 1, denied 1 (signed proofs verified)');
