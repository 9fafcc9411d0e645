import type { Decision } from '../types';

interface Entry {
  decision: Decision;
  executed: boolean;
}

/**
 * Conclusive Decisions by idempotency key, so a framework that re-executes a call (a resumed
 * RunState, a LangGraph node re-run) gets the same Decision without a second review, and a call
 * that already ran cannot be authorised again. Bounded: the oldest entries go first.
 */
export function decisionCache(max: number) {
  const map = new Map<string, Entry>();
  const put = (key: string, entry: Entry) => {
    map.delete(key);
    map.set(key, entry);
    if (map.size > max) map.delete(map.keys().next().value as string);
  };
  return {
    get: (key: string): Entry | undefined => map.get(key),
    set(key: string, decision: Decision) {
      put(key, { decision, executed: map.get(key)?.executed ?? false });
    },
    markExecuted(key: string, decision: Decision) {
      put(key, { decision: map.get(key)?.decision ?? decision, executed: true });
    },
  };
}
