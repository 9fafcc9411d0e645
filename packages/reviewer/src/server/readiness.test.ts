import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../store/open-store';
import { http, removeDir, startServer, tempDir } from '../testing/fixture';
import { checkReadiness } from './readiness';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('GET /readyz', () => {
  it('is 200 while the database answers and the signing key is loaded, 503 with the reason once the store is closed', async () => {
    const s = await startServer();
    cleanups.push(() => removeDir(s.dataDir));
    // Closing flushes the audit mirror into the store this test closed under it: that throw is expected.
    cleanups.push(() => s.server.close().catch(() => {}));
    const ok = await http(s.url, 'GET', '/readyz');
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ ready: true, checks: { database: { ok: true, engine: 'sqlite' }, signingKey: { ok: true } } });

    // The real SQLite handle goes away under the running server.
    s.server.store.close();
    const down = await http(s.url, 'GET', '/readyz');
    expect(down.status).toBe(503);
    expect(down.body.ready).toBe(false);
    expect(down.body.checks.database.ok).toBe(false);
    expect(down.body.checks.signingKey).toEqual({ ok: true });
    expect(down.body.reason).toMatch(/^the database does not answer: .*not open/);
  });

  it('is not ready without a loaded signing key, whatever the database says', async () => {
    const dir = tempDir();
    cleanups.push(() => removeDir(dir));
    const store = openStore(dir);
    cleanups.push(() => store.close());
    const db = { kind: 'sqlite' as const, ping: async () => void store.db.prepare('SELECT 1').get() };
    expect((await checkReadiness(db, true)).ready).toBe(true);
    const r = await checkReadiness(db, false);
    expect(r).toMatchObject({ ready: false, checks: { database: { ok: true }, signingKey: { ok: false } } });
    expect(r.reason).toContain('signing key is not loaded');
  });

  it('answers a rebound Host name 403 like every other route', async () => {
    const s = await startServer({}, false);
    cleanups.push(() => removeDir(s.dataDir));
    cleanups.push(() => s.server.close());
    const r = await s.server.app.inject({ method: 'GET', url: '/readyz', headers: { host: 'attacker.example' } });
    expect(r.statusCode).toBe(403);
  });
});
