import type { FastifyInstance } from 'fastify';
import type { KeyInfo } from '../auth/api-keys';
import type { ServerMetrics } from '../server/metrics';
import type { ReviewService } from '../server/review-service';
import type { AuditTrail } from '../store/audit-trail';
import type { Store } from '../store/open-store';

/** What the dashboard gets from the server. Everything it needs goes through `service`. */
export interface DashboardDeps {
  /** Reviews: `list({ status, tool, limit, before })`, `view(id)`, `decide(id, { verdict, reason }, actor)`, and `events` ('review.created' | 'review.decided' | 'review.outcome', each with a ReviewView). */
  service: ReviewService;
  /** Checks a presented API key (plaintext) and returns who it is, or null. */
  authenticate(key: string): KeyInfo | null;
  /** `{ ok, table, mirror }` — the audit chain status. */
  verifyAudit(): Promise<{ ok: boolean }>;
  audit: AuditTrail;
  store: Store;
  metrics: ServerMetrics;
  dataDir: string;
}

/** A dashboard plugin: registers its routes (and hooks, cookies…) on an encapsulated Fastify scope. */
export type DashboardRegistrar = (app: FastifyInstance, deps: DashboardDeps) => void | Promise<void>;

/**
 * The default dashboard mounted at `/`. Placeholder until the dashboard lands: it answers `/` with
 * a short page pointing at the API. Replace this function's body (same signature).
 */
export const registerDashboard: DashboardRegistrar = (app) => {
  app.get('/', async (_request, reply) => {
    return reply
      .type('text/html; charset=utf-8')
      .send('<!doctype html><title>toolgate reviewer</title><h1>toolgate reviewer</h1><p>API: <a href="/openapi.json">/openapi.json</a> · <a href="/healthz">/healthz</a> · <a href="/metrics">/metrics</a></p>');
  });
};
