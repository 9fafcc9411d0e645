import {
  CreateReviewRequestSchema,
  DecisionRequestSchema,
  ErrorResponseSchema,
  OutcomeRequestSchema,
  ReviewResponseSchema,
} from '@toolgate/core';
import { z } from 'zod';

type Json = Record<string, unknown>;

const schema = (s: z.ZodType, io: 'input' | 'output'): Json => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
  return rest;
};

/**
 * The OpenAPI 3.1 document of protocol v1, generated from core's zod schemas (the same ones the
 * server validates with and the `httpReviewer` client parses with), so the three cannot drift.
 */
export function openApiDocument(version: string): Json {
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const json = (name: string) => ({ content: { 'application/json': { schema: ref(name) } } });
  // Every /v1 route may also answer 403 HOST_NOT_ALLOWED (Host allow-list) and 503 (store unavailable, shutting down).
  const errors = (...codes: number[]) =>
    Object.fromEntries([...new Set([...codes, 403, 503])].map((c) => [String(c), { description: ERROR_TEXT[c] ?? 'Error', ...json('ErrorResponse') }]));
  const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
  const waitParam = { name: 'waitMs', in: 'query', required: false, schema: { type: 'integer', minimum: 0, maximum: 60000 }, description: 'Hold the request until the review is decided, at most this long.' };
  const bearer = [{ bearer: [] }];
  return {
    openapi: '3.1.0',
    info: {
      title: 'toolgate review protocol',
      version,
      description: 'Review protocol v1 (docs/architecture.md in the toolgate repository): submit tool calls for review, long-poll pending reviews, decide them as a human, report outcomes.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API key with scope eval, approve or admin (`toolgate keys create`)' } },
      schemas: {
        CreateReviewRequest: schema(CreateReviewRequestSchema, 'input'),
        ReviewResponse: schema(ReviewResponseSchema, 'output'),
        DecisionRequest: schema(DecisionRequestSchema, 'input'),
        OutcomeRequest: schema(OutcomeRequestSchema, 'input'),
        ErrorResponse: schema(ErrorResponseSchema, 'output'),
      },
    },
    paths: {
      '/v1/reviews': {
        post: {
          summary: 'Submit a call for review (scope eval)',
          security: bearer,
          requestBody: { required: true, ...json('CreateReviewRequest') },
          responses: {
            '200': { description: 'Decided (by policy, or by a human within waitMs)', ...json('ReviewResponse') },
            '202': { description: 'Pending: a human must decide', ...json('ReviewResponse') },
            ...errors(400, 401, 403, 409, 413, 415),
          },
        },
        get: {
          summary: 'List reviews, newest first (scope approve)',
          security: bearer,
          parameters: [
            { name: 'status', in: 'query', schema: { type: 'string', enum: ['pending', 'decided'] } },
            { name: 'tool', in: 'query', schema: { type: 'string' } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500 } },
            { name: 'before', in: 'query', schema: { type: 'integer' }, description: 'Epoch ms: only reviews created before (paging).' },
          ],
          responses: { '200': { description: 'Reviews', content: { 'application/json': { schema: { type: 'object', properties: { reviews: { type: 'array', items: ref('ReviewResponse') } } } } } }, ...errors(400, 401, 403) },
        },
      },
      '/v1/reviews/{id}': {
        get: {
          summary: 'Read a review; with waitMs, long-poll until it is decided',
          security: bearer,
          parameters: [idParam, waitParam],
          responses: { '200': { description: 'Decided', ...json('ReviewResponse') }, '202': { description: 'Still pending', ...json('ReviewResponse') }, ...errors(401, 404) },
        },
      },
      '/v1/reviews/{id}/decision': {
        post: {
          summary: 'Decide a pending review (scope approve; never the submitting key)',
          security: bearer,
          parameters: [idParam],
          requestBody: { required: true, ...json('DecisionRequest') },
          responses: { '200': { description: 'Decided', ...json('ReviewResponse') }, ...errors(400, 401, 403, 404, 409) },
        },
      },
      '/v1/reviews/{id}/outcome': {
        post: {
          summary: 'Report what happened after the call ran (once; closes the review)',
          security: bearer,
          parameters: [idParam],
          requestBody: { required: true, ...json('OutcomeRequest') },
          responses: { '200': { description: 'Recorded', ...json('ReviewResponse') }, ...errors(400, 401, 403, 404, 409) },
        },
      },
      '/v1/audit': {
        get: {
          summary: 'Audit records after a seq, oldest first (scope approve)',
          security: bearer,
          parameters: [
            { name: 'after', in: 'query', schema: { type: 'integer', minimum: 0 } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
          ],
          responses: { '200': { description: '{ records, next }' }, ...errors(401, 403) },
        },
      },
      '/v1/audit/verify': { get: { summary: 'Sign a checkpoint of the chain head, then verify the table and the JSONL mirror: hash chains, checkpoint signatures, and that both end on the same head (scope approve)', security: bearer, responses: { '200': { description: 'Verification result' }, ...errors(401, 403) } } },
      '/v1/admin/signing-keys/rotate': { post: { summary: 'Rotate the Ed25519 signing key (scope admin); old public keys stay in the JWKS', security: bearer, responses: { '200': { description: '{ kid }' }, ...errors(401, 403) } } },
      '/.well-known/jwks.json': { get: { summary: 'Public keys that verify proofs', responses: { '200': { description: 'JWKS' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text/plain exposition format' } } } },
      '/healthz': { get: { summary: 'Liveness and store health', responses: { '200': { description: 'ok' } } } },
      '/readyz': { get: { summary: 'Readiness: the database answers and the signing key is loaded', responses: { '200': { description: '{ ready: true, checks }' }, '503': { description: '{ ready: false, reason, checks }: not ready (retry, or route traffic elsewhere)' } } } },
    },
  };
}

const ERROR_TEXT: Record<number, string> = {
  400: 'INVALID_REQUEST (schema, lone surrogates, nesting over 64 levels) / INVALID_JSON / DIGEST_MISMATCH',
  401: 'UNAUTHORIZED: missing or unknown key',
  403: 'FORBIDDEN (scope) / SELF_APPROVAL / HOST_NOT_ALLOWED (Host header not in the allow-list)',
  404: 'NOT_FOUND',
  409: 'IDEMPOTENCY_CONFLICT / ALREADY_DECIDED / REVIEW_PENDING / OUTCOME_EXISTS',
  413: 'BODY_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  503: 'STORE_UNAVAILABLE (busy, locked, full or closed: retry) / SHUTTING_DOWN',
};
