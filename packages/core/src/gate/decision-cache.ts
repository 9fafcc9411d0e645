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
  const put = (key: string, entry: Entry) => {
    if (!young.has(key) && young.size >= half) {
      old = young;
      young = new Map();
    }
    young.set(key, entry);
    old.delete(key);
  };
  const get = (key: string): Entry | undefined => {
    const hit = young.get(key);
    if (hit) return hit;
    const aged = old.get(key);
    if (aged) put(key, aged);
    return aged;
  };
  return {
    get,
    set(key: string, decision: Decision) {
      put(key, { decision, executed: get(key)?.executed ?? false });
    },
    markExecuted(key: string, decision: Decision) {
      put(key, { decision: get(key)?.decision ?? decision, executed: true });
    },
  };
}
