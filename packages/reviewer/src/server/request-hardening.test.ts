/**
 * What a request must get past before the server does any work for it: the Host header (DNS
 * rebinding), then the API key (checked in onRequest, before the body is read or parsed).
 */
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { OptionsError } from '@toolgate/core';
import { removeDir, startServer, tempDir, type Started } from '../testing/fixture';
import { createReviewServer } from './create-review-server';
import { allowedHostSet, hostOfHeader, isAllowedHost } from './host-check';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function started(options: Parameters<typeof startServer>[0] = {}): Promise<Started> {
  const s = await startServer(options);
  cleanups.push(() => removeDir(s.dataDir));
  cleanups.push(() => s.server.close());
  return s;
}

/** A raw HTTP/1.1 request with exactly these headers (Host included). */
function raw(s: Started, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: any }> {
  const u = new URL(s.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method, path, headers, setHost: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

describe('the API key is checked before the body is read', () => {
  it('a request without a valid key is 401 even when its body is not JSON (the body was never parsed)', async () => {
    const s = await started();
    const port = new URL(s.url).port;
    const noKey = await raw(s, 'POST', '/v1/reviews', { host: `127.0.0.1:${port}`, 'content-type': 'application/json' }, '{not json');
    expect(noKey.status).toBe(401);
    expect(noKey.body.error.code).toBe('UNAUTHORIZED');
    const wrongKey = await raw(s, 'POST', '/v1/reviews/x/decision', { host: `127.0.0.1:${port}`, 'content-type': 'application/json', authorization: 'Bearer tgk_wrong' }, '{not json');
    expect(wrongKey.status).toBe(401);
    // With a key the same body reaches the parser.
    const withKey = await raw(s, 'POST', '/v1/reviews', { host: `127.0.0.1:${port}`, 'content-type': 'application/json', authorization: `Bearer ${s.evalKey}` }, '{not json');
    expect(withKey.status).toBe(400);
    expect(withKey.body.error.code).toBe('INVALID_JSON');
  });

  it('an oversized body without a key is 401, not 413 (nothing was buffered for it)', async () => {
    const s = await started({ bodyLimitBytes: 2048 });
    const port = new URL(s.url).port;
    const r = await raw(s, 'POST', '/v1/reviews', { host: `127.0.0.1:${port}`, 'content-type': 'application/json' }, JSON.stringify({ pad: 'x'.repeat(8192) }));
    expect(r.status).toBe(401);
  });

  it('scopes still hold: an eval key cannot decide, list or rotate', async () => {
    const s = await started();
    const port = new URL(s.url).port;
    const h = { host: `127.0.0.1:${port}`, 'content-type': 'application/json', authorization: `Bearer ${s.evalKey}` };
    expect((await raw(s, 'POST', '/v1/reviews/x/decision', h, '{"verdict":"allow"}')).status).toBe(403);
    expect((await raw(s, 'GET', '/v1/reviews', { host: h.host, authorization: h.authorization })).status).toBe(403);
    expect((await raw(s, 'POST', '/v1/admin/signing-keys/rotate', h, '{}')).status).toBe(403);
  });
});

describe('Host header allow-list (DNS rebinding)', () => {
  it('a rebound name (Host: attacker.example) cannot read /metrics, /healthz, the JWKS, the API or the dashboard', async () => {
    const s = await started();
    const port = new URL(s.url).port;
    for (const path of ['/metrics', '/healthz', '/.well-known/jwks.json', '/v1/reviews', '/']) {
      const r = await raw(s, 'GET', path, { host: `attacker.example:${port}`, authorization: `Bearer ${s.approveKey}` });
      expect(r.status, path).toBe(403);
      expect(r.body.error.code, path).toBe('HOST_NOT_ALLOWED');
    }
    const metrics = await raw(s, 'GET', '/metrics', { host: `attacker.example:${port}` });
    expect(String(metrics.body)).not.toContain('toolgate_');
    // The loopback names work.
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST`, `[::1]:${port}`]) {
      expect((await raw(s, 'GET', '/healthz', { host })).status, host).toBe(200);
    }
    // No Host at all is refused too.
    expect((await raw(s, 'GET', '/healthz', { host: '' })).status).toBeGreaterThanOrEqual(400);
  });

  it('allowedHosts adds names (exact and .suffix); "*" turns the check off', async () => {
    const s = await started({ allowedHosts: ['reviews.example.com', '.corp.example'] });
    const port = new URL(s.url).port;
    expect((await raw(s, 'GET', '/healthz', { host: `reviews.example.com:${port}` })).status).toBe(200);
    expect((await raw(s, 'GET', '/healthz', { host: `a.corp.example` })).status).toBe(200);
    expect((await raw(s, 'GET', '/healthz', { host: `corp.example.attacker.example` })).status).toBe(403);
    expect((await raw(s, 'GET', '/healthz', { host: `example.com` })).status).toBe(403);
    const open = await started({ allowedHosts: ['*'] });
    expect((await raw(open, 'GET', '/healthz', { host: `anything.example:${new URL(open.url).port}` })).status).toBe(200);
  });

  it('parses Host headers and validates the option', () => {
    expect(hostOfHeader('Example.COM.:7070')).toBe('example.com');
    expect(hostOfHeader('[::1]:7070')).toBe('::1');
    expect(hostOfHeader(undefined)).toBeUndefined();
    const set = allowedHostSet('10.0.0.5');
    expect(isAllowedHost('10.0.0.5:7070', set)).toBe(true);
    expect(isAllowedHost('10.0.0.6:7070', set)).toBe(false);
    const dir = tempDir();
    cleanups.push(() => removeDir(dir));
    expect(() => createReviewServer({ dataDir: dir, allowedHosts: ['http://x/'] })).toThrow(OptionsError);
  });
});
