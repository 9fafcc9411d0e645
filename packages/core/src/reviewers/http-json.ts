import type { z } from 'zod';
import { ErrorCodes, OptionsError, ReviewerError } from '../errors';
import { abortError } from '../resilience/deadline';
import { parseRetryAfter } from '../resilience/retry';
import { BodyTooLargeError, isConnectionReset, pooledHttpClient, type HttpClient, type HttpResponse } from '../platform/http-client';

/**
 * Validates a reviewer's base URL at construction and returns a function that resolves paths
 * under it (keeping any path prefix, e.g. `https://host/toolgate`).
 */
export function reviewerUrl(url: unknown, who: string): { base: URL; at(path: string): URL } {
  let base: URL;
  try {
    base = new URL(String(url));
  } catch {
    throw new OptionsError(`${who}: url must be an absolute http(s) URL, got ${JSON.stringify(url)}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new OptionsError(`${who}: url must be http or https, got ${base.protocol}`);
  const prefix = base.pathname.replace(/\/$/, '');
  return { base, at: (path) => new URL(`${prefix}${path}`, base) };
}

/** Largest reviewer response body read, in bytes. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface JsonResponse {
  status: number;
  body: unknown;
}

/**
 * A reviewer's HTTP client: on Node one undici Agent (connection pools per origin) with bounded
 * sockets; in the edge build the runtime's `fetch`.
 */
export function reviewerAgent(connections: number): HttpClient {
  return pooledHttpClient(connections);
}

/**
 * Sends one JSON request and returns status and parsed body. Every failure is a ReviewerError
 * with a stable code: refused/unreachable, reset mid-body, timeout/abort, 5xx, 429 (with
 * Retry-After), non-JSON. 4xx other than 429 return normally so callers can map them.
 */
export async function requestJson(
  client: HttpClient,
  url: URL,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; signal: AbortSignal },
  what: string,
): Promise<JsonResponse> {
  let res: HttpResponse;
  try {
    res = await client.request(url, init);
  } catch (error) {
    throw networkError(error, init.signal, what);
  }
  let text: string;
  try {
    text = await res.text(MAX_RESPONSE_BYTES);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw new ReviewerError(ErrorCodes.REVIEWER_BAD_RESPONSE, `reviewer response is over ${MAX_RESPONSE_BYTES} bytes`);
    throw networkError(error, init.signal, what);
  }
  if (res.status === 429) {
    throw new ReviewerError(ErrorCodes.REVIEWER_RATE_LIMITED, `${what}: reviewer answered 429 Too Many Requests`, {
      status: 429,
      retryAfterMs: parseRetryAfter(res.header('retry-after')) ?? undefined,
    });
  }
  if (res.status >= 500) {
    throw new ReviewerError(ErrorCodes.REVIEWER_HTTP_ERROR, `${what}: reviewer answered ${res.status}${snippet(text)}`, {
      status: res.status,
      retryAfterMs: parseRetryAfter(res.header('retry-after')) ?? undefined,
    });
  }
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new ReviewerError(ErrorCodes.REVIEWER_BAD_RESPONSE, `${what}: reviewer answered ${res.status} with a body that is not JSON${snippet(text)}`, {
      status: res.status,
    });
  }
  return { status: res.status, body };
}

/** Parses a body with a zod schema; a mismatch is REVIEWER_BAD_RESPONSE naming the fields. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, what: string, status: number): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    throw new ReviewerError(ErrorCodes.REVIEWER_BAD_RESPONSE, `${what}: reviewer answered ${status} with an unexpected shape (${issues.join('; ')})`, { status });
  }
  return parsed.data;
}

/** A non-2xx answer the client does not handle specially: REVIEWER_HTTP_ERROR, with the server's error code if any. */
export function httpError(what: string, res: JsonResponse): ReviewerError {
  const err = (res.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const detail = err && typeof err.message === 'string' ? `: ${typeof err.code === 'string' ? `${err.code} ` : ''}${err.message}` : '';
  return new ReviewerError(ErrorCodes.REVIEWER_HTTP_ERROR, `${what}: reviewer answered ${res.status}${detail}`, { status: res.status });
}

function networkError(error: unknown, signal: AbortSignal, what: string): ReviewerError {
  if (signal.aborted) return abortError(signal, what);
  const code = (error as { code?: string })?.code;
  const message = (error as Error)?.message ?? String(error);
  if (isConnectionReset(error)) {
    return new ReviewerError(ErrorCodes.REVIEWER_CONNECTION_RESET, `${what}: connection to the reviewer was reset (${message})`, { cause: error });
  }
  if (code === 'UND_ERR_RESPONSE_STATUS_CODE') return new ReviewerError(ErrorCodes.REVIEWER_HTTP_ERROR, `${what}: ${message}`, { cause: error });
  return new ReviewerError(ErrorCodes.REVIEWER_UNREACHABLE, `${what}: reviewer unreachable (${code ?? message})`, { cause: error });
}

function snippet(text: string): string {
  const t = text.trim().slice(0, 120);
  return t ? ` (${t})` : '';
}
