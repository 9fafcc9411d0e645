import type { PolicyStateStore } from '@toolgate/core';
import type { CommitParticipant } from './group-commit';
import type { Store } from './open-store';

interface Event {
  key: string;
  at: number;
  amount: number;
  expires: number;
}

/** The SQLite policy state; with `buffered`, a participant of the server's group commit. */
export interface SqlitePolicyState extends PolicyStateStore, CommitParticipant {
  prune(now: number): void;
  /** Called when an add is buffered (the owner schedules a transaction that writes it). */
  onBuffered: (() => void) | undefined;
}

/**
 * Core's `PolicyStateStore` (rate limits, budgets, loop detection) on the server's SQLite file, so
 * windows hold across restarts. Synchronous, like the interface: `node:sqlite` is synchronous and
 * every statement is prepared once. Entries past their window are deleted every 4096 writes.
 *
 * With `{ buffered: true }` an `add` is kept in memory (and counted by `sum`/`count` at once) until
 * the next group-commit transaction writes it — the same transaction as the review it belongs to —
 * instead of costing an autocommit of its own. Without it, every `add` is written at once.
 */
export function sqlitePolicyState(store: Store, options: { buffered?: boolean } = {}): SqlitePolicyState {
  const db = store.db;
  const sumStmt = db.prepare('SELECT COALESCE(SUM(amount), 0) AS v FROM policy_events WHERE key = ? AND at > ?');
  const countStmt = db.prepare('SELECT COUNT(*) AS v FROM policy_events WHERE key = ? AND at > ?');
  const addStmt = db.prepare('INSERT INTO policy_events (key, at, amount, expires) VALUES (?, ?, ?, ?)');
  const pruneStmt = db.prepare('DELETE FROM policy_events WHERE expires < ?');
  const buffered = options.buffered ?? false;
  let adds = 0;
  let pending: Event[] = [];
  let writing: Event[] = [];
  const prune = (now: number) => {
    pruneStmt.run(now);
  };
  const insert = (e: Event) => {
    addStmt.run(e.key, e.at, e.amount, e.expires);
    if (++adds % 4096 === 0) prune(e.at);
  };
  const state: SqlitePolicyState = {
    onBuffered: undefined,
    sum(key, sinceMs) {
      let v = Number((sumStmt.get(key, sinceMs) as { v: number }).v);
      for (const e of pending) if (e.key === key && e.at > sinceMs) v += e.amount;
      return v;
    },
    count(key, sinceMs) {
      let v = Number((countStmt.get(key, sinceMs) as { v: number }).v);
      for (const e of pending) if (e.key === key && e.at > sinceMs) v += 1;
      return v;
    },
    add(key, atMs, amount, windowMs) {
      const e = { key, at: atMs, amount, expires: atMs + windowMs };
      if (!buffered) {
        insert(e);
        return;
      }
      pending.push(e);
      state.onBuffered?.();
    },
    prune,
    write() {
      if (pending.length === 0) return;
      writing = pending;
      pending = [];
      for (const e of writing) insert(e);
    },
    committed() {
      writing = [];
    },
    rolledBack() {
      if (writing.length) pending = writing.concat(pending);
      writing = [];
    },
  };
  return state;
}
