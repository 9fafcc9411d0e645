import { AsyncLocalStorage } from 'node:async_hooks';
import type { Governor } from './governor';
import { AlreadyGovernedError } from './errors';
import { peekRecord, recordOf } from './run-record';

/**
 * Which governors (one per gate) decide a call. Nothing gate-specific is stored on SDK objects
 * that outlive a run, so a module-level Agent run by many runners, each with its own gate, is
 * decided by the gate of the runner that runs it — also when the runs are concurrent.
 *
 * - `attach(runner)`: the runner's governors, for the duration of each of its runs (an
 *   AsyncLocalStorage scope: nested runs, e.g. `agent.asTool()` sub-agents, inherit it).
 * - `governAgent` / `governTool`: the object's own governor, in every run (one gate per object).
 */
const scope = new AsyncLocalStorage<readonly Governor[]>();
const byRunner = new WeakMap<object, Governor[]>();
const byObject = new WeakMap<object, Governor>();
// A RunContext first seen in a scope keeps that scope (its run record's `governors`): an
// in-process resume through `run()` stays governed.

function merge(...lists: Array<ReadonlyArray<Governor | undefined> | undefined>): Governor[] {
  const out: Governor[] = [];
  for (const list of lists) {
    for (const g of list ?? []) if (g && !out.some((o) => o.gate === g.gate)) out.push(g);
  }
  return out;
}

const NONE: readonly Governor[] = Object.freeze([]);

/** The governors deciding a call on `target` (a tool or agent) in the run of `ctx`. */
export function governorsFor(target: object, ctx?: object): readonly Governor[] {
  const scoped = scope.getStore();
  let list = scoped;
  if (ctx) {
    const record = scoped ? recordOf(ctx) : peekRecord(ctx);
    if (scoped) record!.governors ??= scoped;
    else list = record?.governors;
  }
  const own = byObject.get(target);
  // Scoped lists are already one governor per gate (governorsOfRun merged them): the common case
  // (attach(runner), no object governor) allocates nothing per call.
  if (!own) return list ?? NONE;
  return merge([own], list);
}

/** The governors of a `runner.run(agent, …)` about to start: the runner's, the enclosing run's, the agent's own. */
export function governorsOfRun(runner: object, agent: { tools?: readonly object[] }): Governor[] {
  const mine = byRunner.get(runner);
  // attach(runner) alone (no governed agent or tool, no enclosing run): the runner's list, one per gate already.
  if (mine && !byObject.has(agent) && !scope.getStore()?.length && !(agent.tools ?? []).some((t) => byObject.has(t))) return mine.slice();
  return merge([byObject.get(agent)], (agent.tools ?? []).map((t) => byObject.get(t)), byRunner.get(runner), scope.getStore());
}

/** Ties a run's RunContext to its governors (a resumed state, a streamed result): lookups outside the scope still find them. */
export function bindContext(ctx: object | undefined, governors: readonly Governor[]): void {
  if (ctx && typeof ctx === 'object') recordOf(ctx).governors ??= governors;
}

export function runInScope<T>(governors: readonly Governor[], fn: () => T): T {
  return scope.run(governors, fn);
}

/** Adds a governor to a runner; false when one of the same gate is already there. */
export function addRunnerGovernor(runner: object, governor: Governor): boolean {
  const list = byRunner.get(runner) ?? [];
  if (list.some((g) => g.gate === governor.gate)) return false;
  list.push(governor);
  byRunner.set(runner, list);
  return true;
}

/** Gives an SDK object its own governor (governAgent / governTool). One gate per object. */
export function setObjectGovernor(target: object, governor: Governor, label: string): void {
  const current = byObject.get(target);
  if (current && current.gate !== governor.gate) throw new AlreadyGovernedError(label);
  if (!current) byObject.set(target, governor);
}

export function objectGovernor(target: object): Governor | undefined {
  return byObject.get(target);
}
