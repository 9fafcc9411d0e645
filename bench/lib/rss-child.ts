/**
 * 1,000,000 gated calls in one process (policy reviewer + an audit sink that keeps nothing), with
 * RSS sampled after a forced GC. Run with --expose-gc; prints one JSON line.
 */
import { callbackAudit, createGate, policyReviewer } from '@toolgate/core';

const CALLS = Number(process.argv[2] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const settle = () => {
  gc();
  gc();
  return process.memoryUsage();
};

let records = 0;
const gate = createGate({
  reviewer: policyReviewer({
    version: 1,
    default: 'deny',
    rules: [{ id: 'small-transfer', tools: ['transfer'], when: [{ field: 'args.amount', op: 'lte', value: 1000 }], verdict: 'allow' }],
  }),
  highStakes: ['transfer'],
  audit: callbackAudit(() => {
    records += 1;
  }),
  telemetry: false,
});

const batch = 100;
const run = async (from: number, to: number) => {
  for (let i = from; i < to; i += batch) {
    const calls = [];
    for (let j = i; j < Math.min(to, i + batch); j++) calls.push(gate.review({ tool: 'transfer', args: { amount: j % 1000 }, callId: `c${j}`, runId: 'rss' }));
    await Promise.all(calls);
  }
};
await run(0, 20_000); // warm-up: JIT, caches filled to their bounds
const start = settle();
const samples: number[] = [];
const t0 = performance.now();
for (let done = 0; done < CALLS; done += CALLS / 10) {
  await run(done, done + CALLS / 10);
  samples.push(settle().rss);
}
const seconds = (performance.now() - t0) / 1_000;
const end = settle();
await gate.close();
console.log(JSON.stringify({ calls: CALLS, records: records - 20_000, seconds, rssStart: start.rss, rssEnd: end.rss, heapStart: start.heapUsed, heapEnd: end.heapUsed, externalEnd: end.external, heapTotalStart: start.heapTotal, heapTotalEnd: end.heapTotal, externalStart: start.external, samples }));
