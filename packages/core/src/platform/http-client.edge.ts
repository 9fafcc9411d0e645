import type { HttpClient, HttpInit, HttpResponse } from './http-client';

export type { HttpClient, HttpInit, HttpResponse } from './http-client';

/** A response body over the caller's limit. */
export class BodyTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`response body is over ${maxBytes} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * The edge build's HTTP client: the runtime's `fetch` (web-standard runtimes pool connections
 * themselves, so `connections` does not apply). `fetch` is looked up per request, so a runtime or
 * test that replaces `globalThis.fetch` is honoured.
 */
export function pooledHttpClient(_connections: number): HttpClient {
  return {
    request: httpRequestOnce,
    async close() {},
  };
}

/** One request with the runtime's `fetch`. */
export async function httpRequestOnce(url: URL, init: HttpInit): Promise<HttpResponse> {
  const headers = init.body === undefined ? init.headers : { ...init.headers, 'content-type': 'application/json' };
  const res = await globalThis.fetch(url, { method: init.method, headers, body: init.body, signal: init.signal, redirect: 'manual' });
  return {
    status: res.status,
    header: (name) => res.headers.get(name) ?? undefined,
    async text(maxBytes) {
      if (!res.body) return '';
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let size = 0;
      let text = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > maxBytes) {
          await reader.cancel().catch(() => {});
          throw new BodyTooLargeError(maxBytes);
        }
        text += decoder.decode(value, { stream: true });
      }
      return text + decoder.decode();
    },
    async discard() {
      await res.body?.cancel().catch(() => {});
    },
  };
}

/** `fetch` reports every network failure as one TypeError: none is told apart as a reset. */
export function isConnectionReset(_error: unknown): boolean {
  return false;
}
