import { DatabaseSync } from 'node:sqlite';
import { OptionsError, ToolgateError, ErrorCodes } from '../errors';
import { LEDGER_TABLE, type GateLedger, type LedgerEntry } from './ledger-types';

export interface SqliteLedgerOptions {
  /** How long a write waits for another process's lock, in ms. Default 5 000. */
  busyTimeoutMs?: number;
}

/**
 * A gate ledger in a SQLite file (node:sqlite, built into Node 22.13+), shared by every process
 * that opens the same path: exactly-once holds across restarts and processes on one machine.
 * Writes are single statements (`INSERT … ON CONFLICT … RETURNING`), atomic under SQLite's lock.
 * node:sqlite is synchronous: a write waiting on another process's lock blocks this event loop
 * for up to `busyTimeoutMs`.
 */
export function sqliteLedger(path: string, options: SqliteLedgerOptions = {}): GateLedger {
  if (typeof path !== 'string' || path.length === 0) throw new OptionsError('sqliteLedger: path must be a non-empty string (a file, or ":memory:" for one process)');
  const busy = options.busyTimeoutMs ?? 5_000;
  if (!Number.isInteger(busy) || busy < 0) throw new OptionsError('sqliteLedger: busyTimeoutMs must be a non-negative integer');
  let db: DatabaseSync | undefined;
  let closed = false;
  const open = (): DatabaseSync => {
    if (closed) throw new ToolgateError(ErrorCodes.LEDGER_UNAVAILABLE, 'sqliteLedger: closed');
    if (db) return db;
    const d = new DatabaseSync(path);
    try {
      d.exec(`PRAGMA busy_timeout = ${busy}`);
      d.exec('PRAGMA journal_mode = WAL');
      d.exec(`CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (key TEXT PRIMARY KEY, digest TEXT NOT NULL, decision TEXT, executed_at INTEGER)`);
    } catch (error) {
      d.close();
      throw error;
    }
    db = d;
    return d;
  };
  const run = <T>(fn: (d: DatabaseSync) => T): Promise<T> => {
    try {
      return Promise.resolve(fn(open()));
    } catch (error) {
      return Promise.reject(error instanceof ToolgateError ? error : new ToolgateError(ErrorCodes.LEDGER_UNAVAILABLE, `sqliteLedger: ${(error as Error)?.message ?? String(error)}`, { cause: error }));
    }
  };
  return {
    name: 'sqlite',
    get: (key) =>
      run((d) => {
        const row = d.prepare(`SELECT digest, decision, executed_at FROM ${LEDGER_TABLE} WHERE key = ?`).get(key) as { digest: string; decision: string | null; executed_at: number | null } | undefined;
        if (!row) return undefined;
        const entry: LedgerEntry = { digest: row.digest, executed: row.executed_at !== null };
        if (row.decision !== null) entry.decision = row.decision;
        return entry;
      }),
    record: (key, digest, decision) =>
      run((d) => {
        d.prepare(
          `INSERT INTO ${LEDGER_TABLE} (key, digest, decision) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET decision = excluded.decision WHERE (${LEDGER_TABLE}.digest = excluded.digest OR (json_extract(excluded.decision, '$.verdict') IS 'deny' AND (json_extract(excluded.decision, '$.source') IS 'human' OR json_extract(excluded.decision, '$.error.code') IS 'REVIEW_EXPIRED'))) AND ${LEDGER_TABLE}.executed_at IS NULL AND (json_extract(${LEDGER_TABLE}.decision, '$.source') IS NOT 'human' OR json_extract(excluded.decision, '$.source') IS 'human') AND NOT (json_extract(${LEDGER_TABLE}.decision, '$.verdict') IS 'deny' AND (json_extract(${LEDGER_TABLE}.decision, '$.source') IS 'human' OR json_extract(${LEDGER_TABLE}.decision, '$.error.code') IS 'REVIEW_EXPIRED') AND json_extract(excluded.decision, '$.verdict') IS NOT 'deny')`,
        ).run(key, digest, decision);
      }),
    claim: (key, digest) =>
      run((d) => {
        const row = d
          .prepare(
            `INSERT INTO ${LEDGER_TABLE} (key, digest, executed_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET executed_at = excluded.executed_at WHERE ${LEDGER_TABLE}.digest = excluded.digest AND ${LEDGER_TABLE}.executed_at IS NULL AND (${LEDGER_TABLE}.decision IS NULL OR json_extract(${LEDGER_TABLE}.decision, '$.verdict') IN ('allow', 'allow_with_conditions')) RETURNING key`,
          )
          .get(key, digest, Date.now());
        return row !== undefined;
      }),
    close() {
      closed = true;
      db?.close();
      db = undefined;
      return Promise.resolve();
    },
  };
}
