import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedPostgres, startPostgres } from './embedded-postgres.ts';
import { initdbOf, installedEmbeddedPostgresDir, mirrorEmbeddedPostgres, othersCanExecute } from './reachable-postgres-binaries.ts';

async function selectOne(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ one: number }>('select 1 as one')).rows[0]!.one;
  } finally {
    await client.end();
  }
}

describe('embedded PostgreSQL test harness', () => {
  let server: StartedPostgres;
  beforeAll(async () => {
    server = await startPostgres();
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
  }, 30_000);

  it('answers select 1 through a pg client on 127.0.0.1, goes away on halt and comes back on resume', async () => {
    expect(new URL(server.url).hostname).toBe('127.0.0.1');
    const ask = (): Promise<number> => selectOne(server.url);
    expect(await ask()).toBe(1);
    await server.halt();
    await expect(ask()).rejects.toThrow();
    await server.resume();
    expect(await ask()).toBe(1);
  }, 60_000);

  it('takes another port when its port is taken between choosing it and binding it (parallel test files)', async () => {
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const taken = (squatter.address() as { port: number }).port;
    const other = await startPostgres({ preferPort: taken });
    try {
      expect(other.port).not.toBe(taken);
      expect(await selectOne(other.url)).toBe(1);
    } finally {
      await other.stop();
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  }, 90_000);

  it('starts from a checkout inside a directory only its owner may enter (root cloning into `mktemp -d`)', async () => {
    // The packages that hold the binaries, installed under a 0700 directory as in a clone made there.
    const closed = await mkdtemp(join(tmpdir(), 'toolgate-closed-'));
    try {
      await chmod(closed, 0o700);
      const packageDir = await mirrorEmbeddedPostgres(installedEmbeddedPostgresDir(), join(closed, 'checkout'));
      expect(othersCanExecute(initdbOf(packageDir))).toBe(false);
      const inside = await startPostgres({ embeddedPostgresDir: packageDir });
      try {
        expect(await selectOne(inside.url)).toBe(1);
      } finally {
        await inside.stop();
      }
    } finally {
      await rm(closed, { recursive: true, force: true });
    }
  }, 120_000);
});
