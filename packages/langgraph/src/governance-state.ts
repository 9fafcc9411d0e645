import { Annotation, ReducedValue, StateSchema } from '@langchain/langgraph';
import type { Decision } from '@toolgate/core';

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

const JSON_SCHEMA = {
  type: 'object',
  description: 'toolgate Decisions by tool_call_id',
  additionalProperties: { type: 'object' },
} as const;

/**
 * A Standard Schema (with JSON Schema) for the Decisions map, so the channel needs no zod.
 * `undefined` validates to `{}`, which is how LangGraph finds the channel's default.
 */
const decisionMapSchema = {
  '~standard': {
    version: 1 as const,
    vendor: 'toolgate',
    validate(value: unknown) {
      if (value === undefined) return { value: {} as DecisionMap };
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return { value: value as DecisionMap };
      return { issues: [{ message: 'toolgateDecisions must be an object of Decisions keyed by tool_call_id' }] };
    },
    jsonSchema: {
      input: () => ({ ...JSON_SCHEMA }),
      output: () => ({ ...JSON_SCHEMA }),
    },
    types: undefined as unknown as { input: DecisionMap; output: DecisionMap },
  },
};

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
