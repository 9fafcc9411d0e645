/**
 * Scale-out on PostgreSQL, beside the SQLite server, in one run under the same load: decisions/s
 * and CPU per decision (server processes, and the database's processes) for the SQLite server,
 * one replica on PostgreSQL and two replicas on the same PostgreSQL (embedded, started here); then
 * the cross-replica approval → resume latency (the gate long-polls replica A, the human approves
 * on replica B, NOTIFY wakes A). Every row carries the 1-minute load average before and after its
 * measurement: on a shared machine the figures only mean something next to it.
 */
import { loadavg } from 'node:os';
import { createGate, httpReviewer, callDigest } from '@toolgate/core';
import autocannon from 'autocannon';
import pg from 'pg';
import { startPostgres, type StartedPostgres } from '../../test/support/embedded-postgres.ts';
import { freshDatabase, postgresCpuUs } from '../lib/postgres.ts';
import { startReplicaChild, type ReplicaChild } from '../lib/replica-child.ts';
import { BENCH_POLICY, startReviewServerChild } from '../lib/review-server-child.ts';
import { ms, percentile, rate, type Row } from '../lib/stats.ts';

const DURATION_S = 10;
const CONNECTIONS = 64;
const APPROVALS = 200;

/** BENCH_POLICY with a daily budget on every transfer that never runs out: every decision reads and spends it. */
const BUDGET_POLICY = {
  ...BENCH_POLICY,
  rules: [{ id: 'daily-budget', tools: ['transfer'], budget: { field: 'args.amount', max: 1e12, windowMs: 86_400_000, per: 'agent' }, verdict: 'deny' }, ...BENCH_POLICY.rules],
};

const load1 = () => loadavg()[0]!.toFixed(2);

const LIVE_ENTRIES = 50_000;

/** Adds `n` entries (amount 0, inside the last hour) to the one budget counter the load has been spending. */
async function addLiveEntries(database: string, n: number): Promise<void> {
  const client = new pg.Client({ connectionString: database });
  await client.connect();
  try {
    const keys = (await client.query<{ key: string }>(`SELECT DISTINCT key FROM policy_events WHERE key LIKE 'budget:%'`)).rows;
    if (keys.length !== 1) throw new Error(`expected one budget counter, found ${keys.length}`);
    const now = Date.now();
    await client.query(
      `INSERT INTO policy_events (key, at, amount, expires) SELECT $1, $2::bigint - g * 60, 0, $2::bigint - g * 60 + 86400000 FROM generate_series(1, $3::int) AS g`,
      [keys[0]!.key, now, n],
    );
    await client.query('ANALYZE policy_events');
  } finally {
    await client.end();
  }
}

async function decidedIn(database: string): Promise<number> {
  const client = new pg.Client({ connectionString: database });
  await client.connect();
  try {
    return Number((await client.query(`SELECT count(*) AS n FROM reviews WHERE status = 'decided'`)).rows[0].n);
  } finally {
    await client.end();
  }
}

/** autocannon on each URL at once, `CONNECTIONS` split between them; every request a new policy-allowed review. */
async function loadOn(urls: string[], evalKey: string, durationS: number, tag: string) {
  const args = { amount: 10, to: 'acct_42' };
  const digest = callDigest('transfer', args);
  let n = 0;
  const body = () => {
    n += 1;
    return JSON.stringify({ idempotencyKey: `tg1:${tag}:c${n}`, call: { tool: 'transfer', args, callId: `c${n}`, runId: tag }, digest, agent: { id: 'bench' } });
  };
  const results = await Promise.all(urls.map((url) =>
    autocannon({
      url,
      connections: CONNECTIONS / urls.length,
      duration: durationS,
      requests: [{ method: 'POST', path: '/v1/reviews', headers: { authorization: `Bearer ${evalKey}`, 'content-type': 'application/json' }, setupRequest: (req: Record<string, unknown>) => ({ ...req, body: body() }) }],
    })));
  return {
    p50: Math.max(...results.map((r) => r.latency.p50)),
    p99: Math.max(...results.map((r) => r.latency.p99)),
    non2xx: results.reduce((s, r) => s + r.non2xx, 0),
    errors: results.reduce((s, r) => s + r.errors, 0),
  };
}

interface Measured { perSecond: number; serverUs: number; mainUs: number; dbUs: number; p50: number; p99: number; non2xx: number; errors: number; loadBefore: string; loadAfter: string }

