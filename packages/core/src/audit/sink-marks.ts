import type { AuditSink } from '../types';

/**
 * Marks a sink whose `append` seals the entry (a redacted copy, serialised) before it returns and
 * keeps nothing of the entry object itself (the memory and JSONL sinks). A gate hands such sinks
 * its live Decision instead of copying it first: the copy would be copied again at once.
 * @internal
 */
export const SEALS_ON_APPEND: unique symbol = Symbol('toolgate.audit.sealsOnAppend');

/**
 * Marks `sink` — this very object with this `append` — as sealing on append. The mark holds the
 * append it was given (not enumerable), so a sink spread from it or inheriting from it with its own
 * `append` (which may change or keep the entry) is not taken for a sealing sink.
 * @internal
 */
export function markSealing<S extends AuditSink>(sink: S): S {
  Object.defineProperty(sink, SEALS_ON_APPEND, { value: sink.append });
  return sink;
}

/** @internal */
export function sealsOnAppend(sink: AuditSink): boolean {
  const marked = (sink as { [SEALS_ON_APPEND]?: unknown })[SEALS_ON_APPEND];
  return marked !== undefined && marked === sink.append;
}
