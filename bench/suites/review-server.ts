/**
 * The reference review server under load (autocannon, 64 connections, every request a new review
 * that the policy decides, signs and persists), and the human-approval → waiting-gate latency.
 */
import { createGate, httpReviewer, callDigest } from '@toolgate/core';
import autocannon from 'autocannon';
import { startReviewServerChild } from '../lib/review-server-child.ts';
import { ms, percentile, rate, type Row } from '../lib/stats.ts';

const DURATION_S = 10;
const APPROVALS = 300;

export async function reviewServerSuite(): Promise<Row[]> {
  const rows: Row[] = [];
  const server = await startReviewServerChild();
  try {
    const args = { amount: 10, to: 'acct_42' };
    const digest = callDigest('transfer', args);
    let n = 0;
    const body = () => {
      n += 1;
      return JSON.stringify({ idempotencyKey: `tg1:load:c${n}`, call: { tool: 'transfer', args, callId: `c${n}`, runId: 'load' }, digest, agent: { id: 'bench' } });
    };
    // Check the shape once: a decided, signed answer.
    const probe = await fetch(`${server.url}/v1/reviews`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.evalKey}`, 'content-type': 'application/json' },
      body: body(),
    });
    const probeBody = (await probe.json()) as { status: string; proof?: string };
    if (probe.status !== 200 || probeBody.status !== 'decided' || !probeBody.proof) throw new Error(`unexpected probe answer ${probe.status} ${JSON.stringify(probeBody)}`);

    // Warm-up, then the measured run.
    const load = (duration: number) =>
      autocannon({
        url: server.url,
        connections: 64,
        duration,
        requests: [
          {
            method: 'POST',
            path: '/v1/reviews',
            headers: { authorization: `Bearer ${server.evalKey}`, 'content-type': 'application/json' },
            setupRequest: (req: Record<string, unknown>) => ({ ...req, body: body() }),
          },
        ],
      });
    await load(2);
    const before = await server.stats();
    const loadCpu0 = process.cpuUsage();
    const r = await load(DURATION_S);
    const loadCpu = process.cpuUsage(loadCpu0);
    const after = await server.stats();
    const persisted = after.decided - before.decided;
    const perSecond = persisted / DURATION_S;
    // CPU per decision says what the server costs even when other jobs share the cores.
    const serverCpuPerDecisionUs = (after.cpuUs - before.cpuUs) / persisted;
    // The main thread is the ceiling: one core can do at most 1e6 / mainPerDecisionUs decisions/s.
    const mainPerDecisionUs = (after.mainUs - before.mainUs) / persisted;
    const serverCores = (after.cpuUs - before.cpuUs) / 1e6 / DURATION_S;
    const loadCores = (loadCpu.user + loadCpu.system) / 1e6 / DURATION_S;
    rows.push({
      group: 'review server',
      name: `POST /v1/reviews, autocannon 64 conns, ${DURATION_S}s (policy allow, signed, SQLite + JSONL)`,
      p50: ms(r.latency.p50),
      p99: ms(r.latency.p99),
      extra: `${rate(perSecond)} decisions persisted (${rate(r.requests.average)} req/s, non-2xx ${r.non2xx}, errors ${r.errors}); server ${Math.round(serverCpuPerDecisionUs)} µs CPU/decision (main thread ${Math.round(mainPerDecisionUs)} µs), ${serverCores.toFixed(2)} cores; load generator ${loadCores.toFixed(2)} cores`,
      target: '≥ 5,000/s',
      met: perSecond >= 5_000,
    });

    // --- human approval → waiting gate resumes -------------------------------------------------
    const gate = createGate({
      reviewer: httpReviewer({ url: server.url, apiKey: server.evalKey }),
      highStakes: ['deploy'],
      onReview: 'wait',
      reviewTimeoutMs: 30_000,
      jwksUrl: `${server.url}/.well-known/jwks.json`,
      requireProof: true,
      telemetry: false,
    });
    const approver = { authorization: `Bearer ${server.approveKey}`, 'content-type': 'application/json' };
    const latencies: number[] = [];
    let allowed = 0;
    for (let i = 0; i < APPROVALS; i++) {
      const pending = gate.review({ tool: 'deploy', args: { service: 'api', build: i }, callId: `d${i}`, runId: 'approvals' });
      let resolvedAt = 0;
      const done = pending.then((d) => {
        resolvedAt = performance.now();
        return d;
      });
      // Find the pending review (as a dashboard would), then approve it.
      let id: string | undefined;
      while (!id) {
        const list = (await (await fetch(`${server.url}/v1/reviews?status=pending&tool=deploy`, { headers: approver })).json()) as { reviews: Array<{ id: string }> };
        id = list.reviews[0]?.id;
        if (!id) await new Promise((r) => setTimeout(r, 2));
      }
      // Give the gate's long-poll time to be parked on the server, as with a real human.
      await new Promise((r) => setTimeout(r, 5));
      const t0 = performance.now();
      const res = await fetch(`${server.url}/v1/reviews/${id}/decision`, { method: 'POST', headers: approver, body: JSON.stringify({ verdict: 'allow', reason: 'bench' }) });
      if (res.status !== 200) throw new Error(`approve answered ${res.status}: ${await res.text()}`);
      const d = await done;
      if (d.verdict === 'allow' && d.source === 'human') allowed += 1;
      latencies.push(resolvedAt - t0);
    }
    await gate.close();
    const p99 = percentile(latencies, 99);
    rows.push({
      group: 'review server',
      name: `human approve (POST decision) → waiting gate resolves, ${APPROVALS} runs (${allowed} allowed with verified proof)`,
      p50: ms(percentile(latencies, 50)),
      p99: ms(p99),
      extra: '',
      target: 'p99 ≤ 50 ms',
      met: p99 <= 50 && allowed === APPROVALS,
    });
  } finally {
    await server.close();
  }
  return rows;
}
