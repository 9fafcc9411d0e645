import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenAPIV3_1 } from 'openapi-types';
import { afterEach, describe, expect, it } from 'vitest';
import { removeDir, tempDir, TEST_POLICY } from '../testing/fixture';
import { createReviewServer, type ReviewServer } from './create-review-server';
import { ROUTE_SCOPES } from './routes';

/**
 * Routes that are not part of the API and are hidden from the document on purpose: the
 * dashboard's pages, assets and session API (cookie-authenticated, for the dashboard's own script).
 */
const NON_API = [/^\/$/, /^\/dashboard\//];

interface Registered {
  method: string;
  url: string;
  hidden: boolean;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A server with every route registered and collected through fastify's onRoute hook, and its served document. */
async function documented(): Promise<{ server: ReviewServer; routes: Registered[]; doc: OpenAPIV3_1.Document }> {
  const dataDir = tempDir();
  cleanups.push(() => removeDir(dataDir));
  const server = createReviewServer({ dataDir, policy: TEST_POLICY, port: 0, defaultMetrics: false });
  cleanups.push(() => server.close());
  const seen: Array<{ method: string; url: string; route: { schema?: unknown } }> = [];
  server.app.addHook('onRoute', (route) => {
    // HEAD twins of GET routes are added by fastify itself.
    for (const method of [route.method].flat()) if (method !== 'HEAD') seen.push({ method, url: route.url, route });
  });
  await server.app.ready();
  // `hide` is read once every onRoute hook (the dashboard scope's included) has run.
  const routes = seen.map(({ method, url, route }) => ({ method, url, hidden: (route.schema as { hide?: boolean } | undefined)?.hide === true }));
  const res = await server.app.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  return { server, routes, doc: res.json() };
}

const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
type Operation = OpenAPIV3_1.OperationObject;
const operation = (doc: OpenAPIV3_1.Document, r: Registered): Operation | undefined =>
  (doc.paths?.[openApiPath(r.url)] as Record<string, Operation> | undefined)?.[r.method.toLowerCase()];
const jsonSchemaOf = (o: Operation, status: string) =>
  ((o.responses?.[status] as OpenAPIV3_1.ResponseObject | undefined)?.content?.['application/json'] as OpenAPIV3_1.MediaTypeObject | undefined)?.schema;

describe('OpenAPI document generated from the registered routes', () => {
  it('every registered route is in the served document, except the listed non-API (dashboard) routes, which are hidden', async () => {
    const { routes, doc } = await documented();
    expect(routes.length).toBeGreaterThan(10);
    const missing: string[] = [];
    const wronglyHidden: string[] = [];
    for (const r of routes) {
      const nonApi = NON_API.some((re) => re.test(r.url));
      if (r.hidden !== nonApi) wronglyHidden.push(`${r.method} ${r.url} (hidden: ${r.hidden})`);
      const op = operation(doc, r);
      if (nonApi) {
        expect(op, `${r.method} ${r.url} is a dashboard route and must not be documented`).toBeUndefined();
        continue;
      }
      if (!op) missing.push(`${r.method} ${r.url}`);
      else expect(op.responses?.['200'] ?? op.responses?.['202'], `${r.method} ${r.url}: a documented success response`).toBeDefined();
    }
    expect(missing).toEqual([]);
    expect(wronglyHidden).toEqual([]);
    // And nothing is documented that is not served.
    const served = new Set(routes.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.url)}`));
    for (const [path, item] of Object.entries(doc.paths ?? {})) {
      for (const method of Object.keys(item ?? {})) expect(served.has(`${method} ${path}`), `${method} ${path} is documented but not served`).toBe(true);
    }
  });

  it('every /v1 route has typed request and response schemas, bearer security and typed error responses', async () => {
    const { routes, doc } = await documented();
    const v1 = routes.filter((r) => r.url.startsWith('/v1/'));
    expect(v1.length).toBeGreaterThanOrEqual(8);
    for (const r of v1) {
      const at = `${r.method} ${r.url}`;
      const op = operation(doc, r)!;
      expect(op.security, at).toEqual([{ bearer: [] }]);
      const success = jsonSchemaOf(op, '200') ?? jsonSchemaOf(op, '202');
      expect(success, `${at}: success schema`).toMatchObject(expect.any(Object));
      expect(Object.keys(success!).length, `${at}: success schema is not empty`).toBeGreaterThan(0);
      for (const status of ['401', '403', '503']) {
        expect(jsonSchemaOf(op, status), `${at}: ${status}`).toEqual({ $ref: '#/components/schemas/ErrorResponse' });
      }
      if (r.method === 'POST' && r.url !== '/v1/admin/signing-keys/rotate') {
        const body = (op.requestBody as OpenAPIV3_1.RequestBodyObject | undefined)?.content['application/json']?.schema;
        expect(body, `${at}: request body schema`).toMatchObject({ $ref: expect.stringMatching(/^#\/components\/schemas\/\w+Input$/) });
        expect(jsonSchemaOf(op, '400'), `${at}: 400`).toEqual({ $ref: '#/components/schemas/ErrorResponse' });
      }
      if (r.url.includes(':id')) {
        expect(op.parameters, `${at}: id parameter`).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'id', in: 'path', required: true })]));
        expect(jsonSchemaOf(op, '404'), `${at}: 404`).toEqual({ $ref: '#/components/schemas/ErrorResponse' });
      }
    }
    const submit = operation(doc, { method: 'POST', url: '/v1/reviews', hidden: false })!;
    expect(jsonSchemaOf(submit, '409')).toEqual({ $ref: '#/components/schemas/ErrorResponse' });
    const schemas = doc.components!.schemas!;
    expect(schemas.CreateReviewRequestInput!.required).toEqual(expect.arrayContaining(['idempotencyKey', 'call']));
    expect(schemas.ErrorResponse!.properties).toHaveProperty('error');
    // Every /v1 route has a scope (a missing one would need admin: fail closed, but then it is a bug).
    for (const r of v1) expect(ROUTE_SCOPES[`${r.method} ${r.url}`], `${r.method} ${r.url} in ROUTE_SCOPES`).toBeDefined();
    for (const key of Object.keys(ROUTE_SCOPES)) expect(v1.map((r) => `${r.method} ${r.url}`), `ROUTE_SCOPES ${key} is a route`).toContain(key);
  });

  it('documents two-person approvals and edit-and-approve: args, 202, 422, expired, edited, approvals and the new error codes', async () => {
    const { doc } = await documented();
    const decide = operation(doc, { method: 'POST', url: '/v1/reviews/:id/decision', hidden: false })!;
    expect(jsonSchemaOf(decide, '202')).toEqual({ $ref: '#/components/schemas/ReviewResponse' });
    expect(jsonSchemaOf(decide, '422')).toEqual({ $ref: '#/components/schemas/ErrorResponse' });
    const text = (status: string) => (decide.responses?.[status] as OpenAPIV3_1.ResponseObject).description;
    expect(text('422')).toContain('EDIT_DENIED');
    expect(text('409')).toContain('ALREADY_APPROVED');
    expect(text('403')).toContain('NOT_IN_APPROVER_GROUP');
    expect(decide.description).toContain('edit-and-approve');
    const schemas = doc.components!.schemas! as Record<string, OpenAPIV3_1.SchemaObject>;
    const args = schemas.DecisionRequestInput!.properties!.args as OpenAPIV3_1.SchemaObject;
    expect(args.description).toContain('422 EDIT_DENIED');
    const review = schemas.ReviewResponse!.properties! as Record<string, OpenAPIV3_1.SchemaObject>;
    expect(review.expired!.description).toContain('not a human rejection');
    expect(Object.keys(review.edited!.properties!)).toEqual(['args', 'digest', 'originalDigest']);
    expect(Object.keys(review.approvals!.properties!)).toEqual(['required', 'approvers', 'groups']);
  });

  it('the served document is valid OpenAPI 3.1 (swagger-parser)', async () => {
    const { doc } = await documented();
    expect(doc.openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toMatchObject({ openapi: '3.1.0' });
  });
});
