import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedPostgres, startPostgres } from '../../../../test/support/embedded-postgres';
import { GovernanceDeniedError } from '../errors';
import { createGate } from '../gate/create-gate';
import { runGoverned } from '../gate/governed';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import { humanAnswerStands, rejectInOneGateStopsTheOther } from './ledger-human-wins.test-support';
import type { GateLedger } from './ledger-types';
import { postgresLedger } from './postgres-ledger';

let server: StartedPostgres;
const ledgers: GateLedger[] = [];
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(async () => {
  await Promise.all(ledgers.map((l) => l.close?.()));
  await server?.stop();
}, 60_000);

function open(options: Parameters<typeof postgresLedger>[1] = {}): GateLedger {
  const l = postgresLedger(server.url, options);
  ledgers.push(l);
  return l;
}

const allow = callbackReviewer(() => ({ verdict: 'allow' }));
const human = callbackReviewer(() => ({ verdict: 'review', reviewId: 'rev_pg' }));
const codeOf = (e: unknown) => (e instanceof GovernanceDeniedError ? e.decision.error?.code : String(e));

describe('postgresLedger', () => {
  it('20 concurrent claims of one call across two gate instances (two pools): exactly one runs', async () => {
    const call = { tool: 'transfer', args: { amount: 1 }, callId: 'call_conc' };
    let ran = 0;
    const gates = [open(), open()].map((ledger) => createGate({ reviewer: allow, highStakes: ['transfer'], ledger }));
    const decisions = await Promise.all(gates.map((g) => g.review(call)));
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => runGoverned(gates[i % 2]!, decisions[i % 2]!, () => ++ran)));
    expect(ran).toBe(1);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => codeOf((r as PromiseRejectedResult).reason))).toEqual(Array(19).fill('ALREADY_EXECUTED'));
  });

  it('ledgers of several processes creating the table at the same moment all work (CREATE TABLE IF NOT EXISTS races)', async () => {
    for (const round of [1, 2, 3]) {
      const table = `race_${round}`;
      const fresh = Array.from({ length: 6 }, () => open({ table }));
      const claims = await Promise.all(fresh.map((l) => l.claim('k', 'sha256:x')));
      expect(claims.filter(Boolean)).toHaveLength(1);
    }
  });

  it('20 raw concurrent claims of one key on separate pools: exactly one true', async () => {
    const a = open();
    const b = open();
    const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).claim('k_raw', 'sha256:x')));
    expect(claims.filter(Boolean)).toHaveLength(1);
  });

  it('a human answer recorded in one gate is found by a fresh gate, which runs the call once; a replay is ALREADY_EXECUTED', async () => {
    const call = { tool: 'transfer', args: { amount: 2 }, callId: 'call_human', runId: 'thread_9' };
    let ran = 0;
    const first = createGate({ reviewer: human, highStakes: ['transfer'], ledger: open() });
    const approved = await first.resolveReview(await first.review(call), { approved: true });
    const second = createGate({ reviewer: human, highStakes: ['transfer'], ledger: open() });
    const resumed = await second.review(call);
    expect(resumed).toMatchObject({ verdict: 'allow', source: 'human' });
    await runGoverned(second, resumed, () => ran++);
    await expect(runGoverned(first, approved, () => ran++)).rejects.toSatisfy((e) => codeOf(e) === 'ALREADY_EXECUTED');
    expect(ran).toBe(1);
  });

  it('accepts a pg Pool the caller keeps', async () => {
    const pool = new pg.Pool({ connectionString: server.url, max: 2 });
    try {
      const g = createGate({ reviewer: allow, highStakes: ['transfer'], ledger: postgresLedger(pool) });
      let ran = 0;
      const d = await g.review({ tool: 'transfer', args: { amount: 3 }, callId: 'call_pool' });
      await runGoverned(g, d, () => ran++);
      await expect(runGoverned(g, d, () => ran++)).rejects.toBeInstanceOf(GovernanceDeniedError);
      expect(ran).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('a database that is down: LEDGER_UNAVAILABLE deny, the body does not run; back up, it works again', async () => {
    const ledger = open({ connectionTimeoutMs: 1_000 });
    const g = createGate({ reviewer: allow, highStakes: ['transfer'], failMode: 'open', ledger });
    let ran = 0;
    const call = { tool: 'transfer', args: { amount: 4 }, callId: 'call_down' };
    const allowed = await g.review(call);
    expect(allowed.verdict).toBe('allow');
    await server.halt();
    try {
      const d = await g.review({ ...call, callId: 'call_down_2' });
      expect(d.verdict).toBe('deny');
      expect(d.error?.code).toBe('LEDGER_UNAVAILABLE');
      await expect(runGoverned(g, allowed, () => ran++)).rejects.toSatisfy((e) => codeOf(e) === 'LEDGER_UNAVAILABLE');
      expect(ran).toBe(0);
    } finally {
      await server.resume();
    }
    const later = await g.review({ ...call, callId: 'call_down_3' });
    await runGoverned(g, later, () => ran++);
    expect(ran).toBe(1);
  }, 60_000);

  it('refuses a bad source or table name', () => {
    expect(() => postgresLedger('mysql://x')).toThrow(/postgres/);
    expect(() => postgresLedger(server.url, { table: 'x; drop table y' })).toThrow(/identifier/);
  });

  it("a human's answer stands: a late reviewer answer does not replace it, and a reject claims no execution", async () => {
    await humanAnswerStands(open(), 'tg1:human-wins');
    await rejectInOneGateStopsTheOther(() => open(), 'call_reject');
  });
});
