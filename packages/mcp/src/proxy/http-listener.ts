import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { McpProxy } from './mcp-proxy';

export interface HttpListener {
  /** Where clients connect, e.g. `http://127.0.0.1:8765/mcp`. */
  readonly url: string;
  close(): Promise<void>;
}

/** The hosts `--listen` accepts: the proxy serves this machine only. */
export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'];

/**
 * Serves the proxy to MCP clients over Streamable HTTP at `http://host:port/mcp`, one MCP session
 * (and one proxy Server) per client. Loopback only, with DNS-rebinding protection: a request whose
 * Host header is not this listener's is refused.
 */
export async function listenStreamableHttp(proxy: McpProxy, host: string, port: number, log: (line: string) => void): Promise<HttpListener> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  let allowedHosts: string[] = [];

  const jsonRpcError = (res: ServerResponse, status: number, message: string) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/mcp') return jsonRpcError(res, 404, 'toolgate-mcp serves MCP at /mcp');
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const transport = sessions.get(sessionId);
      if (!transport) return jsonRpcError(res, 404, 'Session not found');
      return transport.handleRequest(req, res);
    }
    if (req.method !== 'POST') return jsonRpcError(res, 400, 'Bad Request: no mcp-session-id; start a session with an initialize POST');
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableDnsRebindingProtection: true,
      allowedHosts,
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await proxy.connect(transport);
    await transport.handleRequest(req, res);
    // Not an initialize request: no session was made, so nothing will come back for this transport.
    if (!transport.sessionId) await transport.close();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log(`HTTP request failed: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) jsonRpcError(res, 500, 'toolgate-mcp: internal error');
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as { port: number }).port;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  allowedHosts.push(`${hostPart}:${actual}`, `localhost:${actual}`, `127.0.0.1:${actual}`, `[::1]:${actual}`);
  allowedHosts = [...new Set(allowedHosts)];
  return {
    url: `http://${hostPart}:${actual}/mcp`,
    close: async () => {
      await Promise.all([...sessions.values()].map((t) => t.close().catch(() => {})));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
