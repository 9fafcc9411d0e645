import type { Decision } from '@toolgate/core';
import { denialText } from '@toolgate/core';

/** The `_meta` key under which toolgate reports its Decision on a tool result. */
export const DECISION_META_KEY = 'toolgate/decision';

/** What a tool result's `_meta['toolgate/decision']` holds: the Decision without arguments. */
export interface DecisionMeta {
  verdict: Decision['verdict'];
  source: Decision['source'];
  reason: string;
  conditions: string[];
  reviewId?: string;
  auditId?: string;
  digest: string;
  proof?: string;
  errorCode?: string;
}

export function decisionMeta(decision: Decision): DecisionMeta {
  return {
    verdict: decision.verdict,
    source: decision.source,
    reason: decision.reason,
    conditions: [...decision.conditions],
    ...(decision.reviewId ? { reviewId: decision.reviewId } : {}),
    ...(decision.auditId ? { auditId: decision.auditId } : {}),
    digest: decision.digest,
    ...(decision.proof ? { proof: decision.proof } : {}),
    ...(decision.error ? { errorCode: decision.error.code } : {}),
  };
}

/** An MCP `tools/call` result. */
export interface ToolCallResult {
  content: Array<{ type: 'text'; text: string } | Record<string, unknown>>;
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * The tool result an MCP client gets for a call the gate stopped: `isError: true` (a tool error the
 * model reads, as the MCP spec wants for tool failures), the reason and review id as text, and the
 * Decision in `_meta['toolgate/decision']`. The upstream server never saw the call.
 */
export function deniedToolResult(decision: Decision, note = ''): ToolCallResult {
  return {
    content: [{ type: 'text', text: denialText(decision) + note }],
    isError: true,
    _meta: { [DECISION_META_KEY]: decisionMeta(decision) },
  };
}

/** Adds the Decision (its conditions above all) to an allowed call's result `_meta`. */
export function withDecisionMeta<T>(result: T, decision: Decision): T {
  if (typeof result !== 'object' || result === null || decision.source === 'not_high_stakes') return result;
  const r = result as { _meta?: unknown };
  const meta = typeof r._meta === 'object' && r._meta !== null ? (r._meta as Record<string, unknown>) : {};
  return { ...result, _meta: { ...meta, [DECISION_META_KEY]: decisionMeta(decision) } };
}
