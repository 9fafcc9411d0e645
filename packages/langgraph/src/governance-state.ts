import { Annotation, ReducedValue, StateSchema } from '@langchain/langgraph';
import type { Decision } from '@toolgate/core';
import { z } from 'zod/v4';

/** The state key under which toolgate keeps its Decisions. */
export const DECISIONS_KEY = 'toolgateDecisions';

/** Decisions by `tool_call_id`: the latest Decision for each reviewed tool call. */
export type DecisionMap = Record<string, Decision>;

/** The slice of graph state toolgate reads and writes. */
export interface GovernanceStateValue {
  toolgateDecisions: DecisionMap;
}

/** Merge reducer: a later Decision for the same `tool_call_id` replaces the earlier one. */
export function mergeDecisions(current: DecisionMap | undefined, update: DecisionMap | undefined): DecisionMap {
  if (!update || Object.keys(update).length === 0) return current ?? {};
  return { ...(current ?? {}), ...update };
}

/**
 * The Decisions channel as a (legacy-style) `Annotation`. Spread its `spec` into your own root:
 *
 * @example
 * const State = Annotation.Root({ ...MessagesAnnotation.spec, ...GovernanceAnnotation.spec });
 */
export const GovernanceAnnotation = Annotation.Root({
  toolgateDecisions: Annotation<DecisionMap>({ reducer: mergeDecisions, default: () => ({}) }),
});

/**
 * The Decisions map as a zod schema (LangGraph and langchain build JSON Schema and defaults from
 * it). Decisions are checked loosely: they come from the gate, not from user input.
 */
const decisionMapSchema = z
  .record(z.string(), z.looseObject({ verdict: z.string(), source: z.string(), tool: z.string() }))
  .default(() => ({})) as unknown as z.ZodType<DecisionMap, DecisionMap>;

/**
 * The Decisions channel as a `StateSchema` (the form LangGraph 1.x recommends). Spread its
 * `fields` into your own schema:
 *
 * @example
 * const State = new StateSchema({ messages: MessagesValue, ...GovernanceState.fields });
 */
export const GovernanceState = new StateSchema({
  toolgateDecisions: new ReducedValue<DecisionMap, DecisionMap>(decisionMapSchema, { reducer: mergeDecisions }),
});
