/**
 * Budgets, rate limits and loop detection on the server count per authenticated API key: an
 * agent that renames `agent.id` on every call still spends one budget, one rate limit and one
 * loop counter (it got 12,000 against a 10,000 budget and 8 repeats against a limit of 3).
 */
import type { Policy } from '@toolgate/core';
import { afterEach, describe, expect, it } from 'vitest';
import { http, removeDir, startServer, type Started } from '../testing/fixture';

const POLICY: Policy = {
  version: 1,
  default: 'allow',
  rules: [
    { id: 'daily-budget', tools: ['transfer'], budget: { field: 'args.amount', max: 10_000, windowMs: 86_400_000, per: 'agent' }, verdict: 'deny' },
    { id: 'rate', tools: ['ping'], limit: { max: 3, windowMs: 3_600_000, per: 'agent_tool' }, verdict: 'deny' },
    { id: 'loop', tools: ['lookup'], repeat: { max: 3, windowMs: 60_000, per: 'agent' }, verdict: 'deny' },
  ],
};

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function started(): Promise<Started> {
  const s = await startServer({ policy: POLICY });
  cleanups.push(() => removeDir(s.dataDir));
  cleanups.push(() => s.server.close());
  return s;
}

/** Submits `n` calls, each under a new agent id and idempotency key; returns how many were allowed. */
async function allowedWithRenamedAgents(s: Started, key: string, tool: string, args: (i: number) => unknown, n: number, tag: string): Promise<number> {
  let allowed = 0;
  for (let i = 0; i < n; i++) {
    const r = await http(s.url, 'POST', '/v1/reviews', key, { idempotencyKey: `${tag}-${i}`, call: { tool, args: args(i) }, agent: { id: `agent-${tag}-${i}` } });
    expect(r.status).toBe(200);
    if (r.body.verdict === 'allow') allowed++;
  }
  return allowed;
}

describe('policy counters belong to the API key, not the agent id the client sends', () => {
  it('renaming agent.id per call cannot spend more than the budget (10 x 1,000 of 10,000; not 12)', async () => {
    const s = await started();
    expect(await allowedWithRenamedAgents(s, s.evalKey, 'transfer', () => ({ amount: 1000 }), 12, 'b')).toBe(10);
  });

  it('renaming agent.id per call cannot exceed the rate limit (3 of 8)', async () => {
    const s = await started();
    expect(await allowedWithRenamedAgents(s, s.evalKey, 'ping', (i) => ({ n: i }), 8, 'l')).toBe(3);
  });

  it('renaming agent.id per call cannot dodge loop detection (3 of 8 identical calls)', async () => {
    const s = await started();
    expect(await allowedWithRenamedAgents(s, s.evalKey, 'lookup', () => ({ q: 'same' }), 8, 'r')).toBe(3);
  });

  it('another key has its own counter; the client agent id is still what the review shows', async () => {
    const s = await started();
    expect(await allowedWithRenamedAgents(s, s.evalKey, 'ping', (i) => ({ n: i }), 4, 'k1')).toBe(3);
    const other = s.server.keys.create('eval', 'other-agent-key');
    expect(await allowedWithRenamedAgents(s, other, 'ping', (i) => ({ n: i }), 4, 'k2')).toBe(3);
    const shown = (await http(s.url, 'GET', '/v1/reviews?tool=ping&limit=1', s.approveKey)).body.reviews[0];
    expect(shown.agent).toEqual({ id: 'agent-k2-3' });
  });
});
