import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server as HttpServer } from 'node:http';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { proxyCliArgs, tempDir, testPolicy } from '../testing/fixture';
import { DECISION_META_KEY } from '../tool-result';

// Streamable HTTP on both sides: an upstream MCP server over HTTP (in this process, counting the
// calls it receives) and the proxy, spawned from source, serving its clients over HTTP.
const received: Array<{ tool: string; args: unknown }> = [];
let upstream: HttpServer;
let upstreamUrl: string;
let proxy: ChildProcess;
let proxyUrl: string;
const clients: Client[] = [];

function upstreamServer(): McpServer {
  const server = new McpServer({ name: 'http-upstream', version: '2.0.0' });
  server.registerTool('delete_repo', { inputSchema: { name: z.string() } }, async (args) => {
    received.push({ tool: 'delete_repo', args });
    return { content: [{ type: 'text', text: `deleted ${args.name}` }] };
  });
  server.registerTool('transfer', { inputSchema: { amount: z.number(), to: z.string() } }, async (args) => {
    received.push({ tool: 'transfer', args });
    return { content: [{ type: 'text', text: `sent ${args.amount} to ${args.to}` }] };
  });
  return server;
}

beforeAll(async () => {
  // Stateless upstream: a fresh server and transport per request (the SDK's stateless pattern).
  upstream = createServer(async (req, res) => {
    const server = upstreamServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => void transport.close().then(() => server.close()));
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}/mcp`;

  const dir = tempDir();
  const policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify(testPolicy));
  proxy = spawn(process.execPath, proxyCliArgs(['--policy', policy, '--high-stakes', 'delete_*,transfer', '--listen', '127.0.0.1:0', '--upstream-url', upstreamUrl]), {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proxyUrl = await new Promise<string>((resolve, reject) => {
    let err = '';
    proxy.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    proxy.once('exit', (code) => reject(new Error(`proxy exited ${code}: ${err}`)));
  });
});

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {});
  proxy?.kill('SIGTERM');
  await new Promise<void>((resolve) => (proxy?.exitCode !== null ? resolve() : proxy.once('exit', () => resolve())));
  upstream?.closeAllConnections();
  await new Promise<void>((resolve) => upstream?.close(() => resolve()));
});

/** One POST with node:http (fetch may not set Host); the status code. */
function post(url: string, headers: Record<string, string>, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function connect(): Promise<Client> {
  const client = new Client({ name: 'http-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(proxyUrl)));
  clients.push(client);
  return client;
}

describe('toolgate-mcp --listen with --upstream-url (Streamable HTTP on both sides)', () => {
  it('mirrors the upstream and gates its tools: denied never reaches it, allowed exactly once', async () => {
    const client = await connect();
    expect(client.getServerVersion()).toMatchObject({ name: 'http-upstream', version: '2.0.0' });
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(['delete_repo', 'transfer']);
    const denied = await client.callTool({ name: 'delete_repo', arguments: { name: 'prod' } });
    expect(denied.isError).toBe(true);
    expect(denied._meta?.[DECISION_META_KEY]).toMatchObject({ verdict: 'deny', source: 'policy' });
    const allowed = await client.callTool({ name: 'transfer', arguments: { amount: 10, to: 'bob' } });
    expect((allowed.content as Array<{ text: string }>)[0]?.text).toBe('sent 10 to bob');
    expect(received).toEqual([{ tool: 'transfer', args: { amount: 10, to: 'bob' } }]);
  });

  it('serves several clients at once, each in its own session', async () => {
    const [a, b] = await Promise.all([connect(), connect()]);
    const results = await Promise.all([
      a.callTool({ name: 'transfer', arguments: { amount: 1, to: 'a' } }),
      b.callTool({ name: 'transfer', arguments: { amount: 2, to: 'b' } }),
      b.callTool({ name: 'delete_repo', arguments: { name: 'x' } }),
    ]);
    expect(results.map((r) => Boolean(r.isError))).toEqual([false, false, true]);
    expect(received.filter((r) => r.tool === 'delete_repo')).toEqual([]);
  });

  it('refuses a request whose Host is not the listener (DNS rebinding), and an unknown session', async () => {
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
    expect(await post(proxyUrl, { host: 'evil.example:80' }, init)).toBe(403);
    expect(await post(proxyUrl, { 'mcp-session-id': 'nope' }, { jsonrpc: '2.0', id: 2, method: 'tools/list' })).toBe(404);
    expect(await post(proxyUrl.replace('/mcp', '/other'), {}, init)).toBe(404);
  });
});
