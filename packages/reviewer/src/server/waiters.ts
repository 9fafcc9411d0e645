/**
 * Long-poll waiters keyed by review id. `wait` resolves `true` the moment `wake(id)` is called
 * (a decision landed), `false` when `ms` pass or the signal aborts. No polling interval anywhere.
 */
export interface Waiters {
  wait(id: string, ms: number, signal?: AbortSignal): Promise<boolean>;
  wake(id: string): void;
  wakeAll(): void;
  /** The review ids someone is waiting on. */
  ids(): string[];
  readonly size: number;
}

export function createWaiters(): Waiters {
  const map = new Map<string, Set<(woken: boolean) => void>>();
  let count = 0;
  return {
    get size() {
      return count;
    },
    wait(id, ms, signal) {
      if (ms <= 0 || signal?.aborted) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        let set = map.get(id);
        if (!set) map.set(id, (set = new Set()));
        const done = (woken: boolean) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          if (set.delete(done)) count--;
          if (set.size === 0 && map.get(id) === set) map.delete(id);
          resolve(woken);
        };
        const onAbort = () => done(false);
        const timer = setTimeout(done, ms, false);
        signal?.addEventListener('abort', onAbort, { once: true });
        set.add(done);
        count++;
      });
    },
    wake(id) {
      const set = map.get(id);
      if (!set) return;
      for (const fn of [...set]) fn(true);
    },
    ids() {
      return [...map.keys()];
    },
    wakeAll() {
      for (const set of [...map.values()]) for (const fn of [...set]) fn(true);
    },
  };
}
