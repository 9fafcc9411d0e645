// `toolgate serve` on PostgreSQL (--database / TOOLGATE_DATABASE_URL): two serve processes' worth of
// servers on one real database are one service, and the URL never reaches the output.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedPostgres, startPostgres } from '../../../../test/support/embedded-postgres';
import { http, removeDir, tempDir } from '../testing/fixture';
import { freshDatabase } from '../testing/postgres-database';
import { runCli, type CliIo } from './run-cli';

let pgServer: StartedPostgres;
let dir: string;
beforeAll(async () => {
  pgServer = await startPostgres();
  dir = tempDir();
}, 90_000);
afterAll(async () => {
  await pgServer?.stop();
  if (dir) removeDir(dir);
}, 30_000);

/** `toolgate serve` in this process; resolves with its URL once it listens. */
function serve(args: string[], env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  let stop!: () => void;
  let listening!: (url: string) => void;
  const url = new Promise<string>((resolve) => (listening = resolve));
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), env, cwd: dir, stopSignal: new Promise<void>((r) => (stop = r)), onListening: listening };
  const exit = runCli(['serve', '--port', '0', ...args], io);
  return { url: Promise.race([url, exit.then((code) => Promise.reject(new Error(`serve exited ${code}: ${err.join('')}`)))]), exit, stop, output: () => out.join('') + err.join('') };
}

async function createKey(database: string, scope: string): Promise<string> {
  const out: string[] = [];
  expect(await runCli(['keys', 'create', '--scope', scope, '--json', '--database', database], { out: (t) => out.push(t), err: () => {}, env: {} })).toBe(0);
  return (JSON.parse(out.join('')) as { key: string }).key;
}

describe('toolgate serve --database', () => {
  it('two servers on one database are one service: submit on A, decide on B, read on A; /readyz names postgres; the URL is never printed', async () => {
    const database = await freshDatabase(pgServer.url);
    const password = new URL(database).password;
    expect(password.length).toBeGreaterThan(3);
    const evalKey = await createKey(database, 'eval');
    const approveKey = await createKey(database, 'approve');

    const a = serve(['--database', database], {});
    const b = serve([], { TOOLGATE_DATABASE_URL: database });
    try {
      const [urlA, urlB] = await Promise.all([a.url, b.url]);
      const submitted = await http(urlA, 'POST', '/v1/reviews', evalKey, { idempotencyKey: 'x-1', call: { tool: 'transfer', args: { amount: 500 } } });
      expect(submitted.status).toBe(202);
      const id = submitted.body.id as string;
      const decided = await http(urlB, 'POST', `/v1/reviews/${id}/decision`, approveKey, { verdict: 'allow', reason: 'ok' });
      expect(decided.status).toBe(200);
      const read = await http(urlA, 'GET', `/v1/reviews/${id}`, evalKey);
      expect(read.body).toMatchObject({ status: 'decided', verdict: 'allow', decidedBy: decided.body.decidedBy });
      expect(decided.body.decidedBy).toMatch(/^human:/);
      // Both sign with the one key stored in the database: the same JWKS.
      expect((await http(urlA, 'GET', '/.well-known/jwks.json')).body).toEqual((await http(urlB, 'GET', '/.well-known/jwks.json')).body);
      const ready = await http(urlB, 'GET', '/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body.checks.database).toEqual({ ok: true, engine: 'postgres' });
      const verify = await http(urlA, 'GET', '/v1/audit/verify', approveKey);
      expect(verify.body).toMatchObject({ ok: true, table: { ok: true } });
    } finally {
      a.stop();
      b.stop();
      expect(await a.exit).toBe(0);
      expect(await b.exit).toBe(0);
    }
    for (const output of [a.output(), b.output()]) {
      expect(output).toContain('"store":"postgres"');
      expect(output).not.toContain(password);
      expect(output).not.toContain(database);
    }
  });

  it('--database-pool-size (or TOOLGATE_DATABASE_POOL_SIZE) bounds the connections the server opens', async () => {
    const database = await freshDatabase(pgServer.url);
    const evalKey = await createKey(database, 'eval');
    const backends = async () => {
      const client = new pg.Client({ connectionString: database });
      await client.connect();
      try {
        const r = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'");
        return r.rows[0]!.n;
      } finally {
        await client.end();
      }
    };
    for (const [args, env, pool] of [[['--database-pool-size', '2'], {}, 2], [[], { TOOLGATE_DATABASE_POOL_SIZE: '3' }, 3]] as const) {
      const s = serve(['--database', database, ...args], env);
      try {
        const url = await s.url;
        // A burst wider than the pool: each request needs a connection, idle ones stay open for 10 s.
        const burst = await Promise.all(Array.from({ length: 30 }, (_, i) =>
          http(url, 'POST', '/v1/reviews', evalKey, { idempotencyKey: `pool-${pool}-${i}`, call: { tool: 'transfer', args: { amount: 5 } } })));
        expect(burst.map((r) => r.status)).toEqual(Array(30).fill(202)); // no policy: each waits for a human
        // The pool, plus the one LISTEN connection for cross-replica wake-ups.
        expect(await backends()).toBeLessThanOrEqual(pool + 1);
      } finally {
        s.stop();
        expect(await s.exit).toBe(0);
      }
      expect(s.output()).toContain(`"databasePoolSize":${pool}`);
    }
  });

  it('a database that does not answer at start: exit 1, one line on stderr, no password', async () => {
    const err: string[] = [];
    const out: string[] = [];
    const code = await runCli(['serve', '--port', '0'], { out: (t) => out.push(t), err: (t) => err.push(t), env: { TOOLGATE_DATABASE_URL: 'postgres://tg:s3cr3t-pw@127.0.0.1:1/tg' }, cwd: dir });
    expect(code).toBe(1);
    expect(err.join('')).toMatch(/^toolgate: the PostgreSQL store is unavailable: .*check --database \/ TOOLGATE_DATABASE_URL/);
    expect(err.join('') + out.join('')).not.toContain('s3cr3t-pw');
  });
});
