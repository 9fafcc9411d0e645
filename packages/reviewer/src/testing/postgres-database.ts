import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A new, empty database on the PostgreSQL server at `serverUrl` (an admin connection string), and
 * its URL: one per review server in a test, so servers of one test file never share state unless
 * a test means them to (same URL = replicas of one service). `name` defaults to a random one.
 */
export async function freshDatabase(serverUrl: string, name = `tg_${randomBytes(6).toString('hex')}`): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs one statement on the database at `url` (test set-up: move a deadline into the past…). */
export async function runSql(url: string, sql: string, params: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql, params);
  } finally {
    await client.end();
  }
}
