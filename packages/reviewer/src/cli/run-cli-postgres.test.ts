// The store-touching CLI commands on PostgreSQL (--database / TOOLGATE_DATABASE_URL), against a
// real PostgreSQL server, and `audit export` on both stores.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedPostgres, startPostgres } from '../../../../test/support/embedded-postgres';
import { removeDir, tempDir } from '../testing/fixture';
import { runCli } from './run-cli';

function io(env: Record<string, string | undefined> = {}, cwd?: string) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), env, ...(cwd ? { cwd } : {}) },
    get stdout() {
      return out.join('');
    },
    get stderr() {
      return err.join('');
    },
  };
}

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

describe('toolgate CLI on PostgreSQL', () => {
  it('keys create / list / revoke with --database, and the same through TOOLGATE_DATABASE_URL', async () => {
    const created = io();
    expect(await runCli(['keys', 'create', '--scope', 'approve', '--name', 'alice', '--json', '--database', pgServer.url], created.io)).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; key: string; scope: string };
    expect(key.scope).toBe('approve');
    expect(key.key).toMatch(/^tgk_/);
    // The URL (with its password) is never printed.
    expect(created.stderr).not.toContain(pgServer.url);

    const viaEnv = io({ TOOLGATE_DATABASE_URL: pgServer.url });
    expect(await runCli(['keys', 'list', '--json'], viaEnv.io)).toBe(0);
    const listed = JSON.parse(viaEnv.stdout) as Array<{ id: string; revokedAt: string | null }>;
    expect(listed.find((k) => k.id === key.id)?.revokedAt).toBeNull();

    const revoked = io();
    expect(await runCli(['keys', 'revoke', key.id, '--database', pgServer.url], revoked.io)).toBe(0);
    const again = io();
    expect(await runCli(['keys', 'revoke', key.id, '--database', pgServer.url], again.io)).toBe(1);
    const after = io();
    expect(await runCli(['keys', 'list', '--json', '--database', pgServer.url], after.io)).toBe(0);
    expect((JSON.parse(after.stdout) as Array<{ id: string; revokedAt: string | null }>).find((k) => k.id === key.id)?.revokedAt).not.toBeNull();

    // Key creation and revocation are audited in the database's chain, which verifies.
    const verify = io();
    expect(await runCli(['audit', 'verify', '--json', '--database', pgServer.url], verify.io)).toBe(0);
    const result = JSON.parse(verify.stdout) as { database: { ok: boolean; records: number } };
    expect(result.database).toMatchObject({ ok: true });
    expect(result.database.records).toBeGreaterThanOrEqual(2);
  });

  it('audit export writes the chain; audit verify checks the file against the database and catches an edit', async () => {
    const out = join(dir, 'pg-audit.jsonl');
    const exported = io();
    expect(await runCli(['audit', 'export', out, '--database', pgServer.url], exported.io)).toBe(0);
    expect(exported.stdout).toMatch(/^exported \d+ audit records/);
    const ok = io();
    expect(await runCli(['audit', 'verify', out, '--database', pgServer.url], ok.io)).toBe(0);
    expect(ok.stdout).toContain('matches the database head');
    // Never overwrites.
    expect(await runCli(['audit', 'export', out, '--database', pgServer.url], io().io)).toBe(1);

    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    lines[0] = lines[0]!.replace('"key.create"', '"key.CREATE"');
    writeFileSync(out, `${lines.join('\n')}\n`);
    const broken = io();
    expect(await runCli(['audit', 'verify', out, '--database', pgServer.url], broken.io)).toBe(1);
    expect(broken.stderr).toMatch(/BROKEN file/);
  });

  it('keys rotate-signing --database retires the active key in the database and audits it', async () => {
    const { openPostgresStore } = await import('../store/postgres-store');
    const store = await openPostgresStore(pgServer.url, { poolSize: 1 });
    try {
      const before = await store.signingKeys();
      const rotated = io();
      expect(await runCli(['keys', 'rotate-signing', '--database', pgServer.url], rotated.io)).toBe(0);
      const after = await store.signingKeys();
      expect(after.activeKid).not.toBe(before.activeKid);
      expect(rotated.stdout).toContain(after.activeKid);
      expect(after.keys.find((k) => k.kid === before.activeKid)?.privateJwk).toBeUndefined();
      const head = await store.auditHead();
      const last = (await store.auditAfter(head!.seq - 1, 1))[0];
      expect(last?.meta).toMatchObject({ action: 'signing-key.rotate', kid: after.activeKid, by: 'cli' });
    } finally {
      await store.close();
    }
  });

  it('a --database that is not a postgres URL is a usage error (exit 2) that does not echo it', async () => {
    const bad = io();
    expect(await runCli(['keys', 'list', '--database', 'mysql://root:secret@db/x'], bad.io)).toBe(2);
    expect(bad.stderr).toMatch(/--database must be a postgres/);
    expect(bad.stderr).not.toContain('secret');
  });

  it('audit export works on the SQLite data dir too, and the file verifies against it', async () => {
    const data = join(dir, 'data');
    expect(await runCli(['keys', 'create', '--scope', 'eval', '--data', data], io().io)).toBe(0);
    const out = join(dir, 'sqlite-audit.jsonl');
    expect(await runCli(['audit', 'export', out, '--data', data], io().io)).toBe(0);
    const ok = io();
    expect(await runCli(['audit', 'verify', out, '--data', data], ok.io)).toBe(0);
    expect(ok.stdout).toContain('database head matches the file');
  });
});
