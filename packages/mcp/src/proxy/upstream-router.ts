import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  ErrorCode,
  McpError,
  type Implementation,
  type Notification,
  type Request,
  type Result,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { UpstreamConnection, type UpstreamHandlers, type UpstreamTarget } from './upstream-connection';

/** One upstream server behind the proxy; with several, each one's tools and prompts carry its prefix. */
export type PrefixedUpstream = UpstreamTarget & { prefix: string };

type Forward = Pick<RequestOptions, 'signal' | 'onprogress'>;

/**
 * The upstream side of the proxy. With one server and no prefix, every request passes through
 * unchanged. With several (a configuration file), the proxy is one MCP server made of all of
 * them: tools and prompts are listed with their server's prefix (`github_` + `delete_repo`) and
 * routed by it with the prefix removed; resources keep their URIs and are routed to the server
 * that listed them; logging levels and client notifications go to every server.
 */
export class UpstreamRouter {
  private readonly entries: Array<{ prefix: string; conn: UpstreamConnection }>;
  /** Resource URI → the server that listed it (several servers only). */
  private readonly resourceOwner = new Map<string, UpstreamConnection>();
  serverCapabilities: ServerCapabilities = {};
  serverInfo: Implementation = { name: 'toolgate-mcp', version: '0.1.0' };
  instructions: string | undefined;

  constructor(upstreams: PrefixedUpstream[], handlers: (prefix: string) => UpstreamHandlers) {
    this.entries = upstreams.map((u) => ({ prefix: u.prefix, conn: new UpstreamConnection(targetOf(u), handlers(u.prefix)) }));
  }

  private get single(): UpstreamConnection | undefined {
    return this.entries.length === 1 && this.entries[0]!.prefix === '' ? this.entries[0]!.conn : undefined;
  }

  async start(): Promise<void> {
    await Promise.all(this.entries.map((e) => e.conn.start()));
    const single = this.single;
    if (single) {
      this.serverCapabilities = single.serverCapabilities;
      this.serverInfo = single.serverInfo;
      this.instructions = single.instructions;
      return;
    }
    const caps: ServerCapabilities = {};
    for (const { conn } of this.entries) {
      const c = conn.serverCapabilities;
      if (c.tools) caps.tools = { listChanged: true };
      if (c.prompts) caps.prompts = { listChanged: true };
      if (c.resources) caps.resources = { ...caps.resources, ...c.resources, listChanged: true };
      if (c.logging) caps.logging = {};
      if (c.completions) caps.completions = {};
    }
    this.serverCapabilities = caps;
    const texts = this.entries.filter((e) => e.conn.instructions).map((e) => `${e.conn.serverInfo.name} (tools and prompts prefixed "${e.prefix}"): ${e.conn.instructions}`);
    this.instructions = texts.length > 0 ? texts.join('\n\n') : undefined;
  }

  /** Sends a client request to the server it is for, and returns the result the client gets. */
  async request(request: Request, options: Forward = {}): Promise<Result> {
    const single = this.single;
    if (single) return single.request(request, options);
    const params = (request.params ?? {}) as Record<string, unknown>;
    switch (request.method) {
      case 'tools/list':
        return { tools: await this.listAll('tools/list', 'tools', 'tools', options) };
      case 'prompts/list':
        return { prompts: await this.listAll('prompts/list', 'prompts', 'prompts', options) };
      case 'resources/list':
        return { resources: await this.listAll('resources/list', 'resources', 'resources', options) };
      case 'resources/templates/list':
        return { resourceTemplates: await this.listAll('resources/templates/list', 'resourceTemplates', 'resources', options) };
      case 'tools/call':
      case 'prompts/get': {
        const { conn, name } = this.byName(params.name);
        return conn.request({ ...request, params: { ...params, name } } as Request, options);
      }
      case 'resources/read':
      case 'resources/subscribe':
      case 'resources/unsubscribe':
        return (await this.byUri(params.uri, options)).request(request, options);
      case 'completion/complete': {
        const ref = (params.ref ?? {}) as { type?: unknown; name?: unknown; uri?: unknown };
        if (ref.type === 'ref/prompt') {
          const { conn, name } = this.byName(ref.name);
          return conn.request({ ...request, params: { ...params, ref: { ...ref, name } } } as Request, options);
        }
        return (await this.byUri(ref.uri, options)).request(request, options);
      }
      case 'logging/setLevel':
        await Promise.all(this.entries.filter((e) => e.conn.serverCapabilities.logging).map((e) => e.conn.request(request, options)));
        return {};
      default:
        throw new McpError(ErrorCode.MethodNotFound, `toolgate-mcp: ${request.method} is not supported when the proxy fronts several servers`);
    }
  }