async function measure(urls: string[], evalKey: string, tag: string, decided: () => Promise<number>, serverCpu: () => Promise<{ cpuUs: number; mainUs: number }>, dbCpu: () => number): Promise<Measured> {
  await loadOn(urls, evalKey, 2, `${tag}-warm`);
  const loadBefore = load1();
  const [d0, c0, db0] = [await decided(), await serverCpu(), dbCpu()];
  const r = await loadOn(urls, evalKey, DURATION_S, tag);
  const [d1, c1, db1] = [await decided(), await serverCpu(), dbCpu()];
  const n = d1 - d0;
  return { perSecond: n / DURATION_S, serverUs: (c1.cpuUs - c0.cpuUs) / n, mainUs: (c1.mainUs - c0.mainUs) / n, dbUs: (db1 - db0) / n, ...r, loadBefore, loadAfter: load1() };
}

const sumCpu = (replicas: ReplicaChild[]) => async () => {
  const all = await Promise.all(replicas.map((r) => r.cpu()));
  // Summed over the replicas: CPU per decision of the whole service.
  return { cpuUs: all.reduce((s, c) => s + c.cpuUs, 0), mainUs: all.reduce((s, c) => s + c.mainUs, 0) };
};

function loadRow(name: string, m: Measured, note: string): Row {
  const db = Number.isNaN(m.dbUs) ? '' : `, PostgreSQL ${Math.round(m.dbUs)} µs CPU/decision`;
  return {
    group: 'replicas',
    name,
    p50: ms(m.p50),
    p99: ms(m.p99),
    extra: `${rate(m.perSecond)} decisions persisted (non-2xx ${m.non2xx}, errors ${m.errors}); server ${Math.round(m.serverUs)} µs CPU/decision (main threads ${Math.round(m.mainUs)} µs)${db}; loadavg ${m.loadBefore} → ${m.loadAfter}${note}`,
    target: '',
    met: m.non2xx === 0 && m.errors === 0,
  };
}

