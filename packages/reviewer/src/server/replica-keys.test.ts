// An API key created on one replica must work on the others as soon as the creator says it exists.
// `server.keys.create` is synchronous, so on PostgreSQL its row is written in the background and
// another replica may refuse the key for a moment; `server.keys.createStored` resolves only once
// the row is committed.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type StartedPostgres, startPostgres } from '../../../../test/support/embedded-postgres';
import { http, removeDir, startServer, type Started } from '../testing/fixture';
import { freshDatabase } from '../testing/postgres-database';

let postgres: StartedPostgres;
beforeAll(async () => {
  postgres = await startPostgres();
}, 90_000);
afterAll(async () => {
  await postgres?.stop();
}, 30_000);
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function replicas(): Promise<{ a: Started; b: Started; database: string }> {
  const database = await freshDatabase(postgres.url);
  const a = await startServer({ database });
  const b = await startServer({ database }, false);
  for (const s of [a, b]) {
    cleanups.push(() => removeDir(s.dataDir));
    cleanups.push(() => s.server.close());
  }
  return { a, b, database };
}

const submit = (s: Started, key: string, n: number) =>
  http(s.url, 'POST', '/v1/reviews', key, { idempotencyKey: `k-${n}`, call: { tool: 'transfer', args: { amount: 5 } } });

describe('server.keys.createStored on PostgreSQL', () => {
  it('resolves only once the key is committed, so the other replica accepts it right after', async () => {
    const { a, b, database } = await replicas();
    // Hold the audit chain head: the key's insert (audited in the same transaction) must wait for it.
    const holder = new pg.Client({ connectionString: database });
    await holder.connect();
    cleanups.push(() => holder.end());
    await holder.query('BEGIN');
    await holder.query('SELECT * FROM audit_head WHERE one = 1 FOR UPDATE');

    let resolved = false;
    const stored = a.server.keys.createStored('eval', 'late-agent');
    void stored.then(() => (resolved = true), () => undefined);
    // Wait until the insert is blocked on the lock, i.e. the write is really in flight.
    for (;;) {
      const r = await holder.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
      if (r.rows[0].n > 0) break;
      await new Promise((done) => setTimeout(done, 5));
    }
    expect(resolved).toBe(false);

    await holder.query('COMMIT');
    const created = await stored;
    expect(created).toMatchObject({ scope: 'eval', name: 'late-agent' });
    // Immediately usable on the replica that did not create it.
    const onB = await submit(b, created.key, 1);
    expect(onB.status).toBe(200);
    expect(onB.body.verdict).toBe('allow');
    expect((await submit(a, created.key, 2)).status).toBe(200);
  }, 30_000);

  it('many keys created on A in a row are each accepted by B as soon as they resolve', async () => {
    const { a, b } = await replicas();
    for (let i = 0; i < 20; i++) {
      const { key } = await a.server.keys.createStored(i % 2 ? 'eval' : 'approve', `k${i}`);
      const r = i % 2 ? await submit(b, key, i) : await http(b.url, 'GET', '/v1/reviews?status=pending', key);
      expect(r.status, `key ${i}`).toBe(200);
    }
  }, 30_000);

  it('rejects when the database is away instead of handing out a key no replica accepts', async () => {
    const { a, b } = await replicas();
    await postgres.halt();
    try {
      await expect(a.server.keys.createStored('eval', 'orphan')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    } finally {
      await postgres.resume();
    }
    const after = await a.server.keys.createStored('eval', 'after');
    expect((await submit(b, after.key, 1)).status).toBe(200);
  }, 60_000);

  it('on SQLite it is the same key creation, already committed', async () => {
    const s = await startServer();
    cleanups.push(() => removeDir(s.dataDir));
    cleanups.push(() => s.server.close());
    const created = await s.server.keys.createStored('eval', 'lite');
    expect((await submit(s, created.key, 1)).status).toBe(200);
  });
});
