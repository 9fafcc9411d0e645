/**
 * Where `limit`, `budget` and `repeat` counters live. SYNCHRONOUS on purpose: the policy
 * evaluator is a pure, synchronous function, and the reference server implements this on
 * `node:sqlite` (which is synchronous), e.g. one table `(key TEXT, at_ms INTEGER, amount REAL,
 * expires_ms INTEGER)` with an index on `(key, at_ms)`:
 *
 * - `count` → `SELECT COUNT(*) FROM t WHERE key = ? AND at_ms > ?`
 * - `sum`   → `SELECT COALESCE(SUM(amount), 0) FROM t WHERE key = ? AND at_ms > ?`
 * - `add`   → `INSERT INTO t VALUES (?, ?, ?, ? + ?)`; delete rows with `expires_ms < now` now and then.
 *
 * Keys are opaque strings built by the evaluator (`<kind>:<rule id>:<scope>`); a store must not
 * interpret them. Time is epoch milliseconds from the evaluator's clock, never the store's own.
 */
export interface PolicyStateStore {
  /** Number of entries under `key` with `atMs > sinceMs`. */
  count(key: string, sinceMs: number): number;
  /** Sum of the amounts of the entries under `key` with `atMs > sinceMs` (0 when none). */
  sum(key: string, sinceMs: number): number;
  /**
   * Records one entry. `windowMs` is the window the key is read with: the store may forget the
   * entry once it is older than that (after `atMs + windowMs`).
   */
  add(key: string, atMs: number, amount: number, windowMs: number): void;
}

/** The in-memory store, with counts for tests and monitoring. */
export interface MemoryPolicyState extends PolicyStateStore {
  /** Keys and entries currently held. */
  stats(): { keys: number; entries: number };
  /** Forgets everything. */
  clear(): void;
}

interface Series {
  at: number[];
  amount: number[];
  /** Index of the first live entry (entries before it are expired). */
  head: number;
}

const SWEEP_EVERY = 1024;

/**
 * An in-process `PolicyStateStore`. Memory stays bounded: entries older than the largest window
 * seen are dropped on write, and every 1024 writes (or once that window has passed) a sweep
 * drops expired entries and empty keys everywhere. State is per process and lost on restart; use
 * the reviewer server for shared, persistent counters.
 *
 * @example
 * const state = memoryPolicyState();
 * const reviewer = policyReviewer('./policy.yaml', { state });
 */
export function memoryPolicyState(): MemoryPolicyState {
  const series = new Map<string, Series>();
  let maxWindow = 0;
  let latest = Number.NEGATIVE_INFINITY;
  let writes = 0;
  let lastSweep = Number.NEGATIVE_INFINITY;

  /** Index of the first entry with at > since (entries are kept sorted by time). */
  const firstAfter = (s: Series, since: number): number => {
    let lo = s.head;
    let hi = s.at.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((s.at[mid] as number) > since) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };

  const prune = (s: Series, horizon: number) => {
    s.head = firstAfter(s, horizon);
    if (s.head > 32 && s.head * 2 > s.at.length) {
      s.at = s.at.slice(s.head);
      s.amount = s.amount.slice(s.head);
      s.head = 0;
    }
  };

  const sweep = () => {
    const horizon = latest - maxWindow;
    for (const [key, s] of series) {
      prune(s, horizon);
      if (s.head >= s.at.length) series.delete(key);
    }
    lastSweep = latest;
  };

  return {
    count(key, sinceMs) {
      const s = series.get(key);
      return s ? s.at.length - firstAfter(s, sinceMs) : 0;
    },
    sum(key, sinceMs) {
      const s = series.get(key);
      if (!s) return 0;
      let total = 0;
      for (let i = firstAfter(s, sinceMs); i < s.at.length; i++) total += s.amount[i] as number;
      return total;
    },
    add(key, atMs, amount, windowMs) {
      if (windowMs > maxWindow) maxWindow = windowMs;
      if (atMs > latest) latest = atMs;
      let s = series.get(key);
      if (!s) {
        s = { at: [], amount: [], head: 0 };
        series.set(key, s);
      }
      const last = s.at.length > 0 ? (s.at[s.at.length - 1] as number) : Number.NEGATIVE_INFINITY;
      if (atMs >= last) {
        s.at.push(atMs);
        s.amount.push(amount);
      } else {
        // A clock that went back (or a caller-supplied time): keep the series sorted.
        const i = firstAfter(s, atMs);
        s.at.splice(i, 0, atMs);
        s.amount.splice(i, 0, amount);
      }
      prune(s, latest - maxWindow);
      if (++writes % SWEEP_EVERY === 0 || latest - lastSweep > maxWindow) sweep();
    },
    stats() {
      let entries = 0;
      for (const s of series.values()) entries += s.at.length - s.head;
      return { keys: series.size, entries };
    },
    clear() {
      series.clear();
      maxWindow = 0;
      latest = Number.NEGATIVE_INFINITY;
      writes = 0;
      lastSweep = Number.NEGATIVE_INFINITY;
    },
  };
}
