import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface StubRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
  raw: string;
}

/** What the stub does with one request. Behaviours are taken from a queue, then `fallback`. */
export type Behaviour =
  | { kind: 'json'; status?: number; body: unknown; headers?: Record<string, string>; delayMs?: number }
  | { kind: 'text'; status?: number; body: string }
  | { kind: 'hang' }
  | { kind: 'reset-mid-body' }
  | { kind: 'destroy' };

export type Responder = (req: StubRequest) => Behaviour;

/**
 * A real HTTP server on 127.0.0.1:0 that answers from a script, for fault tests. It records every
 * request and closes every socket (hung ones too) on `close()`.
 */
export async function startStub(responder: Responder): Promise<{
  url: string;
  port: number;
  requests: StubRequest[];
  setResponder(r: Responder): void;
  close(): Promise<void>;
}> {
  let respond = responder;
  const requests: StubRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = raw;
      }
      const r: StubRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body, raw };
      requests.push(r);
      act(respond(r), res);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setResponder(r) {
      respond = r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function act(b: Behaviour, res: ServerResponse): void {
  switch (b.kind) {
    case 'json': {
      const send = () => {
        const text = JSON.stringify(b.body);
        res.writeHead(b.status ?? 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...b.headers });
        res.end(text);
      };
      if (b.delayMs) setTimeout(send, b.delayMs).unref();
      else send();
      return;
    }
    case 'text':
      res.writeHead(b.status ?? 200, { 'content-type': 'application/json' });
      res.end(b.body);
      return;
    case 'hang':
      return;
    case 'reset-mid-body':
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"id":"rv_1","status":"deci');
      setTimeout(() => res.socket?.destroy(), 5).unref();
      return;
    case 'destroy':
      res.socket?.destroy();
      return;
  }
}

/** A port with nothing listening on it (bound, then closed). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
