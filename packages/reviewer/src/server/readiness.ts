import type { Store } from '../store/open-store';

export interface ReadinessCheck {
  ok: boolean;
  /** Why not, when `ok` is false. */
  reason?: string;
}

/** The body of `GET /readyz`: 200 when `ready`, else 503 with the failing check's reason. */
export interface Readiness {
  ready: boolean;
  /** The failing checks' reasons, joined (absent when ready). */
  reason?: string;
  checks: { database: ReadinessCheck; signingKey: ReadinessCheck };
}

/**
 * Ready means: the database answers a query that reads the file (its schema), and the Ed25519
 * signing key is loaded (without it no allow can carry a proof). Liveness (`/healthz`) is separate.
 */
export function checkReadiness(store: Store, signingKeyLoaded: boolean): Readiness {
  let database: ReadinessCheck;
  try {
    store.db.prepare('SELECT count(*) AS n FROM sqlite_schema').get();
    database = { ok: true };
  } catch (error) {
    database = { ok: false, reason: `the database does not answer: ${(error as Error)?.message ?? String(error)}` };
  }
  const signingKey: ReadinessCheck = signingKeyLoaded ? { ok: true } : { ok: false, reason: 'the signing key is not loaded (the server is starting, or loading it failed)' };
  const failing = [database, signingKey].filter((c) => !c.ok).map((c) => c.reason);
  return { ready: failing.length === 0, ...(failing.length ? { reason: failing.join('; ') } : {}), checks: { database, signingKey } };
}
