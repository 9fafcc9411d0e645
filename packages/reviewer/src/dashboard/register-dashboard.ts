import { createHash } from 'node:crypto';
import { fastifyCookie } from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DecisionRequestSchema, type AuditVerifyResult } from '@toolgate/core';
import { hashApiKey, hasScope, isScope, type KeyInfo } from '../auth/api-keys';
import { ReviewServerError, ServerErrorCodes } from '../errors';
import type { ServerMetrics } from '../server/metrics';
import { assertStorableJson } from '../server/request-guard';
import { visibleValue } from '../server/visible-text';
import type { HumanDecisionInput, ReviewService } from '../server/review-service';
import type { AuditTrail } from '../store/audit-trail';
import type { ApiKeyRow, Store } from '../store/open-store';
import { DASHBOARD_CSS } from './assets/dashboard-css';
import { DASHBOARD_JS } from './assets/dashboard-js';
import { createLoginTokens, crossOriginReason, isHttps, sameToken } from './csrf';
import { createEventHub } from './event-stream';
import { createLoginLimiter, loginKeyPrefix } from './login-limiter';
import { isHistoryCursor, queryHistory } from './query-history';
import { appPage, ASSET_PATHS, errorPage, loginPage } from './render-pages';
import { createSessionStore, type DashboardSession } from './session-store';

/** What the dashboard gets from the server. Everything it needs goes through `service`. */
/** The only dashboard POSTs that are HTML forms (they carry their CSRF token in a field). */
const FORM_ROUTES: ReadonlySet<string> = new Set(['/dashboard/login', '/dashboard/logout']);

export interface DashboardDeps {
  /** Reviews: `list({ status, tool, limit, before })`, `view(id)`, `decide(id, { verdict, reason, args }, actor)`, and `events` ('review.created' | 'review.approved' | 'review.decided' | 'review.outcome', each with a ReviewView). */
  service: ReviewService;
  /** Checks a presented API key (plaintext) and returns who it is, or null. */
  authenticate(key: string): KeyInfo | null | Promise<KeyInfo | null>;
  /** The stored key with this SHA-256 (sessions re-check their key on every request). Synchronous on SQLite. */
  keyByHash(hash: string): ApiKeyRow | undefined | Promise<ApiKeyRow | undefined>;
  /** `{ ok, table, mirror }` — the audit chain status. */
  verifyAudit(): Promise<{ ok: boolean; table?: AuditVerifyResult; mirror?: AuditVerifyResult; mismatch?: string }>;
  /** The SQLite audit trail (absent on PostgreSQL). */
  audit?: AuditTrail;
  /** The SQLite store (absent on PostgreSQL). */
  store?: Store;
  metrics: ServerMetrics;
  dataDir: string;
}

/** A dashboard plugin: registers its routes (and hooks, cookies…) on an encapsulated Fastify scope. */
export type DashboardRegistrar = (app: FastifyInstance, deps: DashboardDeps) => void | Promise<void>;

/** Options of the built-in dashboard. */
export interface DashboardOptions {
  /** A session unused this long signs out. Default 30 minutes. */
  sessionIdleMs?: number;
  /** A session ends this long after sign-in. Default 12 hours. */
  sessionMaxMs?: number;
  /**
   * Failed sign-ins allowed per client address per `loginWindowMs` (and per address and key
   * prefix). A key that has signed in before is not locked out by other keys' failures from the
   * same address. Default 10.
   */
  maxLoginFailures?: number;
  /** Default 10 minutes. */
  loginWindowMs?: number;
  /** SSE keep-alive comment interval. Default 15 s. */
  heartbeatMs?: number;
  /**
   * Extra browser origins allowed to POST (e.g. `https://reviews.example.com` when a proxy rewrites
   * the Host header). By default only an Origin whose host is the request's Host is accepted.
   */
  allowedOrigins?: string[];
}

/** Stable codes of the dashboard's own refusals (the rest are the server's `ServerErrorCodes`). */
export const DashboardErrorCodes = {
  CSRF_REJECTED: 'CSRF_REJECTED',
} as const;

export const SESSION_COOKIE = 'toolgate_session';
const LOGIN_COOKIE = 'toolgate_login';
const CSRF_HEADER = 'x-csrf-token';

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const canApprove = (scope: string) => isScope(scope) && hasScope(scope, 'approve');

/**
 * The human-approval dashboard at `/`: sign-in with an approver key (server-side session,
 * HttpOnly SameSite=Strict cookie, CSRF token per session plus an Origin check on every POST),
 * pending reviews live over Server-Sent Events, approve / deny with a reason through
 * `service.decide` (so self-approval refusal and the audit trail apply), decided history with
 * filters, and the audit-chain status. Plain HTML, CSS and JS; no build step.
 *
 * Routes: `GET /`, `POST /dashboard/login`, `POST /dashboard/logout`, `GET /dashboard/events`,
 * `GET /dashboard/api/session`, `GET /dashboard/api/reviews`, `GET /dashboard/api/reviews/:id`,
 * `POST /dashboard/api/reviews/:id/decision`, `GET /dashboard/api/audit`, `GET /dashboard/assets/*`.
 */
