import type { PolicyCounterRead, PolicyCounterWrite, SharedPolicyState } from '@toolgate/core';
import type { PostgresStore } from './postgres-store';

export interface PostgresPolicyState extends SharedPolicyState {
  /** Deletes entries past their window (at most `batch` rows). Returns how many went. */
  prune(nowMs: number, batch?: number): Promise<number>;
  /** Resolves once a prune started in the background has finished (tests, shutdown). */
  idle(): Promise<void>;
}

export interface PostgresPolicyStateOptions {
  /** Prune expired entries in the background after this many transactions that wrote. Default 1024. */
  pruneEvery?: number;
}

// One advisory lock per counter key, taken in one global order (by the lock's own number) so two
// evaluations that share several keys cannot deadlock. Same lock numbers as policyReserve.
const LOCK_SQL = `SELECT pg_advisory_xact_lock(h) FROM (
  SELECT DISTINCT hashtextextended('toolgate.policy:' || k, 0) AS h FROM unnest($1::text[]) AS k ORDER BY h
) AS locks`;

// Read after the locks, in a statement of its own: under READ COMMITTED each statement sees what
// was committed when it started, so this one sees every entry written by whoever held a lock before.
const READ_SQL = `SELECT CASE WHEN r.kind = 'sum'
    THEN (SELECT COALESCE(SUM(e.amount), 0) FROM policy_events e WHERE e.key = r.key AND e.at > r.since)
    ELSE (SELECT COUNT(*) FROM policy_events e WHERE e.key = r.key AND e.at > r.since)::float8
  END AS v
  FROM unnest($1::text[], $2::text[], $3::float8[]) WITH ORDINALITY AS r(kind, key, since, i)
  ORDER BY r.i`;

const INSERT_SQL = `INSERT INTO policy_events (key, at, amount, expires)
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::float8[], $4::bigint[])`;

/**
 * A time as the BIGINT columns hold it. A policy may set any whole-number window (`1e300` too) and
 * `sinceMs` is read as float8, so no window makes a call fail; expiries past 2^53 are kept as 2^53
 * (beyond any clock), and a fractional time (a caller's clock) is rounded down.
 */
const storedMs = (ms: number): number => Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, Math.floor(ms)));

const PRUNE_SQL = `DELETE FROM policy_events WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM policy_events WHERE expires < $1 LIMIT $2
))`;

/**
 * Policy counters (`limit`, `budget`, `repeat`) shared by every review server on one PostgreSQL
 * database: core's `SharedPolicyState`. One evaluation's counter step is one transaction: lock
 * every counter key it reads (advisory locks, one order), read them, let core decide, insert the
 * entries the decision records, commit. So a budget of 10,000 a day is 10,000 across all replicas,
 * and no two replicas can both take its last unit. Evaluations on other keys do not wait.
 *
 * Entries live in `policy_events` (the schema of the SQLite store's table), and are pruned past
 * their window in the background every `pruneEvery` writing transactions, in bounded batches.
 * `store` may be a promise (the server opens the database when it becomes ready).
 */
export function postgresPolicyState(store: PostgresStore | Promise<PostgresStore>, options: PostgresPolicyStateOptions = {}): PostgresPolicyState {
  const pruneEvery = options.pruneEvery ?? 1024;
  let writes = 0;
  let pruning: Promise<void> | undefined;

  const prune = async (nowMs: number, batch = 10_000): Promise<number> => {
    const s = await store;
    const r = await s.pool.query(PRUNE_SQL, [storedMs(nowMs), batch]);
    return r.rowCount ?? 0;
  };

  const state: PostgresPolicyState = {
    async transact<T>(reads: readonly PolicyCounterRead[], decide: (values: readonly number[]) => { writes: readonly PolicyCounterWrite[]; result: T }): Promise<T> {
      const s = await store;
      let wrote: readonly PolicyCounterWrite[] = [];
      const result = await s.policyTransaction(async (c) => {
        await c.query(LOCK_SQL, [reads.map((r) => r.key)]);
        const got = await c.query<{ v: number }>(READ_SQL, [reads.map((r) => r.kind), reads.map((r) => r.key), reads.map((r) => r.sinceMs)]);
        const decided = decide(got.rows.map((row) => Number(row.v)));
        wrote = decided.writes;
        if (wrote.length > 0) {
          await c.query(INSERT_SQL, [wrote.map((w) => w.key), wrote.map((w) => storedMs(w.atMs)), wrote.map((w) => w.amount), wrote.map((w) => storedMs(w.atMs + w.windowMs))]);
        }
        return decided.result;
      });
      if (wrote.length > 0 && ++writes % pruneEvery === 0 && pruning === undefined) {
        const at = wrote[0]!.atMs;
        // A failed prune is retried by the next one; it never fails a decision.
        pruning = prune(at)
          .then(
            () => undefined,
            () => undefined,
          )
          .finally(() => {
            pruning = undefined;
          });
      }
      return result;
    },
    prune,
    async idle() {
      await pruning;
    },
  };
  return state;
}
