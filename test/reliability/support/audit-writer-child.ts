// A jsonlAudit writer that appends hash-chained review records until it is killed. Bundled with
// esbuild by crash.test.ts (so it runs on core's sources, no build needed). argv: <path>
import { jsonlAudit, callDigest } from '@toolgate/core';

const path = process.argv[2]!;
const sink = jsonlAudit(path, { fsync: 'never' });
const digest = callDigest('transfer', { amount: 1 });
let i = 0;
const burst = () => {
  for (let k = 0; k < 200; k++) {
    i += 1;
    sink.append({
      id: `r${i}`,
      ts: new Date().toISOString(),
      kind: 'review',
      call: { tool: 'transfer', callId: `c${i}`, digest, args: { amount: i, memo: 'm'.repeat(i % 4096) } },
      decision: { verdict: 'allow', reason: 'ok', conditions: [], evaluated: [], source: 'policy', tool: 'transfer', digest, latencyMs: 0 },
    });
  }
  setImmediate(burst);
};
burst();
