import { Agent, errors as undiciErrors, request, type Dispatcher } from 'undici';

/** One HTTP request: JSON bodies are strings, the caller's signal bounds the whole exchange. */
export interface HttpInit {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

/** A response whose body is not read yet. */
export interface HttpResponse {
  status: number;
  header(name: string): string | string[] | undefined;
  /** The body as UTF-8 text; over `maxBytes` the body is dropped and `BodyTooLargeError` thrown. */
  text(maxBytes: number): Promise<string>;
  /** Reads and drops the body (frees the connection). Never throws. */
  discard(): Promise<void>;
}

export interface HttpClient {
  request(url: URL, init: HttpInit): Promise<HttpResponse>;
  /** Closes the client's connections; idempotent. */
  close(): Promise<void>;
}

/** A response body over the caller's limit. */
export class BodyTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`response body is over ${maxBytes} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * An HTTP client over its own undici Agent (a connection pool per origin with `connections`
 * sockets, keep-alive). The edge build swaps in `http-client.edge.ts` (the runtime's `fetch`).
 */
export function pooledHttpClient(connections: number): HttpClient {
  const agent = new Agent({ connections, pipelining: 1, keepAliveTimeout: 30_000, connect: { timeout: 10_000 } });
  return {
    async request(url, init) {
      return wrap(
        await agent.request({
          origin: url.origin,
          path: url.pathname + url.search,
          method: init.method,
          headers: init.body === undefined ? init.headers : { ...init.headers, 'content-type': 'application/json' },
          body: init.body,
          signal: init.signal,
        }),
      );
    },
    async close() {
      if (!agent.closed && !agent.destroyed) await agent.close();
    },
  };
}

/** One request on undici's global dispatcher (for one-off fetches such as a JWKS). */
export async function httpRequestOnce(url: URL, init: HttpInit): Promise<HttpResponse> {
  return wrap(await request(url, { method: init.method, headers: init.headers, body: init.body, signal: init.signal }));
}

/** A socket reset (ECONNRESET, EPIPE, undici SocketError) as opposed to a refused or unknown host. */
export function isConnectionReset(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return error instanceof undiciErrors.SocketError || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE';
}

function wrap(res: Dispatcher.ResponseData): HttpResponse {
  return {
    status: res.statusCode,
    header: (name) => res.headers[name],
    async text(maxBytes) {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > maxBytes) {
          res.body.destroy();
          throw new BodyTooLargeError(maxBytes);
        }
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks).toString('utf8');
    },
    async discard() {
      await res.body.dump().catch(() => {});
    },
  };
}