  /** Every page of one list from every server that has the capability, names prefixed. */
  private async listAll(method: string, key: string, capability: 'tools' | 'prompts' | 'resources', options: Forward): Promise<unknown[]> {
    const lists = await Promise.all(
      this.entries
        .filter((e) => e.conn.serverCapabilities[capability])
        .map(async ({ prefix, conn }) => {
          const items: Array<Record<string, unknown>> = [];
          let cursor: string | undefined;
          for (let page = 0; page < 100; page++) {
            const result = (await conn.request({ method, params: cursor ? { cursor } : {} } as Request, options)) as Record<string, unknown>;
            items.push(...(((result[key] as Array<Record<string, unknown>> | undefined) ?? [])));
            cursor = typeof result.nextCursor === 'string' ? result.nextCursor : undefined;
            if (!cursor) break;
          }
          if (capability === 'resources') {
            for (const r of items) if (typeof r.uri === 'string') this.resourceOwner.set(r.uri, conn);
            return items;
          }
          return items.map((item) => ({ ...item, name: `${prefix}${String(item.name)}` }));
        }),
    );
    return lists.flat();
  }

  private byName(prefixed: unknown): { conn: UpstreamConnection; name: string } {
    const name = typeof prefixed === 'string' ? prefixed : '';
    // The longest matching prefix wins (prefixes are checked for overlaps at configuration).
    const entry = [...this.entries].sort((a, b) => b.prefix.length - a.prefix.length).find((e) => name.startsWith(e.prefix) && name.length > e.prefix.length);
    if (!entry) throw new McpError(ErrorCode.InvalidParams, `toolgate-mcp: no upstream server has the prefix of "${name}"`);
    return { conn: entry.conn, name: name.slice(entry.prefix.length) };
  }

  private async byUri(uri: unknown, options: Forward): Promise<UpstreamConnection> {
    const key = typeof uri === 'string' ? uri : '';
    if (!this.resourceOwner.has(key)) await this.listAll('resources/list', 'resources', 'resources', options).catch(() => []);
    const owner = this.resourceOwner.get(key) ?? this.entries.find((e) => e.conn.serverCapabilities.resources && this.entries.filter((x) => x.conn.serverCapabilities.resources).length === 1)?.conn;
    if (!owner) throw new McpError(ErrorCode.InvalidParams, `toolgate-mcp: no upstream server listed the resource ${key}`);
    return owner;
  }

  async notify(notification: Notification): Promise<void> {
    await Promise.all(this.entries.map((e) => e.conn.notify(notification).catch(() => {})));
  }

  async close(): Promise<void> {
    await Promise.all(this.entries.map((e) => e.conn.close()));
  }
}

function targetOf(u: PrefixedUpstream): UpstreamTarget {
  if ('url' in u) return { url: u.url, ...(u.headers ? { headers: u.headers } : {}) };
  return { command: u.command, ...(u.args ? { args: u.args } : {}), ...(u.env ? { env: u.env } : {}), ...(u.cwd ? { cwd: u.cwd } : {}) };
}
