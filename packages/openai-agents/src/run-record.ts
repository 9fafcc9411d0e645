import type { Decision } from '@toolgate/core';
import type { Governor } from './governor';

/**
 * What toolgate keeps per SDK RunContext, in ONE WeakMap entry per run: the governors of the run
 * that first saw it (so an in-process resume or a streamed run stays governed), the name of the
 * agent running (`agent_start`), and the run's Decisions by call id (`getDecisions`). One entry
 * instead of one per concern: each new RunContext used to cost three WeakMap insertions.
 */
export interface RunRecord {
  governors?: readonly Governor[];
  agent?: string;
  decisions?: Map<string, Decision>;
}

const records = new WeakMap<object, RunRecord>();

/** The record of `ctx`, made on first use. */
export function recordOf(ctx: object): RunRecord {
  let r = records.get(ctx);
  if (!r) records.set(ctx, (r = {}));
  return r;
}

/** The record of `ctx` if it has one. */
export function peekRecord(ctx: object): RunRecord | undefined {
  return records.get(ctx);
}
