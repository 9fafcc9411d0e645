import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The Prometheus metrics of one review server (own registry, so several servers can share a process). */
export interface ServerMetrics {
  registry: Registry;
  /** Decided reviews by verdict and source (`policy`, `human`, `expiry`). */
  reviews: Counter<'verdict' | 'source'>;
  /** Human approval requests by status: `requested`, `approved`, `denied`, `expired`, `self_approval_refused`. */
  approvals: Counter<'status'>;
  /** Reviews waiting for a human right now. */
  pending: Gauge;
  /** Server-side handling time per route. */
  requestDuration: Histogram<'route' | 'method' | 'status'>;
  /** Time from a review being submitted to its decision, by source. */
  decisionLatency: Histogram<'source'>;
  /** Policy rules that produced a deny, by rule. */
  policyViolations: Counter<'rule'>;
  /** Webhook delivery attempts by result. */
  webhookDeliveries: Counter<'result'>;
}

/** Creates the metrics on a fresh registry (with Node's default process metrics, prefixed `toolgate_`). */
export function createMetrics(options: { defaultMetrics?: boolean; pendingCount?: () => number | Promise<number> } = {}): ServerMetrics {
  const pendingCount = options.pendingCount;
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'toolgate_' });
  const registers = [registry];
  return {
    registry,
    reviews: new Counter({ name: 'toolgate_reviews_total', help: 'Decided reviews by verdict and source', labelNames: ['verdict', 'source'], registers }),
    approvals: new Counter({ name: 'toolgate_approval_requests_total', help: 'Human approval requests by status', labelNames: ['status'], registers }),
    pending: new Gauge({
      name: 'toolgate_pending_reviews',
      help: 'Reviews waiting for a human',
      registers,
      ...(pendingCount
        ? {
            collect() {
              // SQLite answers synchronously (no extra tick); PostgreSQL with a query.
              const n = pendingCount();
              if (typeof n === 'number') this.set(n);
              else return n.then((v) => this.set(v));
            },
          }
        : {}),
    }),
    requestDuration: new Histogram({
      name: 'toolgate_http_request_duration_seconds',
      help: 'Server-side request handling time',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 60],
      registers,
    }),
    decisionLatency: new Histogram({
      name: 'toolgate_decision_latency_seconds',
      help: 'Time from submission to decision',
      labelNames: ['source'],
      buckets: [0.001, 0.005, 0.025, 0.1, 1, 10, 60, 300, 900, 3600],
      registers,
    }),
    policyViolations: new Counter({ name: 'toolgate_policy_violations_total', help: 'Denies by policy rule', labelNames: ['rule'], registers }),
    webhookDeliveries: new Counter({ name: 'toolgate_webhook_deliveries_total', help: 'Webhook delivery attempts by result', labelNames: ['result'], registers }),
  };
}
