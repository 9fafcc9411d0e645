import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedPostgres, startPostgres } from './embedded-postgres.ts';

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
    const ask = async (): Promise<number> => {
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        const result = await client.query<{ one: number }>('select 1 as one');
        return result.rows[0]!.one;
      } finally {
        await client.end();
      }
    };
    expect(await ask()).toBe(1);
    await server.halt();
    await expect(ask()).rejects.toThrow();
    await server.resume();
    expect(await ask()).toBe(1);
  }, 60_000);
});
