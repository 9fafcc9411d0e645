import { RunContext } from '@openai/agents';
import type { Decision } from '@toolgate/core';
import { peekRecord, recordOf } from './run-record';

// Kept in the run's record, keyed by the SDK's RunContext: the object `result.runContext` and `state._context` return.

/** Attaches a Decision to a run's RunContext (internal). */
export function recordDecision(runContext: object, decision: Decision): void {
  if (!decision.callId) return;
  (recordOf(runContext).decisions ??= new Map()).set(decision.callId, decision);
}

/** Anything that leads to a run's RunContext: a RunResult / StreamedRunResult, a RunState, or the RunContext. */
export type DecisionSource = RunContext<unknown> | { runContext: RunContext<unknown> } | { _context: RunContext<unknown> } | { state: { _context: RunContext<unknown> } };

/**
 * The toolgate Decisions of one run, keyed by the tool call id (`callId`), latest first answer
 * wins: a call sent for review shows its `review` Decision until a human answers, then the
 * human's (`source: 'human'`). Calls of `asTool()` sub-agents that ran in a child context are
 * in `GovernanceHooks.decisions`.
 *
 * @example
 * const result = await runner.run(agent, 'send 500');
 * const d = getDecisions(result).get('call_1'); // { verdict, source, reviewId, proof, … }
 */
export function getDecisions(from: DecisionSource): ReadonlyMap<string, Decision> {
  const ctx = contextOf(from);
  return new Map(ctx ? peekRecord(ctx)?.decisions ?? [] : []);
}

function contextOf(from: DecisionSource): object | undefined {
  if (from instanceof RunContext) return from;
  const f = from as { runContext?: object; _context?: object; state?: { _context?: object } };
  return f.runContext ?? f._context ?? f.state?._context;
}
