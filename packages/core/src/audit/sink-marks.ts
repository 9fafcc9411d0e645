import type { AuditSink } from '../types';

/**
 * Marks a sink whose `append` seals the entry (a redacted copy, serialised) before it returns and
 * keeps nothing of the entry object itself (the memory and JSONL sinks). A gate hands such sinks
 * its live Decision instead of copying it first: the copy would be copied again at once.
 * @internal
 */
export const SEALS_ON_APPEND: unique symbol = Symbol('toolgate.audit.sealsOnAppend');

/** @internal */
export function sealsOnAppend(sink: AuditSink): boolean {
  return (sink as { [SEALS_ON_APPEND]?: unknown })[SEALS_ON_APPEND] === true;
}
