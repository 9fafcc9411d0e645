import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  CreateReviewRequestSchema,
  DecisionRequestSchema,
  OutcomeRequestSchema,
  verifyAuditLog,
  verifyAuditRecords,
  verifyAuditRecordsAsync,
  type AuditRecord,
  type CheckpointKeyOptions,
} from '@toolgate/core';
import type { z } from 'zod';
import { bearerToken, hasScope, type KeyInfo, type Scope } from '../auth/api-keys';
import { createKeyCache, type KeyCache, type KeySource } from '../auth/key-cache';
import { ReviewServerError, ServerErrorCodes } from '../errors';
import type { AuditTrail } from '../store/audit-trail';
import type { ReviewStore } from '../store/review-store';
import type { ServerMetrics } from './metrics';
import type { HumanDecisionInput, ReviewService } from './review-service';
import { apiRoute, ROUTE_SCHEMAS } from './openapi';
import { assertStorableJson } from './request-guard';
import type { Readiness } from './readiness';

export interface RouteDeps {
  /** Where keys are looked up when the cache has no answer. */
  keySource: KeySource;
  /** Authenticated keys, cached briefly. */
  keys: KeyCache;
  /** The review store (SQLite or PostgreSQL): `/healthz` and `/v1/audit` read it. */
  store: ReviewStore;
  /** `GET /v1/audit/verify` (`verifyTrail` on SQLite, `verifyStoreTrail` on PostgreSQL). */
  verifyAudit(): Promise<unknown>;
  service: ReviewService;
  metrics: ServerMetrics;
  jwks(): string;
  /** Every public signing key ever used (for audit checkpoints), when loaded. */
  auditKeys?(): { jwks: { keys: Record<string, unknown>[] } } | undefined;
  openApi(): string;
  rotateSigningKey(by: string): Promise<{ kid: string }>;
  /** Readiness for `GET /readyz` (database answers, signing key loaded). */
  readiness?(): Promise<Readiness>;
}

/**
 * Authenticates `Authorization: Bearer <key>` and checks the scope. 401 / 403 with stable codes.
 * With `cache`, recently authenticated keys are answered from memory (see `createKeyCache`).
 */
export async function requireKey(store: KeySource, request: FastifyRequest, scope: Scope | readonly Scope[], cache?: KeyCache): Promise<KeyInfo> {
  const token = bearerToken(request.headers.authorization);
  if (!token) throw new ReviewServerError(401, ServerErrorCodes.UNAUTHORIZED, 'missing Authorization: Bearer <key> (create one with `toolgate keys create --scope eval|approve|admin`)');
  const key = await (cache ?? createKeyCache(store, { ttlMs: 0 })).authenticate(token);
  if (!key) throw new ReviewServerError(401, ServerErrorCodes.UNAUTHORIZED, 'unknown or revoked API key');
  const needed = typeof scope === 'string' ? [scope] : scope;
  if (!needed.some((s) => hasScope(key.scope, s))) {
    throw new ReviewServerError(403, ServerErrorCodes.FORBIDDEN, `key ${key.name} has scope ${key.scope}; this needs ${needed.join(' or ')}`);
  }
  return key;
}

function parse<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  // Before the schema: lone surrogates and absurd nesting are a 400 here, not a 500 deeper down.
  assertStorableJson(body);
  const r = schema.safeParse(body);
  if (!r.success) {
    const issues = r.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    throw new ReviewServerError(400, ServerErrorCodes.INVALID_REQUEST, `invalid request: ${issues.join('; ')}`);
  }
  return r.data;
}

function intParam(v: unknown, name: string, min: number, max: number): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ReviewServerError(400, ServerErrorCodes.INVALID_REQUEST, `${name} must be a whole number from ${min} to ${max}`);
  }
  return n;
}

/** An AbortSignal that fires if the client goes away before we answer (only built for long-polls). */
function disconnectSignal(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  return ac.signal;
}

type IdParams = { Params: { id: string } };
type Query = Record<string, string | undefined>;

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key authenticated in `onRequest` (before the body is read) for /v1 routes; null elsewhere. */
    apiKey: KeyInfo | null;
  }
}

/**
 * The scope each /v1 route needs, by `METHOD url-pattern`. Checked in `onRequest`, before the
 * body is read or parsed: an unauthenticated client cannot make the server parse 1 MiB of JSON.
 * A /v1 route missing here needs an admin key (fail closed).
 */
export const ROUTE_SCOPES: Readonly<Record<string, Scope | readonly Scope[]>> = {
  'POST /v1/reviews': 'eval',
  'GET /v1/reviews/:id': ['eval', 'approve'],
  'GET /v1/reviews': 'approve',
  'POST /v1/reviews/:id/decision': 'approve',
  'POST /v1/reviews/:id/outcome': 'eval',
  'GET /v1/audit': 'approve',
  'GET /v1/audit/verify': 'approve',
  'POST /v1/admin/signing-keys/rotate': 'admin',
};

