/**
 * httpReviewer vs a raw undici.request POST of the same payload, against the same minimal stub on
 * loopback, measured side by side in one run (interleaved blocks, so drift hits both alike).
 */
import { callDigest, httpReviewer, type ReviewRequest } from '@toolgate/core';
import { Agent, request } from 'undici';
import { startMinimalStub } from '../lib/minimal-stub.ts';
import { ms, percentile, rate, type Row } from '../lib/stats.ts';

const SEQ_ITERATIONS = 4_000;
const BLOCK = 500;
const THROUGHPUT_MS = 2_500;

export async function httpSuite(): Promise<Row[]> {
  const stub = await startMinimalStub();
  const G = 'httpReviewer';
  const reviewer = httpReviewer({ url: stub.url, apiKey: 'k_bench', retry: { maxAttempts: 1 } });
  const raw = new Agent({ keepAliveTimeout: 30_000 });
  const never = new AbortController().signal;
  const args = { amount: 10, to: 'acct_42' };
  const digest = callDigest('transfer', args);
  let i = 0;
  const req = (): ReviewRequest => ({ idempotencyKey: `tg1:bench:c${++i}:${digest.slice(7, 23)}`, call: { tool: 'transfer', args, callId: `c${i}`, runId: 'bench' }, digest });

  const viaReviewer = async () => {
    await reviewer.review(req(), { signal: never, deadline: Date.now() + 5_000 });
  };
  const viaUndici = async () => {
    const r = req();
    const res = await request(`${stub.url}/v1/reviews`, {
      method: 'POST',
      dispatcher: raw,
      headers: { authorization: 'Bearer k_bench', accept: 'application/json', 'content-type': 'application/json' },
      body: JSON.stringify({ idempotencyKey: r.idempotencyKey, call: r.call, digest: r.digest }),
    });
    await res.body.json();
  };

  // Warm both (JIT, keep-alive sockets).
  for (let w = 0; w < 300; w++) {
    await viaReviewer();
    await viaUndici();
  }

  // --- sequential latency, interleaved blocks --------------------------------------------------
  const a: number[] = [];
  const b: number[] = [];
  for (let done = 0; done < SEQ_ITERATIONS; done += BLOCK) {
    for (let j = 0; j < BLOCK; j++) {
      const t = performance.now();
      await viaUndici();
      a.push(performance.now() - t);
    }
    for (let j = 0; j < BLOCK; j++) {
      const t = performance.now();
      await viaReviewer();
      b.push(performance.now() - t);
    }
  }
  const ratio50 = percentile(b, 50) / percentile(a, 50);
  const rows: Row[] = [
    { group: G, name: 'raw undici.request POST, 1 caller', p50: ms(percentile(a, 50)), p99: ms(percentile(a, 99)), extra: '', target: '', met: null },
    { group: G, name: 'httpReviewer.review, 1 caller', p50: ms(percentile(b, 50)), p99: ms(percentile(b, 99)), extra: `p50 ratio ${ratio50.toFixed(2)}×`, target: 'p50 ≤ 1.2× raw', met: ratio50 <= 1.2 },
  ];

  // --- throughput with 64 concurrent callers ----------------------------------------------------
  async function throughput(fn: () => Promise<void>, callers: number): Promise<{ perSecond: number; lat: number[] }> {
    const until = performance.now() + THROUGHPUT_MS;
    const lat: number[] = [];
    let count = 0;
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (performance.now() < until) {
          const t = performance.now();
          await fn();
          lat.push(performance.now() - t);
          count += 1;
        }
      }),
    );
    return { perSecond: (count * 1_000) / THROUGHPUT_MS, lat };
  }
  // Two rounds each, alternating; keep the better of each side.
  const rawRuns = [];
  const revRuns = [];
  await stub.resetConnections();
  for (let round = 0; round < 2; round++) {
    rawRuns.push(await throughput(viaUndici, 64));
    revRuns.push(await throughput(viaReviewer, 64));
  }
  const rawBest = rawRuns.sort((x, y) => y.perSecond - x.perSecond)[0]!;
  const revBest = revRuns.sort((x, y) => y.perSecond - x.perSecond)[0]!;
  const tRatio = revBest.perSecond / rawBest.perSecond;
  rows.push({ group: G, name: 'raw undici.request, 64 callers', p50: ms(percentile(rawBest.lat, 50)), p99: ms(percentile(rawBest.lat, 99)), extra: rate(rawBest.perSecond), target: '', met: null });
  rows.push({
    group: G,
    name: 'httpReviewer.review, 64 callers',
    p50: ms(percentile(revBest.lat, 50)),
    p99: ms(percentile(revBest.lat, 99)),
    extra: `${rate(revBest.perSecond)} (${tRatio.toFixed(2)}× raw)`,
    target: '≥ 0.8× raw',
    met: tRatio >= 0.8,
  });

  // --- sockets: a burst of 256 callers against a fresh pool of each kind -------------------------
  const pooled = httpReviewer({ url: stub.url, apiKey: 'k_bench', retry: { maxAttempts: 1 } });
  await stub.resetConnections();
  await Promise.all(Array.from({ length: 256 }, () => pooled.review(req(), { signal: never, deadline: Date.now() + 10_000 })));
  const pooledSockets = await stub.connections();
  const unbounded = new Agent();
  await stub.resetConnections();
  await Promise.all(
    Array.from({ length: 256 }, async () => {
      const res = await request(`${stub.url}/v1/reviews`, { method: 'POST', dispatcher: unbounded, body: '{}', headers: { 'content-type': 'application/json' } });
      await res.body.dump();
    }),
  );
  const rawSockets = await stub.connections();
  rows.push({
    group: G,
    name: '256-call burst: sockets opened (pool of 64 vs raw Agent)',
    p50: '',
    p99: '',
    extra: `httpReviewer ${pooledSockets}, raw ${rawSockets}`,
    target: '≤ 64 (pool)',
    met: pooledSockets <= 64,
  });

  await pooled.close?.();
  await unbounded.close();
  await reviewer.close?.();
  await raw.close();
  await stub.close();
  return rows;
}
