import pg from 'pg';
import { ErrorCodes, OptionsError, ToolgateError } from '../errors';
import { LEDGER_TABLE, type GateLedger, type LedgerEntry } from './ledger-types';

/** What postgresLedger needs of a pool: `pg.Pool` (or anything with the same `query`). */
export interface PostgresQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

export interface PostgresLedgerOptions {
  /** Table name. Default `toolgate_ledger` (created when missing). */
  table?: string;
  /** With a URL: the pool's size. Default 10. */
  max?: number;
  /** With a URL: how long to wait for a connection, in ms. Default 5 000. */
  connectionTimeoutMs?: number;
}

/**
 * A gate ledger in PostgreSQL, shared by every process and machine that uses the same database:
 * exactly-once across replicas. A claim is one `INSERT … ON CONFLICT … RETURNING`: of any number
 * of concurrent claims of a key, exactly one returns a row. Given a URL, the ledger owns its pool
 * (closed by `close()`); given a pool, the caller keeps it.
 */
export function postgresLedger(source: string | PostgresQueryable, options: PostgresLedgerOptions = {}): GateLedger {
  const table = options.table ?? LEDGER_TABLE;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(table)) throw new OptionsError('postgresLedger: table must be a plain lower-case identifier');
  let owned: pg.Pool | undefined;
  let db: PostgresQueryable;
  if (typeof source === 'string') {
    if (!/^postgres(ql)?:\/\//.test(source)) throw new OptionsError('postgresLedger: expected a postgres:// URL or a pg Pool');
    owned = new pg.Pool({ connectionString: source, max: options.max ?? 10, connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000 });
    // An idle client that loses its server must not crash the process; the next query fails instead.
    owned.on('error', () => {});
    db = owned;
  } else if (typeof source?.query === 'function') {
    db = source;
  } else {
    throw new OptionsError('postgresLedger: expected a postgres:// URL or a pg Pool');
  }
  let ready: Promise<void> | undefined;
  let closed = false;
  const create = `CREATE TABLE IF NOT EXISTS ${table} (key TEXT PRIMARY KEY, digest TEXT NOT NULL, decision TEXT, executed_at BIGINT)`;
  const init = (): Promise<void> => {
    ready ??= db
      .query(create)
      // Two processes creating the table at once: IF NOT EXISTS still lets one of them fail on the
      // catalog's unique index (23505), as a duplicate table (42P07) or type (42710); by then the
      // table exists, and the same statement succeeds.
      .catch((error: unknown) => (['23505', '42P07', '42710'].includes(String((error as { code?: unknown })?.code)) ? db.query(create) : Promise.reject(error)))
      .then(() => undefined)
      .catch((error: unknown) => {
        ready = undefined; // try again on the next call
        throw error;
      });
    return ready;
  };
  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (closed) throw new ToolgateError(ErrorCodes.LEDGER_UNAVAILABLE, 'postgresLedger: closed');
    try {
      await init();
      return await fn();
    } catch (error) {
      if (error instanceof ToolgateError) throw error;
      throw new ToolgateError(ErrorCodes.LEDGER_UNAVAILABLE, `postgresLedger: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    }
  };
  return {
    name: 'postgres',
    get: (key) =>
      run(async () => {
        const { rows } = await db.query(`SELECT digest, decision, executed_at FROM ${table} WHERE key = $1`, [key]);
        const row = rows[0] as { digest: string; decision: string | null; executed_at: string | null } | undefined;
        if (!row) return undefined;
        const entry: LedgerEntry = { digest: row.digest, executed: row.executed_at !== null };
        if (row.decision !== null) entry.decision = row.decision;
        return entry;
      }),
    record: (key, digest, decision) =>
      run(async () => {
        await db.query(
          `INSERT INTO ${table} (key, digest, decision) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET decision = excluded.decision WHERE (${table}.digest = excluded.digest OR ((excluded.decision::jsonb ->> 'verdict') = 'deny' AND ((excluded.decision::jsonb ->> 'source') = 'human' OR (excluded.decision::jsonb #>> '{error,code}') = 'REVIEW_EXPIRED'))) AND ${table}.executed_at IS NULL AND ((${table}.decision::jsonb ->> 'source') IS DISTINCT FROM 'human' OR (excluded.decision::jsonb ->> 'source') = 'human') AND NOT ((${table}.decision::jsonb ->> 'verdict') IS NOT DISTINCT FROM 'deny' AND ((${table}.decision::jsonb ->> 'source') IS NOT DISTINCT FROM 'human' OR (${table}.decision::jsonb #>> '{error,code}') IS NOT DISTINCT FROM 'REVIEW_EXPIRED') AND (excluded.decision::jsonb ->> 'verdict') IS DISTINCT FROM 'deny')`,
          [key, digest, decision],
        );
      }),
    claim: (key, digest) =>
      run(async () => {
        const { rows } = await db.query(
          `INSERT INTO ${table} (key, digest, executed_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET executed_at = excluded.executed_at WHERE ${table}.digest = excluded.digest AND ${table}.executed_at IS NULL AND (${table}.decision IS NULL OR (${table}.decision::jsonb ->> 'verdict') IN ('allow', 'allow_with_conditions')) RETURNING key`,
          [key, digest, Date.now()],
        );
        return rows.length === 1;
      }),
    async close() {
      closed = true;
      await owned?.end();
    },
  };
}