export function createDashboard(options: DashboardOptions = {}): DashboardRegistrar {
  return async (app, deps) => {
    const { service } = deps;
    await app.register(fastifyCookie);

    const sessions = createSessionStore({
      ...(options.sessionIdleMs !== undefined ? { idleMs: options.sessionIdleMs } : {}),
      ...(options.sessionMaxMs !== undefined ? { absoluteMs: options.sessionMaxMs } : {}),
    });
    const limiter = createLoginLimiter({
      ...(options.maxLoginFailures !== undefined ? { maxFailures: options.maxLoginFailures } : {}),
      ...(options.loginWindowMs !== undefined ? { windowMs: options.loginWindowMs } : {}),
    });
    const loginTokens = createLoginTokens();
    const approves = (row: ApiKeyRow | undefined) => !!row && row.revoked_at === null && canApprove(row.scope);
    // Synchronous on SQLite (as before); a promise on PostgreSQL.
    const keyStillApproves = (s: DashboardSession): boolean | Promise<boolean> => {
      const row = deps.keyByHash(s.keyHash);
      return row instanceof Promise ? row.then(approves) : approves(row);
    };
    const hub = createEventHub(service, {
      ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
      isValid: (id) => {
        const s = sessions.peek(id);
        if (!s) return false;
        const settle = (ok: boolean) => {
          if (!ok) sessions.delete(s.id);
          return ok;
        };
        const ok = keyStillApproves(s);
        return typeof ok === 'boolean' ? settle(ok) : ok.then(settle, () => settle(false));
      },
    });
    sessions.onEnd((id) => hub.endSession(id));
    const auditStatus = cachedAuditStatus(deps);

    app.addHook('preClose', async () => {
      hub.close();
      sessions.clear();
    });

    // Sign-in and sign-out are HTML forms.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });

    app.addHook('onSend', async (_request, reply, payload) => {
      reply.header('x-content-type-options', 'nosniff');
      reply.header('x-frame-options', 'DENY');
      // Not no-referrer: with it Chromium sends `Origin: null` on same-origin form posts, defeating the Origin check.
      reply.header('referrer-policy', 'same-origin');
      reply.header('cross-origin-opener-policy', 'same-origin');
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
      const type = reply.getHeader('content-type');
      if (typeof type === 'string' && type.startsWith('text/html')) reply.header('content-security-policy', CSP);
      return payload;
    });

    // Every POST: refuse cross-origin browsers before the body is even read; the API also needs
    // the session's synchronizer token in a header (forms carry theirs in a field, checked below).
    app.addHook('onRequest', async (request, reply) => {
      if (request.method !== 'POST') return;
      const why = crossOriginReason(request, options.allowedOrigins);
      if (why) return refuse(request, reply, `cross-origin request refused (${why})`);
      // Decided by the matched route, not the raw URL (the router decodes %-escapes, a prefix test
      // on request.url did not): every POST but the two form routes needs the header token.
      if (!FORM_ROUTES.has(request.routeOptions.url ?? '')) {
        const s = await currentSession(request);
        if (!s) throw new ReviewServerError(401, ServerErrorCodes.UNAUTHORIZED, 'not signed in to the dashboard (or the session expired); sign in again at /');
        if (!sameToken(s.csrf, headerValue(request.headers[CSRF_HEADER]))) {
          return refuse(request, reply, `missing or wrong ${CSRF_HEADER} header; reload the dashboard and try again`);
        }
      }
      return undefined;
    });

    function refuse(request: FastifyRequest, reply: FastifyReply, message: string) {
      if (!FORM_ROUTES.has(request.routeOptions.url ?? '')) {
        return reply.code(403).send({ error: { code: DashboardErrorCodes.CSRF_REJECTED, message } });
      }
      return reply.code(403).type('text/html; charset=utf-8').send(errorPage('Request refused', message));
    }

    async function currentSession(request: FastifyRequest): Promise<DashboardSession | undefined> {
      const s = sessions.get(request.cookies[SESSION_COOKIE]);
      if (!s) return undefined;
      // A revoked (or re-scoped) key ends its sessions at once.
      if (!(await keyStillApproves(s))) {
        sessions.delete(s.id);
        return undefined;
      }
      return s;
    }

    async function requireSession(request: FastifyRequest): Promise<DashboardSession> {
      const s = await currentSession(request);
      if (!s) throw new ReviewServerError(401, ServerErrorCodes.UNAUTHORIZED, 'not signed in to the dashboard (or the session expired); sign in again at /');
      return s;
    }

    const cookieBase = (request: FastifyRequest) => ({ httpOnly: true, sameSite: 'strict' as const, secure: isHttps(request) });

    function sendLogin(request: FastifyRequest, reply: FastifyReply, status: number, message?: { error?: string; notice?: string }) {
      let nonce = request.cookies[LOGIN_COOKIE];
      if (!nonce || nonce.length > 64) {
        nonce = loginTokens.nonce();
        reply.setCookie(LOGIN_COOKIE, nonce, { ...cookieBase(request), path: '/dashboard/login', maxAge: 60 * 60 * 12 });
      }
      const page = loginPage({ csrf: loginTokens.tokenFor(nonce), ...message });
      return reply.code(status).type('text/html; charset=utf-8').send(page);
    }

    // -------------------------------------------------------------------------------------------
    // pages

    app.get<{ Querystring: Record<string, string | undefined> }>('/', async (request, reply) => {
      const s = await currentSession(request);
      if (!s) return sendLogin(request, reply, 200, request.query['signed-out'] !== undefined ? { notice: 'Signed out.' } : {});
      return reply.type('text/html; charset=utf-8').send(appPage({ csrf: s.csrf, key: s.key }));
    });

    app.post<{ Body: Record<string, string | undefined> | undefined }>('/dashboard/login', async (request, reply) => {
      const address = request.ip;
      const body = request.body ?? {};
      const presented = typeof body.key === 'string' ? body.key.trim() : '';
      // Limited per address and per key prefix: a key that signed in here before is not locked
      // out by someone else's wrong guesses from the same address (every approver behind one
      // proxy, or on loopback, shares it).
      const prefix = loginKeyPrefix(presented);
      const wait = limiter.retryAfterMs(address, prefix);
      if (wait > 0) {
        reply.header('retry-after', String(Math.ceil(wait / 1000)));
        return sendLogin(request, reply, 429, { error: `Too many failed sign-ins from this address; try again in ${Math.ceil(wait / 60_000)} min.` });
      }
      if (!loginTokens.verify(request.cookies[LOGIN_COOKIE], body._csrf)) {
        return sendLogin(request, reply, 403, { error: 'The sign-in form expired or did not come from this page. Try again.' });
      }
      const key = presented ? await deps.authenticate(presented) : null;
      if (!key) {
        limiter.fail(address, prefix);
        return sendLogin(request, reply, 401, { error: 'Unknown or revoked key.' });
      }
      if (!canApprove(key.scope)) {
        limiter.fail(address, prefix);
        return sendLogin(request, reply, 403, { error: `Key “${key.name}” has the ${key.scope} scope; the dashboard needs an approve or admin key.` });
      }
      limiter.succeed(address, prefix);
      const old = request.cookies[SESSION_COOKIE];
      if (old) sessions.delete(old);
      const s = sessions.create(key, hashApiKey(presented));
      reply.setCookie(SESSION_COOKIE, s.id, { ...cookieBase(request), path: '/' });
      reply.clearCookie(LOGIN_COOKIE, { path: '/dashboard/login' });
      return reply.code(303).header('location', '/').send();
    });

    app.post<{ Body: Record<string, string | undefined> | undefined }>('/dashboard/logout', async (request, reply) => {
      const s = await currentSession(request);
      if (s) {
        if (!sameToken(s.csrf, request.body?._csrf)) return refuse(request, reply, 'the sign-out form did not carry this session’s token; reload and try again');
        sessions.delete(s.id);
      }
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(303).header('location', '/?signed-out').send();
    });

    const asset = (body: string, type: string) => {
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      return async (request: FastifyRequest, reply: FastifyReply) => {
        reply.header('etag', etag).header('cache-control', 'no-cache');
        if (request.headers['if-none-match'] === etag) return reply.code(304).send();
        return reply.type(type).send(body);
      };
    };
    app.get(ASSET_PATHS.css, asset(DASHBOARD_CSS, 'text/css; charset=utf-8'));
    app.get(ASSET_PATHS.js, asset(DASHBOARD_JS, 'text/javascript; charset=utf-8'));

    // -------------------------------------------------------------------------------------------
    // live events

    app.get('/dashboard/events', async (request, reply) => {
      const s = await requireSession(request);
      reply.hijack();
      hub.attach(s.id, reply.raw);
    });

    // -------------------------------------------------------------------------------------------
    // JSON API (session + CSRF header; not part of protocol v1)

    app.get('/dashboard/api/session', async (request) => {
      const s = await requireSession(request);
      return { key: s.key, idleMs: sessions.idleMs };
    });

    app.get<{ Querystring: Record<string, string | undefined> }>('/dashboard/api/reviews', async (request) => {
      await requireSession(request);
      const q = request.query;
      const limit = intParam(q.limit, 'limit', 1, 500);
      const tool = q.tool?.trim() || undefined;
      if (q.status === 'pending') {
        return { reviews: visibleValue(await service.list({ status: 'pending', ...(tool ? { tool } : {}), limit: limit ?? 500 })), next: null };
      }
      if (q.status !== undefined && q.status !== 'decided') throw badRequest('status must be pending or decided');
      if (q.verdict !== undefined && q.verdict !== '' && q.verdict !== 'allow' && q.verdict !== 'deny') throw badRequest('verdict must be allow or deny');
      if (q.cursor !== undefined && q.cursor !== '' && !isHistoryCursor(q.cursor)) throw badRequest('cursor must be the `next` of a previous page');
      // Everything a human reads goes out with controls and bidi overrides as visible escapes.
      return visibleValue(await queryHistory(service, {
        ...(q.verdict === 'allow' || q.verdict === 'deny' ? { verdict: q.verdict } : {}),
        ...(tool ? { tool } : {}),
        ...(q.decidedBy?.trim() ? { decidedBy: q.decidedBy } : {}),
        ...(limit !== undefined ? { limit: Math.min(limit, 200) } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      }));
    });

    app.get<{ Params: { id: string } }>('/dashboard/api/reviews/:id', async (request) => {
      await requireSession(request);
      return visibleValue(await service.viewById(request.params.id));
    });

    app.post<{ Params: { id: string } }>('/dashboard/api/reviews/:id/decision', async (request, reply) => {
      const s = await requireSession(request);
      assertStorableJson(request.body);
      const parsed = DecisionRequestSchema.safeParse(request.body);
      if (!parsed.success) {
        throw badRequest(`send { verdict: "allow" | "deny", reason?: string (≤ 2000 chars), args?: edited arguments (allow only) }: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      }
      const decision: HumanDecisionInput = { verdict: parsed.data.verdict };
      if (parsed.data.reason !== undefined) decision.reason = parsed.data.reason;
      if (parsed.data.args !== undefined) decision.args = parsed.data.args;
      // The same service as the API: one approval of several is 202 and the review stays pending.
      const review = await service.decide(request.params.id, decision, { ...s.key, via: 'dashboard' });
      return reply.code(review.status === 'pending' ? 202 : 200).send(visibleValue(review));
    });

    app.get('/dashboard/api/audit', async (request) => {
      await requireSession(request);
      return auditStatus();
    });
  };
}

/** The default dashboard mounted at `/` by `createReviewServer` (see `createDashboard` for options). */
export const registerDashboard: DashboardRegistrar = createDashboard();

/** What the header shows about the audit chain. */
export interface AuditStatus {
  ok: boolean;
  /** Records verified in the SQLite table. */
  records: number | null;
  /** Records verified in the JSONL mirror. */
  mirrorRecords: number | null;
  firstBroken?: { where: 'table' | 'mirror'; seq: number | null; reason: string };
  error?: string;
  checkedAt: string;
}

/** verifyAudit() walks the whole chain: share one run between concurrent callers, cache it briefly, drop it when something new is written. */
function cachedAuditStatus(deps: DashboardDeps): () => Promise<AuditStatus> {
  let cached: { at: number; value: Promise<AuditStatus> } | undefined;
  const invalidate = () => {
    cached = undefined;
  };
  deps.service.events.on('review.created', invalidate);
  deps.service.events.on('review.decided', invalidate);
  deps.service.events.on('review.outcome', invalidate);
  const run = async (): Promise<AuditStatus> => {
    const checkedAt = new Date().toISOString();
    try {
      const v = await deps.verifyAudit();
      const s: AuditStatus = { ok: v.ok, records: v.table?.records ?? null, mirrorRecords: v.mirror?.records ?? null, checkedAt };
      const broken = v.table?.firstBroken ? { where: 'table' as const, ...v.table.firstBroken } : v.mirror?.firstBroken ? { where: 'mirror' as const, ...v.mirror.firstBroken } : undefined;
      if (broken) s.firstBroken = { where: broken.where, seq: broken.seq, reason: broken.reason };
      // The copies disagree (database head vs the JSONL mirror's): both chains alone may verify.
      else if (v.mismatch) s.error = v.mismatch;
      return s;
    } catch (error) {
      return { ok: false, records: null, mirrorRecords: null, error: (error as Error).message, checkedAt };
    }
  };
  return () => {
    if (!cached || Date.now() - cached.at > 5_000) cached = { at: Date.now(), value: run() };
    return cached.value;
  };
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function badRequest(message: string): ReviewServerError {
  return new ReviewServerError(400, ServerErrorCodes.INVALID_REQUEST, message);
}

function intParam(v: string | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw badRequest(`${name} must be a whole number from ${min} to ${max}`);
  return n;
}
