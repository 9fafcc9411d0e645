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

const UNSAFE_KEY_PART = /[:%\s]/;
/** The evaluator's encoding of an agent id inside a state key (core's `keyPart`). */
const keyPart = (s: string) => (UNSAFE_KEY_PART.test(s) ? encodeURIComponent(s) : s);

/**
 * The policy counters of one call, kept per authenticated API key instead of per client-sent
 * agent id. Core keys `limit`/`budget`/`repeat` state `<kind>:<rule id>:<scope>[:<digest>]`, with
 * the scope `agent=<agent id>` (or `agent=<id>,tool=<tool>`) for `per: agent` / `agent_tool`.
 * The agent id there is whatever the client sent, so renaming `agent.id` on every call opened a
 * fresh budget, rate limit and loop counter each time. This view rewrites that scope to
 * `agent=<principal>` (the API key), so every name a key uses shares one counter. Rules still
 * match on the client's agent id (`agents:` globs, `agent.*` conditions) and it is still shown
 * and audited; only the counting is bound to the key. `tool` and `global` scopes are unchanged.
 */
export function principalPolicyState(state: PolicyStateStore, principal: string, clientAgentId: string | undefined): PolicyStateStore {
  const from = clientAgentId === undefined ? 'agent=-' : `agent=${keyPart(clientAgentId)}`;
  const to = `agent=${keyPart(principal)}`;
  const rewrite = (key: string): string => {
    // Rule ids never contain ':', so the scope starts after the second one.
    const a = key.indexOf(':');
    const b = a < 0 ? -1 : key.indexOf(':', a + 1);
    if (b < 0) return key;
    const scope = key.slice(b + 1);
    if (!scope.startsWith(from)) return key;
    const next = scope.charAt(from.length);
    if (next !== '' && next !== ',' && next !== ':') return key;
    return `${key.slice(0, b + 1)}${to}${scope.slice(from.length)}`;
  };
  return {
    count: (key, sinceMs) => state.count(rewrite(key), sinceMs),
    sum: (key, sinceMs) => state.sum(rewrite(key), sinceMs),
    add: (key, atMs, amount, windowMs) => state.add(rewrite(key), atMs, amount, windowMs),
  };
}
