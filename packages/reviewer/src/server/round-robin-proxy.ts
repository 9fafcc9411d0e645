// Test helper: a loopback round-robin load balancer in front of review server replicas. Each request
// goes to the next replica; its body is buffered (small JSON) so that a request whose connection to a
// replica fails before any response header arrived is sent again to the next replica (safe for the
// review protocol: every submission carries an idempotency key, a repeated decision is ALREADY_DECIDED).
// Response bodies are streamed back as they come (long-polls included).
import { Agent, createServer, request, type IncomingMessage, type Server } from 'node:http';

export interface RoundRobinProxy {
  readonly url: string;
  /** Which replica answered each request, in order of answers. */
  readonly served: Array<{ method: string; path: string; index: number }>;
  /** Connection failures that were retried on another replica. */
  readonly retried: number;
  /** Stops sending requests to replica `index` (after it is known dead). */
  remove(index: number): void;
  close(): Promise<void>;
}

export async function startRoundRobinProxy(targets: readonly string[], options: { attempts?: number } = {}): Promise<RoundRobinProxy> {
  const live = targets.map(() => true);
  const served: RoundRobinProxy['served'] = [];
  let retried = 0;
  let next = 0;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const attempts = options.attempts ?? targets.length;
  const pick = (): number => {
    for (let i = 0; i < targets.length; i++) {
      const index = next++ % targets.length;
      if (live[index]) return index;
    }
    return -1;
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const attempt = (left: number): void => {
        const index = pick();
        if (index < 0) {
          res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":{"code":"NO_REPLICA"}}');
          return;
        }
        const target = new URL(req.url ?? '/', targets[index]);
        const headers = { ...req.headers, host: target.host };
        const upstream = request(target, { method: req.method, headers, agent }, (answer: IncomingMessage) => {
          served.push({ method: req.method ?? 'GET', path: req.url ?? '/', index });
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('error', () => res.destroy());
        });
        upstream.setTimeout(60_000, () => upstream.destroy(new Error('upstream timeout')));
        upstream.on('error', () => {
          // Only a failure before the response started can be retried: the client has seen nothing.
          if (res.headersSent) {
            res.destroy();
            return;
          }
          if (left > 1) {
            retried += 1;
            attempt(left - 1);
          } else {
            res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":{"code":"UPSTREAM_FAILED"}}');
          }
        });
        upstream.end(body);
      };
      attempt(attempts);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    served,
    get retried() {
      return retried;
    },
    remove(index) {
      live[index] = false;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
