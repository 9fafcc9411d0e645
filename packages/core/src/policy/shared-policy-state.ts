import { evaluatePolicy, type EvaluatePolicyOptions, type PolicyInput, type PolicyResult } from './evaluate-policy';
import type { CompiledPolicy } from './compile-policy';
import type { PolicyStateStore } from './memory-policy-state';

/** One counter an evaluation reads: `count` or `sum` of the entries under `key` with `atMs > sinceMs`. */
export interface PolicyCounterRead {
  kind: 'count' | 'sum';
  key: string;
  sinceMs: number;
}

/** One entry an evaluation records (what `PolicyStateStore.add` receives). */
export interface PolicyCounterWrite {
  key: string;
  atMs: number;
  amount: number;
  windowMs: number;
}

/**
 * Counters shared by several processes (e.g. review server replicas on one database), where a
 * read can only be asynchronous. One evaluation's counter step is one `transact`: the store reads
 * `reads`, calls `decide` with their values (synchronously, in the same order), and records the
 * writes it returns — atomically: no other `transact` touching any of these keys, in any process,
 * reads between this one's reads and its writes (e.g. a database transaction holding a lock per
 * key, taken in one global order). It rejects when it cannot do that; the caller then fails closed.
 */
export interface SharedPolicyState {
  transact<T>(reads: readonly PolicyCounterRead[], decide: (values: readonly number[]) => { writes: readonly PolicyCounterWrite[]; result: T }): Promise<T>;
}

/** True for a `SharedPolicyState` (it has `transact`), false for a synchronous `PolicyStateStore`. */
export function isSharedPolicyState(state: PolicyStateStore | SharedPolicyState | undefined): state is SharedPolicyState {
  return state !== undefined && typeof (state as Partial<SharedPolicyState>).transact === 'function';
}

export interface EvaluatePolicySharedOptions extends Omit<EvaluatePolicyOptions, 'state'> {
  state: SharedPolicyState;
}

/**
 * `evaluatePolicy` against shared counters, with exactly its semantics: the same rules count, the
 * same entries are recorded (`repeat` always, `limit`/`budget` only when the verdict lets the call
 * run, nothing on `dryRun`), read over the same windows and keys.
 *
 * Which counters an evaluation reads never depends on their values (it depends on the rules that
 * match on tool, agent, conditions and schedule, on `now` and on the budget's amount), so a first
 * pass against a state that answers 0 lists them; when there are none (no stateful rule applies)
 * its result is the answer, without touching the store. Otherwise the store reads them in one
 * atomic step and the same synchronous evaluation runs on those values, its writes recorded in
 * the same step: across processes the counters behave as one process evaluating calls one after
 * another. The synchronous `evaluatePolicy` path is unchanged.
 *
 * @example
 * const result = await evaluatePolicyShared(compiled, { tool, args, digest, principal }, { state: postgresPolicyState(store) });
 */
export async function evaluatePolicyShared(compiled: CompiledPolicy, input: PolicyInput, options: EvaluatePolicySharedOptions): Promise<PolicyResult> {
  const { state, ...rest } = options;
  const now = options.now ?? Date.now();
  const reads: PolicyCounterRead[] = [];
  const probe: PolicyStateStore = {
    count(key, sinceMs) {
      reads.push({ kind: 'count', key, sinceMs });
      return 0;
    },
    sum(key, sinceMs) {
      reads.push({ kind: 'sum', key, sinceMs });
      return 0;
    },
    add() {},
  };
  const first = evaluatePolicy(compiled, input, { ...rest, now, dryRun: true, state: probe });
  if (reads.length === 0) return first;
  return state.transact(reads, (values) => {
    const writes: PolicyCounterWrite[] = [];
    let next = 0;
    const answer = (kind: 'count' | 'sum', key: string, sinceMs: number): number => {
      const r = reads[next];
      // Cannot happen (the reads are a function of the input): refuse rather than guess.
      if (r === undefined || r.kind !== kind || r.key !== key || r.sinceMs !== sinceMs) {
        throw new Error(`policy counters were read differently on the second pass (${kind} ${key}): the call is refused; report this as a bug`);
      }
      return values[next++] as number;
    };
    const snapshot: PolicyStateStore = {
      count: (key, sinceMs) => answer('count', key, sinceMs),
      sum: (key, sinceMs) => answer('sum', key, sinceMs),
      add(key, atMs, amount, windowMs) {
        writes.push({ key, atMs, amount, windowMs });
      },
    };
    const result = evaluatePolicy(compiled, input, { ...rest, now, state: snapshot });
    return { writes, result };
  });
}
