import type { Decision } from '../types';

interface Entry {
  decision: Decision;
  executed: boolean;
}

/**
 * Conclusive Decisions by idempotency key, so a framework that re-executes a call (a resumed
 * RunState, a LangGraph node re-run) gets the same Decision without a second review, and a call
 * that already ran cannot be authorised again.
 *
 * Bounded with two generations: new entries go to `young`; when it holds `max / 2` it becomes
 * `old` and the previous `old` is dropped. A hit in `old` moves back to `young`. Every operation
 * is O(1) — evicting the first key of one big Map instead makes V8 walk the holes left by earlier
 * deletes, which showed up as a third of the gate's time under churn.
 */
export function decisionCache(max: number) {
  const half = Math.max(1, Math.floor(max / 2));
  let young = new Map<string, Entry>();
  let old = new Map<string, Entry>();
  /** Counts writes: a key missed at one count is still absent while the count is unchanged. */
  let writes = 0;
  /** A key not in `young` goes in, aging `young` first when it is full. */
  const addYoung = (key: string, entry: Entry) => {
    writes++;
    if (young.size >= half) {
      old = young;
      young = new Map();
    }
    young.set(key, entry);
  };
  /** Takes the entry for `key` out of `old` (a hit there moves back to young). */
  const takeOld = (key: string): Entry | undefined => {
    if (old.size === 0) return undefined;
    const aged = old.get(key);
    if (aged !== undefined) {
      writes++;
      old.delete(key);
    }
    return aged;
  };
  const get = (key: string): Entry | undefined => {
    const hit = young.get(key);
    if (hit !== undefined) return hit;
    const aged = takeOld(key);
    if (aged !== undefined) addYoung(key, aged);
    return aged;
  };
  // Each write is a new Entry (never changed in place: a caller may hold the previous one across
  // an await), and a key seen nowhere costs two Map lookups and one insert (it was seven calls).
  return {
    get,
    /** A mark to pass to `set` after a `get` that missed: `set` then skips its own lookups if nothing was written since. */
    mark: (): number => writes,
    set(key: string, decision: Decision, missedAt?: number) {
      if (missedAt === writes) {
        addYoung(key, { decision, executed: false });
        return;
      }
      const hit = young.get(key);
      writes++;
      if (hit !== undefined) young.set(key, { decision, executed: hit.executed });
      else addYoung(key, { decision, executed: takeOld(key)?.executed ?? false });
    },
    /**
     * Marks `key` executed (keeping the Decision already held for it, else `decision`) and returns
     * the entry as it was before, like a `get` then the mark. An entry already marked executed is
     * left as it is (the write would store the same contents).
     */
    markExecuted(key: string, decision: Decision): Entry | undefined {
      const hit = young.get(key);
      if (hit !== undefined) {
        if (!hit.executed) {
          writes++;
          young.set(key, { decision: hit.decision, executed: true });
        }
        return hit;
      }
      const aged = takeOld(key);
      addYoung(key, { decision: aged?.decision ?? decision, executed: true });
      return aged;
    },
    /**
     * The claim of one execution in this process: true when `key` already ran for this digest
     * (nothing is written); otherwise marks it executed as `markExecuted` does. One lookup on the
     * common path (a key reviewed a moment ago, still in `young`).
     */
    claim(key: string, decision: Decision): boolean {
      const hit = young.get(key);
      if (hit !== undefined) {
        if (hit.executed) {
          if (hit.decision.digest === decision.digest) return true;
          return false;
        }
        writes++;
        young.set(key, { decision: hit.decision, executed: true });
        return false;
      }
      const aged = takeOld(key);
      if (aged !== undefined && aged.executed && aged.decision.digest === decision.digest) {
        addYoung(key, aged);
        return true;
      }
      addYoung(key, { decision: aged?.decision ?? decision, executed: true });
      return false;
    },
  };
}
