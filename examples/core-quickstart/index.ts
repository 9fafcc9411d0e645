// The core quick start from packages/core/README.md, kept here so `pnpm typecheck` compiles it.
// Run: pnpm --filter @toolgate/core build && node examples/core-quickstart/index.ts
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GovernanceDeniedError,
  createGate,
  jsonlAudit,
  policyReviewer,
  verifyAuditLog,
} from '@toolgate/core';

const HIGH_STAKES = ['transfer', 'shell', 'deploy*', 'db.*'];
const dir = mkdtempSync(join(tmpdir(), 'toolgate-quickstart-'));

const gate = createGate({
  reviewer: policyReviewer({
    version: 1,
    default: 'review',
    rules: [
      { id: 'small-transfers', tools: ['transfer'], when: [{ field: 'args.amount', op: 'lte', value: 1000 }], verdict: 'allow' },
      { id: 'huge-transfers', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 10000 }], verdict: 'deny', reason: 'transfers over 10,000 are never automatic' },
    ],
  }),
  highStakes: HIGH_STAKES,
  failMode: 'closed',
  audit: jsonlAudit(join(dir, 'audit.jsonl')),
});

let sent = 0;
async function transfer(amount: number, callId: string): Promise<string> {
  try {
    const decision = await gate.enforce({ tool: 'transfer', args: { amount }, callId, agent: 'payments-bot' });
    sent += amount;
    await gate.reportOutcome(decision, { status: 'success' });
    return `sent ${amount} (${decision.verdict}, ${decision.source})`;
  } catch (error) {
    if (error instanceof GovernanceDeniedError) return `not sent: ${error.message}`;
    throw error;
  }
}

console.log(await transfer(500, 'call_1'));
console.log(await transfer(50_000, 'call_2'));
console.log(await transfer(5_000, 'call_3'));
console.log((await gate.review({ tool: 'search', args: { q: 'weather' } })).source);
await gate.close();
console.log('total sent:', sent);
console.log('audit:', await verifyAuditLog(join(dir, 'audit.jsonl')));
