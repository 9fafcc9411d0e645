import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, ResultSchema, type ServerCapabilities, type Implementation } from '@modelcontextprotocol/sdk/types.js';
import type { ClientCapabilities, JSONRPCRequest, Notification, Request, Result } from '@modelcontextprotocol/sdk/types.js';

/** How the proxy starts the upstream MCP server: a command speaking MCP over stdio. */
export interface UpstreamCommand {
  command: string;
  args?: string[];
  /** The upstream's environment. Default: the proxy's own, without TOOLGATE_* variables. */
  env?: Record<string, string>;
  cwd?: string;
}

/** Or a Streamable HTTP MCP server, by URL. */
export interface UpstreamUrl {
  url: string;
  /** Sent with every request (e.g. `authorization`). */
  headers?: Record<string, string>;
}

export type UpstreamTarget = UpstreamCommand | UpstreamUrl;

export interface UpstreamHandlers {
  /** A request from the upstream to the client (sampling, elicitation, roots/list). */
  onRequest(request: Request, signal: AbortSignal): Promise<Result>;
  /** A notification from the upstream (list changes, logging, resource updates). */
  onNotification(notification: Notification): Promise<void>;
  /** The upstream exited or its connection broke. */
  onExit(message: string): void;
}

/** What the proxy declares to the upstream, so requests from it can be passed on to the client. */
const PROXY_CLIENT_CAPABILITIES: ClientCapabilities = { roots: { listChanged: true }, sampling: {}, elicitation: { form: {} } };

/** Longest a forwarded request may run; the client's own timeout and cancellation come first. */
const FORWARD_TIMEOUT_MS = 3_600_000;

/**
 * The proxy's MCP client to the upstream server over stdio. It restarts a server that exited when
 * the next request comes (at most `maxRestarts` times); while the server is down, requests fail
 * with an MCP error instead of waiting.
 */
export class UpstreamConnection {
  private client: Client | undefined;
  private starting: Promise<Client> | undefined;
  private restarts = 0;
  private closed = false;
  serverCapabilities: ServerCapabilities = {};
  serverInfo: Implementation = { name: 'toolgate-mcp-upstream', version: '0.0.0' };
  instructions: string | undefined;

  constructor(
    private readonly target: UpstreamTarget,
    private readonly handlers: UpstreamHandlers,
    private readonly maxRestarts = 5,
  ) {}

  /** Starts the upstream and initializes it; throws when it cannot be reached. */
  async start(): Promise<void> {
    await this.connected();
  }

  private connected(): Promise<Client> {
    if (this.closed) return Promise.reject(new McpError(ErrorCode.ConnectionClosed, 'toolgate-mcp: the proxy is shutting down'));
    if (this.client) return Promise.resolve(this.client);
    this.starting ??= this.connect().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async connect(): Promise<Client> {
    const client = new Client({ name: 'toolgate-mcp', version: '0.1.0' }, { capabilities: PROXY_CLIENT_CAPABILITIES });
    client.fallbackRequestHandler = (request: JSONRPCRequest, extra) => this.handlers.onRequest(request as Request, extra.signal);
    client.fallbackNotificationHandler = (notification) => this.handlers.onNotification(notification);
    const target = this.target;
    const transport: Transport =
      'url' in target
        ? new StreamableHTTPClientTransport(new URL(target.url), target.headers ? { requestInit: { headers: target.headers } } : {})
        : new StdioClientTransport({
            command: target.command,
            args: target.args ?? [],
            env: target.env ?? upstreamEnv(),
            ...(target.cwd ? { cwd: target.cwd } : {}),
            stderr: 'inherit',
          });
    let announced = false;
    const lost = (message: string) => {
      if (this.client === client) this.client = undefined;
      if (!announced && !this.closed) {
        announced = true;
        this.handlers.onExit(message);
      }
    };
    client.onclose = () => lost('the upstream MCP server exited or its connection closed');
    client.onerror = (error) => {
      // Malformed upstream messages land here; the connection stays (the SDK skips the message).
      process.stderr.write(`toolgate-mcp: upstream error: ${error.message}\n`);
    };
    try {
      await client.connect(transport);
    } catch (error) {
      await client.close().catch(() => {});
      throw new McpError(ErrorCode.ConnectionClosed, `toolgate-mcp: cannot reach the upstream MCP server (${'url' in target ? target.url : target.command}): ${error instanceof Error ? error.message : String(error)}`);
    }
    this.serverCapabilities = client.getServerCapabilities() ?? {};
    this.serverInfo = client.getServerVersion() ?? this.serverInfo;
    this.instructions = client.getInstructions();
    this.client = client;
    return client;
  }

  /** Sends a request to the upstream (restarting it when it exited) and returns its result unchanged. */
  async request(request: Request, options: Pick<RequestOptions, 'signal' | 'onprogress'> = {}): Promise<Result> {
    let client = this.client;
    if (!client) {
      if (this.restarts >= this.maxRestarts) {
        throw new McpError(ErrorCode.ConnectionClosed, `toolgate-mcp: the upstream MCP server is down (restarted ${this.restarts} times)`);
      }
      this.restarts += 1;
      client = await this.connected();
    }
    return client.request(request, ResultSchema, { ...options, timeout: FORWARD_TIMEOUT_MS, resetTimeoutOnProgress: true });
  }

  async notify(notification: Notification): Promise<void> {
    await this.client?.notification(notification);
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    await client?.close().catch(() => {});
  }
}

/** The proxy's environment for the upstream, without toolgate's own settings (the API key). */
function upstreamEnv(): Record<string, string> {
  const env: Record<string, string> = { ...getDefaultEnvironment() };
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TOOLGATE_')) env[k] = v;
  return env;
}
