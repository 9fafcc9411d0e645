import type { PolicyStateStore } from '@toolgate/core';
import type { Store } from './open-store';

/**
 * Core's `PolicyStateStore` (rate limits, budgets, loop detection) on the server's SQLite file, so
 * windows hold across restarts. Synchronous, like the interface: `node:sqlite` is synchronous and
 * every statement is prepared once. Entries past their window are deleted every 4096 writes.
 */
export function sqlitePolicyState(store: Store): PolicyStateStore & { prune(now: number): void } {
  const db = store.db;
  const sumStmt = db.prepare('SELECT COALESCE(SUM(amount), 0) AS v FROM policy_events WHERE key = ? AND at > ?');
  const countStmt = db.prepare('SELECT COUNT(*) AS v FROM policy_events WHERE key = ? AND at > ?');
  const addStmt = db.prepare('INSERT INTO policy_events (key, at, amount, expires) VALUES (?, ?, ?, ?)');
  const pruneStmt = db.prepare('DELETE FROM policy_events WHERE expires < ?');
  let adds = 0;
  const prune = (now: number) => {
    pruneStmt.run(now);
  };
  return {
    sum: (key, sinceMs) => Number((sumStmt.get(key, sinceMs) as { v: number }).v),
    count: (key, sinceMs) => Number((countStmt.get(key, sinceMs) as { v: number }).v),
    add(key, atMs, amount, windowMs) {
      addStmt.run(key, atMs, amount, atMs + windowMs);
      if (++adds % 4096 === 0) prune(atMs);
    },
    prune,
  };
}