export async function replicasSuite(): Promise<Row[]> {
  const rows: Row[] = [];
  const label = `POST /v1/reviews, autocannon ${CONNECTIONS} conns, ${DURATION_S}s (policy allow, signed)`;

  // 1. The SQLite server, under the same load in the same run.
  const sqlite = await startReviewServerChild();
  try {
    const m = await measure([sqlite.url], sqlite.evalKey, 'sqlite', async () => (await sqlite.stats()).decided, async () => sqlite.stats(), () => Number.NaN);
    rows.push(loadRow(`${label}: SQLite server`, m, ''));
  } finally {
    await sqlite.close();
  }

  let postgres: StartedPostgres | undefined;
  const replicas: ReplicaChild[] = [];
  try {
    postgres = await startPostgres({ startTimeoutMs: 60_000 });
    const dbCpu = () => postgresCpuUs(postgres!.port);

    // 2. One replica on PostgreSQL.
    const one = await freshDatabase(postgres.url, 'bench_one');
    const solo = await startReplicaChild(one, { makeKeys: true });
    replicas.push(solo);
    const m1 = await measure([solo.url], solo.evalKey, 'pg1', () => decidedIn(one), sumCpu([solo]), dbCpu);
    rows.push(loadRow(`${label}: 1 replica on PostgreSQL (pool 10)`, m1, ''));
    await solo.close();

    // 2b. The same with a pool of 4: does a smaller pool cost throughput when appends serialise on the chain head?
    const small = await freshDatabase(postgres.url, 'bench_pool4');
    const solo4 = await startReplicaChild(small, { makeKeys: true, poolSize: 4 });
    replicas.push(solo4);
    const m4 = await measure([solo4.url], solo4.evalKey, 'pg1p4', () => decidedIn(small), sumCpu([solo4]), dbCpu);
    rows.push(loadRow(`${label}: 1 replica on PostgreSQL (pool 4)`, m4, `; ×${(m4.perSecond / m1.perSecond).toFixed(2)} of pool 10`));
    await solo4.close();

    // 3. Two replicas on one PostgreSQL, the load split between them.
    const two = await freshDatabase(postgres.url, 'bench_two');
    const a = await startReplicaChild(two, { makeKeys: true });
    const b = await startReplicaChild(two, { makeKeys: false });
    replicas.push(a, b);
    const m2 = await measure([a.url, b.url], a.evalKey, 'pg2', () => decidedIn(two), sumCpu([a, b]), dbCpu);
    rows.push(loadRow(`${label}: 2 replicas on one PostgreSQL (pool 10 each)`, m2, `; ×${(m2.perSecond / m1.perSecond).toFixed(2)} of 1 replica`));

    // 3b. The same two replicas' load with a budget rule on every call: one counter shared by both
    // replicas (the one API key), read, decided and spent in one transaction under its lock.
    const budget = await freshDatabase(postgres.url, 'bench_budget');
    const ba = await startReplicaChild(budget, { makeKeys: true, policy: BUDGET_POLICY });
    const bb = await startReplicaChild(budget, { makeKeys: false, policy: BUDGET_POLICY });
    replicas.push(ba, bb);
    const mb = await measure([ba.url, bb.url], ba.evalKey, 'pg2budget', () => decidedIn(budget), sumCpu([ba, bb]), dbCpu);
    rows.push(loadRow(`${label}: 2 replicas on one PostgreSQL, a budget rule on every call (one counter shared by both)`, mb, `; ×${(mb.perSecond / m2.perSecond).toFixed(2)} of 2 replicas without it`));
    // 3c. The same counter with 50,000 more live entries in its window: a read sums the window's entries.
    await addLiveEntries(budget, LIVE_ENTRIES);
    const mw = await measure([ba.url, bb.url], ba.evalKey, 'pg2budget50k', () => decidedIn(budget), sumCpu([ba, bb]), dbCpu);
    rows.push(loadRow(`${label}: 2 replicas on one PostgreSQL, the same budget with ${LIVE_ENTRIES.toLocaleString('en')} more live entries in its window`, mw, `; ×${(mw.perSecond / mb.perSecond).toFixed(2)} of the budget row`));
    await Promise.all([ba.close(), bb.close()]);

    // 4. Cross-replica approval → resume: the gate long-polls A, the human approves on B.
    const gate = createGate({
      reviewer: httpReviewer({ url: a.url, apiKey: a.evalKey }),
      highStakes: ['deploy'],
      onReview: 'wait',
      reviewTimeoutMs: 30_000,
      jwksUrl: `${a.url}/.well-known/jwks.json`,
      requireProof: true,
      telemetry: false,
    });
    const approver = { authorization: `Bearer ${a.approveKey}`, 'content-type': 'application/json' };
    const latencies: number[] = [];
    let allowed = 0;
    const loadBefore = load1();
    try {
      for (let i = 0; i < APPROVALS; i++) {
        let resolvedAt = 0;
        const done = gate.review({ tool: 'deploy', args: { service: 'api', build: i }, callId: `x${i}`, runId: 'cross' }).then((d) => {
          resolvedAt = performance.now();
          return d;
        });
        let id: string | undefined;
        while (!id) {
          const list = (await (await fetch(`${b.url}/v1/reviews?status=pending&tool=deploy`, { headers: approver })).json()) as { reviews: Array<{ id: string }> };
          id = list.reviews[0]?.id;
          if (!id) await new Promise((r) => setTimeout(r, 2));
        }
        // Give the gate's long-poll time to be parked on A, as with a real human.
        await new Promise((r) => setTimeout(r, 5));
        const t0 = performance.now();
        const res = await fetch(`${b.url}/v1/reviews/${id}/decision`, { method: 'POST', headers: approver, body: JSON.stringify({ verdict: 'allow', reason: 'bench' }) });
        if (res.status !== 200) throw new Error(`approve on B answered ${res.status}: ${await res.text()}`);
        const d = await done;
        if (d.verdict === 'allow' && d.source === 'human') allowed += 1;
        latencies.push(resolvedAt - t0);
      }
    } finally {
      await gate.close();
    }
    const p99 = percentile(latencies, 99);
    rows.push({
      group: 'replicas',
      name: `human approves on replica B → gate long-polling replica A resolves (LISTEN/NOTIFY), ${APPROVALS} runs (${allowed} allowed with verified proof)`,
      p50: ms(percentile(latencies, 50)),
      p99: ms(p99),
      extra: `max ${ms(Math.max(...latencies))}; loadavg ${loadBefore} → ${load1()}`,
      target: 'p99 ≤ 50 ms',
      met: p99 <= 50 && allowed === APPROVALS,
    });
  } finally {
    await Promise.allSettled(replicas.map((r) => r.close()));
    await postgres?.stop();
  }
  return rows;
}
