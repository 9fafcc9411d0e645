import { INTERRUPT } from '@langchain/langgraph';
import { REVIEW_INTERRUPT_KIND, type HumanReviewInterrupt, type ReviewRequestItem } from './human-gate-node';

/**
 * The calls waiting for a human, read from what a paused run returned: the result of
 * `graph.invoke()` / `agent.invoke()` (its `__interrupt__`), an `updates` stream chunk, or a
 * `StateSnapshot` from `getState()` (its `tasks[].interrupts`). Other interrupts are ignored.
 *
 * @example
 * const result = await graph.invoke(input, config);
 * for (const r of pendingReviews(result)) console.log(r.tool, r.args, r.reason);
 */
export function pendingReviews(paused: unknown): ReviewRequestItem[] {
  const interrupts: unknown[] = [];
  const record = paused as Record<string, unknown> | null | undefined;
  const top = record?.[INTERRUPT];
  if (Array.isArray(top)) interrupts.push(...top);
  const tasks = record?.tasks;
  if (Array.isArray(tasks)) {
    for (const t of tasks) {
      const list = (t as { interrupts?: unknown } | null)?.interrupts;
      if (Array.isArray(list)) interrupts.push(...list);
    }
  }
  const out: ReviewRequestItem[] = [];
  const seen = new Set<string>();
  for (const i of interrupts) {
    const value = (i as { value?: unknown } | null)?.value as Partial<HumanReviewInterrupt> | undefined;
    if (value?.kind !== REVIEW_INTERRUPT_KIND || !Array.isArray(value.requests)) continue;
    for (const r of value.requests) {
      if (seen.has(r.tool_call_id)) continue;
      seen.add(r.tool_call_id);
      out.push(r);
    }
  }
  return out;
}
