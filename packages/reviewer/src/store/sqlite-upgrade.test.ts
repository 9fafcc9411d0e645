// A data dir made before two-person approvals (no reviews.approvals_json / edited_json, no
// api_keys.groups_json) opens, gains the columns, and serves two-person reviews and key groups.
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { http, removeDir, startServer, tempDir, TEST_POLICY } from '../testing/fixture';
import { DATA_FILES, openStore } from './open-store';

const OLD_TABLES = `
CREATE TABLE reviews (
  id TEXT PRIMARY KEY, idem_key TEXT NOT NULL UNIQUE, submitter_key_id TEXT NOT NULL, tool TEXT NOT NULL,
  digest TEXT NOT NULL, call_id TEXT, run_id TEXT, agent_id TEXT, agent_json TEXT, context_json TEXT,
  args_json TEXT NOT NULL, status TEXT NOT NULL, verdict TEXT NOT NULL, source TEXT, reason TEXT,
  conditions_json TEXT, evaluated_json TEXT, policy_json TEXT, decided_by TEXT, decider_key_id TEXT,
  proof TEXT, proof_expires_at INTEGER, created_at INTEGER NOT NULL, decided_at INTEGER, expires_at INTEGER,
  executed INTEGER NOT NULL DEFAULT 0, outcome_json TEXT
) STRICT;
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, scope TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL, revoked_at INTEGER
) STRICT;`;

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) removeDir(dirs.pop()!);
});

describe('SQLite data dir from before two-person approvals', () => {
  it('gains the new columns on open and serves two-person reviews with key groups', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const old = new DatabaseSync(join(dataDir, DATA_FILES.db));
    old.exec(OLD_TABLES);
    old.prepare('INSERT INTO api_keys (id, name, scope, hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, NULL)').run('key_old', 'old', 'approve', 'sha-old', 1);
    old.close();

    const store = openStore(dataDir);
    const columns = (table: string) => (store.db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name);
    expect(columns('reviews')).toEqual(expect.arrayContaining(['approvals_json', 'edited_json']));
    expect(columns('api_keys')).toContain('groups_json');
    expect(store.keyByHash('sha-old')).toMatchObject({ id: 'key_old', groups_json: null });
    store.close();

    const policy = { ...TEST_POLICY, rules: [...TEST_POLICY.rules, { id: 'payout', tools: ['payout'], verdict: 'review' as const, approvals: 2, approverGroups: ['finance'] }] };
    const s = await startServer({ dataDir, policy });
    try {
      const fin1 = s.server.keys.create('approve', 'fin1', { groups: ['finance'] });
      const fin2 = s.server.keys.create('approve', 'fin2', { groups: ['finance'] });
      const r = await http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey: 'up-1', call: { tool: 'payout', args: { to: 'acme' } } });
      expect(r.body).toMatchObject({ status: 'pending', approvals: { required: 2, approvers: [], groups: ['finance'] } });
      expect((await http(s.url, 'POST', `/v1/reviews/${r.body.id}/decision`, fin1, { verdict: 'allow' })).status).toBe(202);
      const done = await http(s.url, 'POST', `/v1/reviews/${r.body.id}/decision`, fin2, { verdict: 'allow' });
      expect(done.body).toMatchObject({ status: 'decided', verdict: 'allow', approvals: { approvers: ['fin1', 'fin2'] } });
    } finally {
      await s.server.close();
    }
  });
});
