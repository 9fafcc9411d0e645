import { INTERRUPT } from '@langchain/langgraph';
import { OptionsError } from '@toolgate/core';
import type { HitlDecision, HitlResponse } from './hitl';
import { REVIEW_INTERRUPT_KIND, type HumanReviewInterrupt, type ReviewRequestItem } from './human-gate-node';

/** toolgate's pending interrupts (value and id) in a paused result, an `updates` chunk or a `StateSnapshot`. */
function reviewInterrupts(paused: unknown): Array<{ id: string | undefined; value: HumanReviewInterrupt }> {
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
  const out: Array<{ id: string | undefined; value: HumanReviewInterrupt }> = [];
  const seen = new Set<string>();
  for (const i of interrupts) {
    const value = (i as { value?: unknown } | null)?.value as Partial<HumanReviewInterrupt> | undefined;
    if (value?.kind !== REVIEW_INTERRUPT_KIND || !Array.isArray(value.requests)) continue;
    const id = (i as { id?: unknown }).id;
    // The same interrupt can appear both at the top level and in a task: count it once.
    const key = typeof id === 'string' ? id : value.requests.map((r) => r.tool_call_id).join('\u0000');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ id: typeof id === 'string' ? id : undefined, value: value as HumanReviewInterrupt });
  }
  return out;
}

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
  const out: ReviewRequestItem[] = [];
  const seen = new Set<string>();
  for (const { value } of reviewInterrupts(paused)) {
    for (const r of value.requests) {
      if (seen.has(r.tool_call_id)) continue;
      seen.add(r.tool_call_id);
      out.push(r);
    }
  }
  return out;
}

/**
 * The resume value for LangChain HITL decisions given in the order of `pendingReviews(paused)`
 * (one per waiting call): a `HITLResponse` per toolgate interrupt, addressed by interrupt id, so
 * each decision reaches exactly the call it was made for and no other interrupt pending in the
 * same graph. toolgate raises one interrupt per model turn (StateGraph and `createAgent`
 * middleware alike), so a plain `{ decisions }` is exact too; this helper also checks the count
 * first and binds each decision to the `digest` of the request it answers (a call changed while
 * paused, e.g. by `graph.updateState`, is then rejected instead of approved). Throws an `OptionsError` (nothing is resumed) when the count does not match.
 *
 * @example
 * const paused = await agent.invoke(input, config);
 * const decisions = pendingReviews(paused).map((r) => (r.args.amount > 10_000 ? { type: 'reject', message: 'too much' } : { type: 'approve' }));
 * await agent.invoke(new Command({ resume: hitlResume(paused, decisions) }), config);
 */
export function hitlResume(paused: unknown, decisions: readonly HitlDecision[]): Record<string, HitlResponse> | HitlResponse {
  const found = reviewInterrupts(paused);
  const total = found.reduce((n, i) => n + i.value.requests.length, 0);
  if (!Array.isArray(decisions) || decisions.length !== total) {
    throw new OptionsError(`hitlResume: ${Array.isArray(decisions) ? decisions.length : 'no'} decision(s) for ${total} waiting call(s); give one per pendingReviews() entry, in that order`);
  }
  // Each decision carries the digest of the request it answers (toolgate's extension, as `approver`):
  // if the call was changed before the resume arrives, that decision is a rejection.
  const bound = (value: HumanReviewInterrupt, from: number): HitlDecision[] =>
    value.requests.map((r, i) => ({ ...decisions[from + i], digest: r.digest }) as HitlDecision);
  if (found.length === 1 && found[0]!.id === undefined) return { decisions: bound(found[0]!.value, 0) };
  const out: Record<string, HitlResponse> = {};
  let at = 0;
  for (const { id, value } of found) {
    if (id === undefined) throw new OptionsError('hitlResume: a toolgate interrupt has no id, so it cannot be addressed; resume with { [tool_call_id]: … } instead');
    out[id] = { decisions: bound(value, at) };
    at += value.requests.length;
  }
  return out;
}
