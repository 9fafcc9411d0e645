import type { Decision } from '@toolgate/core';

/**
 * What a governed tool returns instead of running when its call is denied (onDeny 'return').
 * The wrapped `toModelOutput` turns it into `{ type: 'execution-denied', reason }` for the model,
 * so `result.toolResults[i].output` holds it: check with `isGovernanceDenial(output)`.
 * A string marker (not a Symbol) so it survives JSON round trips through UI messages.
 */
export interface GovernanceDenial {
  __toolgate: 'denied';
  /** The text the model sees: `denialText(decision)`. */
  reason: string;
  decision: Decision;
}

/** True when a tool output is toolgate's denial instead of the tool's own result. */
export function isGovernanceDenial(output: unknown): output is GovernanceDenial {
  return (
    typeof output === 'object' &&
    output !== null &&
    (output as { __toolgate?: unknown }).__toolgate === 'denied' &&
    typeof (output as { reason?: unknown }).reason === 'string'
  );
}

export function governanceDenial(decision: Decision, reason: string): GovernanceDenial {
  return { __toolgate: 'denied', reason, decision };
}

/** The model output the SDK produces itself when a tool has no `toModelOutput` (v6 and v7). */
export function defaultModelOutput(output: unknown): { type: 'text'; value: string } | { type: 'json'; value: unknown } {
  if (typeof output === 'string') return { type: 'text', value: output };
  return { type: 'json', value: output === undefined ? null : JSON.parse(JSON.stringify(output)) };
}