/** Protocol v1 and the operational endpoints. */
export function registerRoutes(app: FastifyInstance, d: RouteDeps): void {
  const { service } = d;
  app.decorateRequest('apiKey', null);
  app.addHook('onRequest', async (request) => {
    const url = request.routeOptions.url;
    if (url === undefined || !url.startsWith('/v1/')) return;
    request.apiKey = await requireKey(d.keySource, request, ROUTE_SCOPES[`${request.method} ${url}`] ?? 'admin', d.keys);
  });
  // Every /v1 route is authenticated in onRequest (above); a route without a key here fails closed.
  const keyFor = (request: FastifyRequest, scope: Scope | readonly Scope[]): KeyInfo => {
    const key = request.apiKey;
    if (key === null) throw new ReviewServerError(401, ServerErrorCodes.UNAUTHORIZED, 'missing Authorization: Bearer <key>');
    const needed = typeof scope === 'string' ? [scope] : scope;
    if (!needed.some((s) => hasScope(key.scope, s))) {
      throw new ReviewServerError(403, ServerErrorCodes.FORBIDDEN, `key ${key.name} has scope ${key.scope}; this needs ${needed.join(' or ')}`);
    }
    return key;
  };

  app.post('/v1/reviews', apiRoute(ROUTE_SCHEMAS.createReview), async (request, reply) => {
    const key = keyFor(request, 'eval');
    const body = parse(CreateReviewRequestSchema, request.body);
    const signal = body.waitMs ? disconnectSignal(reply) : undefined;
    const r = await service.submit(body, key, signal);
    return reply.code(r.status).send(r.review);
  });

  app.get<IdParams & { Querystring: Query }>('/v1/reviews/:id', apiRoute(ROUTE_SCHEMAS.getReview), async (request, reply) => {
    const key = keyFor(request, ['eval', 'approve']);
    const waitMs = intParam(request.query.waitMs, 'waitMs', 0, 60_000) ?? 0;
    const viewer = { keyId: key.id, seesAll: hasScope(key.scope, 'approve') };
    const r = await service.get(request.params.id, waitMs, waitMs ? disconnectSignal(reply) : undefined, viewer);
    return reply.code(r.status).send(r.review);
  });

  app.get<{ Querystring: Query }>('/v1/reviews', apiRoute(ROUTE_SCHEMAS.listReviews), async (request) => {
    keyFor(request, 'approve');
    const q = request.query;
    if (q.status !== undefined && q.status !== 'pending' && q.status !== 'decided') {
      throw new ReviewServerError(400, ServerErrorCodes.INVALID_REQUEST, 'status must be pending or decided');
    }
    const limit = intParam(q.limit, 'limit', 1, 500) ?? 50;
    const before = intParam(q.before, 'before', 0, Number.MAX_SAFE_INTEGER);
    const reviews = await service.list({
      ...(q.status ? { status: q.status } : {}),
      ...(q.tool ? { tool: q.tool } : {}),
      ...(before !== undefined ? { before } : {}),
      limit,
    });
    const last = reviews[reviews.length - 1];
    return { reviews, next: reviews.length === limit && last ? Date.parse(last.createdAt) : null };
  });

  app.post<IdParams>('/v1/reviews/:id/decision', apiRoute(ROUTE_SCHEMAS.decideReview), async (request, reply) => {
    const key = keyFor(request, 'approve');
    const body = parse(DecisionRequestSchema, request.body);
    const decision: HumanDecisionInput = { verdict: body.verdict };
    if (body.reason !== undefined) decision.reason = body.reason;
    if (body.args !== undefined) decision.args = body.args;
    const review = await service.decide(request.params.id, decision, { ...key, via: 'api' });
    // 202: the approval was recorded and the review still waits for more approvers.
    return reply.code(review.status === 'pending' ? 202 : 200).send(review);
  });

  app.post<IdParams>('/v1/reviews/:id/outcome', apiRoute(ROUTE_SCHEMAS.reportOutcome), async (request) => {
    const key = keyFor(request, 'eval');
    const body = parse(OutcomeRequestSchema, request.body);
    const outcome: { status: typeof body.status; message?: string; durationMs?: number } = { status: body.status };
    if (body.message !== undefined) outcome.message = body.message;
    if (body.durationMs !== undefined) outcome.durationMs = body.durationMs;
    return service.outcome(request.params.id, outcome, key);
  });

  app.get<{ Querystring: Query }>('/v1/audit', apiRoute(ROUTE_SCHEMAS.auditPage), async (request) => {
    keyFor(request, 'approve');
    const after = intParam(request.query.after, 'after', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const limit = intParam(request.query.limit, 'limit', 1, 1000) ?? 100;
    const records = await d.store.auditAfter(after, limit);
    const last = records[records.length - 1];
    return { records, next: records.length === limit && last ? last.seq : null };
  });

  app.get('/v1/audit/verify', apiRoute(ROUTE_SCHEMAS.auditVerify), async (request) => {
    keyFor(request, 'approve');
    return d.verifyAudit();
  });

  app.post('/v1/admin/signing-keys/rotate', apiRoute(ROUTE_SCHEMAS.rotateSigningKey), async (request) => {
    const key = keyFor(request, 'admin');
    return d.rotateSigningKey(`key:${key.name}`);
  });

  app.get('/.well-known/jwks.json', apiRoute(ROUTE_SCHEMAS.jwks), async (_request, reply) => {
    return reply.header('content-type', 'application/json; charset=utf-8').header('cache-control', 'public, max-age=60').send(d.jwks());
  });

  app.get('/openapi.json', apiRoute(ROUTE_SCHEMAS.openApi), async (_request, reply) => {
    return reply.header('content-type', 'application/json; charset=utf-8').send(d.openApi());
  });

  app.get('/metrics', apiRoute(ROUTE_SCHEMAS.metrics), async (_request, reply) => {
    const text = await d.metrics.registry.metrics();
    return reply.header('content-type', d.metrics.registry.contentType).send(text);
  });

  app.get('/healthz', apiRoute(ROUTE_SCHEMAS.healthz), async () => {
    const [pending, last] = await Promise.all([d.store.countPending(), d.store.auditHead()]);
    return { ok: true, pending, auditSeq: last?.seq ?? 0 };
  });

  // Readiness (load balancers, orchestrators): 200 only when the database answers and the signing
  // key is loaded; else 503 with the reason. Never cached.
  app.get('/readyz', apiRoute(ROUTE_SCHEMAS.readyz), async (_request, reply) => {
    const r = d.readiness ? await d.readiness() : { ready: false, reason: 'no readiness check is wired', checks: {} };
    return reply.code(r.ready ? 200 : 503).header('cache-control', 'no-store').send(r);
  });
}

/**
 * Verifies the audit table and the JSONL mirror: signs a checkpoint of the head first (when the
 * server has a key), flushes, checks both chains and their signed checkpoints with `keys`, and
 * compares the copies: the mirror must reach the table's head as of the start (else `truncated`)
 * and end on a record the table has with the same hash (else `head mismatch`, naming both heads).
 */
export async function verifyTrail(audit: AuditTrail, keys?: CheckpointKeyOptions) {
  audit.checkpoint();
  const target = audit.head();
  await audit.flush();
  function* all(): Generator<AuditRecord> {
    let after = 0;
    for (;;) {
      const page = audit.page(after, 5_000);
      if (page.length === 0) return;
      yield* page;
      after = page[page.length - 1]!.seq;
    }
  }
  const table = verifyAuditRecords(all(), keys);
  const mirror = await verifyAuditLog(audit.mirror.path, { ...keys, ...(table.ok && target ? { reaches: target } : {}) });
  let mismatch: string | undefined;
  if (table.ok && mirror.ok && mirror.last) {
    const same = audit.page(mirror.last.seq - 1, 1)[0];
    if (!same || same.seq !== mirror.last.seq || same.hash !== mirror.last.hash) {
      mismatch = `head mismatch: the JSONL mirror ends at seq ${mirror.last.seq} with ${mirror.last.hash}; the database has ${same?.seq === mirror.last.seq ? same.hash : 'no such record'} there (database head: seq ${table.last?.seq ?? 0} ${table.last?.hash ?? ''})`;
    }
  }
  const heads = { database: table.last ?? null, mirror: mirror.last ?? null };
  return { ok: table.ok && mirror.ok && !mismatch, table, mirror: { path: audit.mirror.path, ...mirror }, heads, ...(mismatch ? { mismatch } : {}) };
}

/**
 * `verifyTrail` for a store without a JSONL mirror (PostgreSQL): signs a checkpoint of the head
 * first (when `checkpoint` is given), then verifies the stored chain and its signed checkpoints
 * with `keys`. There is no mirror to compare (`audit export` writes one on demand). The chain is
 * read `pageSize` records at a time and verified as it comes: one page in memory, not the chain,
 * and no page read past the first broken record.
 */
export async function verifyStoreTrail(store: ReviewStore, keys?: CheckpointKeyOptions, checkpoint?: () => Promise<unknown>, pageSize = 5_000) {
  if (checkpoint) await checkpoint();
  async function* pages(): AsyncGenerator<AuditRecord> {
    for (let after = 0; ; ) {
      const page = await store.auditAfter(after, pageSize);
      if (page.length === 0) return;
      yield* page;
      after = page[page.length - 1]!.seq;
    }
  }
  const table = await verifyAuditRecordsAsync(pages(), keys);
  return { ok: table.ok, table, heads: { database: table.last ?? null, mirror: null } };
}
