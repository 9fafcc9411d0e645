import type { Decision, ToolCall } from '../types';

// @opentelemetry/api is an optional peer: loaded once if installed, otherwise spans are skipped.
type OtelApi = typeof import('@opentelemetry/api');
let api: OtelApi | null | undefined;
let loading: Promise<void> | undefined;

/** Starts loading @opentelemetry/api (once). Spans begin as soon as it is there. */
export function loadTelemetry(): Promise<void> {
  loading ??= import('@opentelemetry/api').then(
    (m) => {
      api = m;
    },
    () => {
      api = null;
    },
  );
  return loading;
}

export interface GateSpan {
  end(decision: Decision): Decision;
  fail(error: unknown): void;
}

/** A `toolgate.review` span with the gen_ai.tool.* and toolgate.* attributes, or undefined. */
export function startSpan(call: ToolCall): GateSpan | undefined {
  if (api === undefined) void loadTelemetry();
  if (!api) return undefined;
  const otel = api;
  const span = otel.trace.getTracer('@toolgate/core').startSpan(`toolgate.review ${call.tool}`, {
    attributes: {
      'gen_ai.tool.name': call.tool,
      ...(call.callId ? { 'gen_ai.tool.call.id': call.callId } : {}),
    },
  });
  return {
    end(decision) {
      span.setAttributes({
        'toolgate.verdict': decision.verdict,
        'toolgate.source': decision.source,
        ...(decision.reviewId ? { 'toolgate.review_id': decision.reviewId } : {}),
        ...(decision.error ? { 'toolgate.error': decision.error.code } : {}),
      });
      span.end();
      return decision;
    },
    fail(error) {
      span.recordException(error as Error);
      span.setStatus({ code: otel.SpanStatusCode.ERROR });
      span.end();
    },
  };
}
