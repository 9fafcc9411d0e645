import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/** Constant-time string comparison (false for different lengths or missing values). */
export function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || a.length === 0) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Tokens for the sign-in form, before there is a session ("login CSRF"): a random nonce in an
 * HttpOnly cookie and its HMAC under a per-process secret in the form. A cross-site page can
 * neither read the cookie nor compute the HMAC.
 */
export function createLoginTokens() {
  const secret = randomBytes(32);
  const mac = (nonce: string) => createHmac('sha256', secret).update(`login:${nonce}`).digest('base64url');
  return {
    nonce: () => randomBytes(24).toString('base64url'),
    tokenFor: mac,
    verify: (nonce: string | undefined, token: string | undefined) => typeof nonce === 'string' && nonce.length > 0 && sameToken(mac(nonce), token),
  };
}

/**
 * Origin check for state-changing requests. A browser sends `Origin` (and `Sec-Fetch-Site`) on
 * every POST; when present they must name this server: the Origin's host must be the request's
 * Host (either scheme, since a TLS-terminating proxy makes the server see http), or one of
 * `allowedOrigins`. Clients that send neither (curl) still need the session's CSRF token, which
 * only a page of this origin can read.
 * Returns a reason for refusing, or undefined when the request may go on.
 */
export function crossOriginReason(request: FastifyRequest, allowedOrigins: readonly string[] = []): string | undefined {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site is ${site}`;
  const origin = request.headers.origin;
  if (origin === undefined) return undefined;
  if (allowedOrigins.includes(origin)) return undefined;
  const m = /^(https?):\/\/([^/]+)$/.exec(origin);
  if (!m || m[2]!.toLowerCase() !== request.host.toLowerCase()) return `Origin ${origin} is not this server (${request.host})`;
  return undefined;
}

/** True when the browser talks to us over https (directly, or through a TLS-terminating proxy as its Origin shows). */
export function isHttps(request: FastifyRequest): boolean {
  return request.protocol === 'https' || (typeof request.headers.origin === 'string' && request.headers.origin.startsWith('https://'));
}
