import type { ReviewStore } from '../store/review-store';

export interface ReadinessCheck {
  ok: boolean;
  /** Why not, when `ok` is false. */
  reason?: string;
  /** Which database (the database check only). Never its URL. */
  engine?: 'sqlite' | 'postgres';
}

/** The body of `GET /readyz`: 200 when `ready`, else 503 with the failing check's reason. */
export interface Readiness {
  ready: boolean;
  /** The failing checks' reasons, joined (absent when ready). */
  reason?: string;
  checks: { database: ReadinessCheck; signingKey: ReadinessCheck };
}

/**
 * Ready means: the database answers a query (SQLite: one that reads the file's schema; PostgreSQL:
 * a round trip through the pool), and the Ed25519 signing key is loaded (without it no allow can
 * carry a proof). Liveness (`/healthz`) is separate.
 */
export async function checkReadiness(store: Pick<ReviewStore, 'kind' | 'ping'>, signingKeyLoaded: boolean): Promise<Readiness> {
  let database: ReadinessCheck;
  try {
    await store.ping();
    database = { ok: true, engine: store.kind };
  } catch (error) {
    database = { ok: false, engine: store.kind, reason: `the database does not answer: ${(error as Error)?.message ?? String(error)}` };
  }
  const signingKey: ReadinessCheck = signingKeyLoaded ? { ok: true } : { ok: false, reason: 'the signing key is not loaded (the server is starting, or loading it failed)' };
  const failing = [database, signingKey].filter((c) => !c.ok).map((c) => c.reason);
  return { ready: failing.length === 0, ...(failing.length ? { reason: failing.join('; ') } : {}), checks: { database, signingKey } };
}
