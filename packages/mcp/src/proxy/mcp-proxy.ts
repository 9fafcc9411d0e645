import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  ErrorCode,
  McpError,
  ResultSchema,
  SetLevelRequestSchema,
  type JSONRPCRequest,
  type Notification,
  type Request,
  type Result,
  type ServerCapabilities,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { Decision, Gate, GateOptions, HighStakesEntry, HighStakesSpec, HumanAnswer } from '@toolgate/core';
import { createGate } from '@toolgate/core';
import { randomUUID } from 'node:crypto';
import { decideToolCall, executeDecided } from '../gate-tool-call';
import { deniedToolResult } from '../tool-result';
import { McpGovernanceOptionsError } from '../errors';
import type { UpstreamTarget } from './upstream-connection';
import { UpstreamRouter, type PrefixedUpstream } from './upstream-router';

export interface McpProxyOptions {
  /** The upstream server: a command over stdio, or `{ url }` for Streamable HTTP. */
  upstream?: UpstreamTarget;
  /**
   * Several upstream servers behind one proxy, each with a prefix its tools and prompts are listed
   * under (`github_` + `delete_repo`); the gate sees the prefixed names.
   */
  upstreams?: PrefixedUpstream[];
  /** The gate's options. `onReview: 'pause'` asks the client's human through elicitation. */
  gate: GateOptions;
  /**
   * `'destructive'`: tools whose annotations say they may destroy (the MCP default for a tool that
   * is not `readOnlyHint: true` and not `destructiveHint: false`) are added to the high-stakes
   * tools. Annotations only ever add: they are untrusted, so none removes a tool. Default: off.
   */
  highStakesAnnotations?: 'destructive';
  /** How long the human may take to answer an elicitation. Default: the gate's reviewTimeoutMs, else 300 000 ms. */
  elicitationTimeoutMs?: number;
  /** Where the proxy writes what goes wrong (never stdout: that is the MCP channel). Default: stderr. */
  log?: (line: string) => void;
}

export interface McpProxy {
  /** The gate the proxy built (its high-stakes spec includes annotation-derived tools). */
  readonly gate: Gate;
  /** Serves one more client over `transport` (stdio for a desktop assistant, or one HTTP session). */
  connect(transport: Transport): Promise<void>;
  /** Stops the upstream, closes the client side and flushes the audit. */
  close(): Promise<void>;
}

/**
 * An MCP server to its client and an MCP client to the upstream server. Everything passes
 * through — initialize (the upstream's capabilities, info and instructions mirrored), tools/list,
 * resources, prompts, completions, logging, notifications, progress and cancellation — except
 * `tools/call` of a high-stakes tool, which the gate decides first: allowed → forwarded with the
 * reviewed arguments; denied → answered by the proxy with an `isError` tool result, the upstream
 * never sees it.
 */
export async function startMcpProxy(options: McpProxyOptions): Promise<McpProxy> {
  const log = options.log ?? ((line: string) => process.stderr.write(`toolgate-mcp: ${line}\n`));
  // One Server per connected client (one for stdio; one per session over HTTP), all sharing the
  // upstream and the gate. A request from the upstream (sampling, elicitation, roots) goes to the
  // client that last sent a request; its notifications go to every client.
  const servers = new Set<Server>();
  let lastActive: Server | undefined;
  const upstreams: PrefixedUpstream[] = options.upstreams ?? (options.upstream ? [{ ...options.upstream, prefix: '' }] : []);
  if (upstreams.length === 0) throw new McpGovernanceOptionsError('startMcpProxy: give upstream (one server) or upstreams (several, each with a prefix)');
  checkPrefixes(upstreams);
  const upstream = new UpstreamRouter(upstreams, (prefix) => ({
    onRequest: async (request, signal) => {
      const target = lastActive && servers.has(lastActive) ? lastActive : [...servers].at(-1);
      if (!target) throw new McpError(ErrorCode.InternalError, 'toolgate-mcp: no client connected');
      return target.request(request, ResultSchema, { signal, timeout: 3_600_000 });
    },
    onNotification: async (notification) => {
      await Promise.all([...servers].map((s) => s.notification(notification).catch(() => {})));
    },
    onExit: (message) => log(`${prefix ? `[${prefix}] ` : ''}${message}; calls are answered with MCP errors until it restarts`),
  }));
  // Annotations can only add tools to the high-stakes set, and only the ones known at start.
  let startTools: Tool[] = [];
  let gate: Gate;
  try {
    await upstream.start();
    if (options.highStakesAnnotations === 'destructive' && upstream.serverCapabilities.tools) startTools = await listAllTools(upstream);
    gate = createGate({ ...options.gate, highStakes: addNames(options.gate.highStakes, new Set(startTools.filter(isDestructive).map((t) => t.name))) });
  } catch (error) {
    // Started servers must not outlive a proxy that could not start (they would keep it running).
    await upstream.close();
    throw error;
  }
  const annotated = new Set(startTools.filter(isDestructive).map((t) => t.name));
  const known = new Set(startTools.map((t) => t.name));
  const lateDestructive = new Set<string>();

  const capabilities: ServerCapabilities = { ...upstream.serverCapabilities };
  delete capabilities.tasks; // task-augmented calls are not proxied: every tools/call is answered in place

  const forward = (request: Request, extra: { signal: AbortSignal; sendNotification: (n: Notification) => Promise<void> }) => {
    const token = request.params?._meta?.progressToken;
    return upstream.request(request, {
      signal: extra.signal,
      ...(token !== undefined
        ? { onprogress: (p) => void extra.sendNotification({ method: 'notifications/progress', params: { ...p, progressToken: token } }).catch(() => {}) }
        : {}),
    });
  };

  const elicitationTimeoutMs = options.elicitationTimeoutMs ?? options.gate.reviewTimeoutMs ?? 300_000;
  const askHuman = (s: Server, requestId: string | number, signal: AbortSignal) => async (decision: Decision, args: unknown): Promise<HumanAnswer | undefined> => {
    if (!s.getClientCapabilities()?.elicitation) return undefined; // nobody to ask: stays a `review`, not sent
    const client = s.getClientVersion()?.name ?? 'client';
    const result = await s.elicitInput(
      {
        mode: 'form',
        message: [
          `toolgate: the tool "${decision.tool}" needs your approval before it runs.`,
          `Arguments: ${JSON.stringify(args)}`,
          `Why: ${decision.reason}`,
          ...(decision.reviewId ? [`Review: ${decision.reviewId}`] : []),
          'Accept to run it once with exactly these arguments; decline to stop it.',
        ].join('\n'),
        requestedSchema: {
          type: 'object',
          properties: { approve: { type: 'boolean', title: 'Run this tool call?' }, note: { type: 'string', title: 'Note for the audit trail' } },
        },
      },
      { relatedRequestId: requestId, signal, timeout: elicitationTimeoutMs },
    );
    const content = (result.content ?? {}) as { approve?: unknown; note?: unknown };
    const note = typeof content.note === 'string' && content.note !== '' ? content.note : undefined;
    const approved = result.action === 'accept' && content.approve !== false;
    return {
      approved,
      approver: `mcp-elicitation:${client}`,
      reason: note ?? (approved ? 'approved by the user through the MCP client' : `the user answered ${result.action === 'accept' ? 'no' : result.action} in the MCP client`),
    };
  };

  const callTool = async (s: Server, request: Request, extra: { requestId: string | number; signal: AbortSignal; sendNotification: (n: Notification) => Promise<void> }): Promise<Result> => {
    const params = (request.params ?? {}) as { name?: unknown; arguments?: unknown; task?: unknown };
    const name = typeof params.name === 'string' ? params.name : '';
    if (params.task !== undefined) throw new McpError(ErrorCode.InvalidParams, 'toolgate-mcp: task-augmented tool calls are not supported through the proxy');
    if (options.highStakesAnnotations === 'destructive' && !annotated.has(name) && !gate.isHighStakes(name, params.arguments)) {
      if (!known.has(name)) await refreshAnnotations(name);
      if (lateDestructive.has(name)) return lateToolDenial(name);
    }
    const decision = await decideToolCall(gate, {
      name,
      args: params.arguments,
      callId: `mcp_${randomUUID()}`,
      signal: extra.signal,
      ...(options.gate.onReview === undefined || options.gate.onReview === 'pause' ? { askHuman: askHuman(s, extra.requestId, extra.signal) } : {}),
    });
    return (await executeDecided(gate, decision, params.arguments, (args) =>
      forward({ ...request, params: { ...request.params, arguments: args } } as Request, extra),
    extra.signal)) as Result;
  };

  async function refreshAnnotations(name: string): Promise<void> {
    try {
      for (const tool of await listAllTools(upstream)) {
        known.add(tool.name);
        if (isDestructive(tool) && !annotated.has(tool.name)) lateDestructive.add(tool.name);
      }
    } catch (error) {
      log(`could not list the upstream's tools to check "${name}": ${error instanceof Error ? error.message : String(error)}`);
    }
    // A tool the upstream does not list cannot be checked: treat it as destructive (spec default).
    if (!known.has(name)) lateDestructive.add(name);
  }

  const newServer = (): Server => {
    const s = new Server(upstream.serverInfo, { capabilities, ...(upstream.instructions ? { instructions: upstream.instructions } : {}) });
    s.onerror = (error) => log(`client connection error: ${error.message}`);
    s.fallbackRequestHandler = async (request: JSONRPCRequest, extra) => {
      lastActive = s;
      const req = request as Request;
      if (req.method === 'tools/call') return callTool(s, req, extra);
      const result = await forward(req, extra);
      if (req.method === 'tools/list' && options.highStakesAnnotations === 'destructive') {
        for (const tool of ((result as { tools?: Tool[] }).tools ?? [])) {
          known.add(tool.name);
          if (isDestructive(tool) && !annotated.has(tool.name)) lateDestructive.add(tool.name);
        }
      }
      return result;
    };
    // The Server answers logging/setLevel itself when logging is declared; the upstream must get it.
    if (capabilities.logging) s.setRequestHandler(SetLevelRequestSchema, (request, extra) => forward(request, extra) as Promise<Record<string, never>>);
    s.fallbackNotificationHandler = async (notification) => {
      await upstream.notify(notification);
    };
    return s;
  };

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await upstream.close();
      await Promise.all([...servers].map((s) => s.close().catch(() => {})));
      await gate.close();
    })());

  return {
    gate,
    connect: async (transport) => {
      if (closing) throw new McpError(ErrorCode.ConnectionClosed, 'toolgate-mcp: the proxy is shutting down');
      const s = newServer();
      servers.add(s);
      s.onclose = () => {
        servers.delete(s);
      };
      await s.connect(transport);
    },
    close,
  };
}

function lateToolDenial(name: string): Result {
  const decision = {
    verdict: 'deny',
    reason: `"${name}" is annotated as destructive but appeared after the proxy started, so no high-stakes rule covers it; restart the proxy (or list it in --high-stakes) to review it`,
    conditions: [],
    evaluated: [],
    source: 'fail_closed',
    tool: name,
    digest: '',
    latencyMs: 0,
  } satisfies Decision;
  return deniedToolResult(decision) as Result;
}

/** The MCP defaults: a tool may destroy unless it says `readOnlyHint: true` or `destructiveHint: false`. */
function isDestructive(tool: Tool): boolean {
  const a = tool.annotations ?? {};
  return a.readOnlyHint !== true && a.destructiveHint !== false;
}

async function listAllTools(upstream: UpstreamRouter): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const result = (await upstream.request({ method: 'tools/list', params: cursor ? { cursor } : {} })) as { tools?: Tool[]; nextCursor?: string };
    tools.push(...(result.tools ?? []));
    cursor = result.nextCursor;
    if (!cursor) break;
  }
  return tools;
}

function addNames(spec: HighStakesSpec, names: Set<string>): HighStakesSpec {
  if (names.size === 0) return spec;
  if (!Array.isArray(spec)) {
    // { all: true, except }: an annotated tool may not stay excepted (annotations only add).
    const all = spec as Extract<HighStakesSpec, { all: true }>;
    const except = (all.except ?? []).filter((e) => (typeof e === 'string' ? !names.has(e) : ![...names].some((n) => new RegExp(e.source, e.flags.replace(/[gy]/g, '')).test(n))));
    return { all: true, except };
  }
  // Exact names: a name such as `a*b` must not become a glob.
  const exact = [...names].map((n) => new RegExp(`^${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  return [...(spec as ReadonlyArray<HighStakesEntry>), ...exact];
}

function checkPrefixes(upstreams: PrefixedUpstream[]): void {
  if (upstreams.length === 1) return;
  const prefixes = upstreams.map((u) => u.prefix);
  for (const [i, p] of prefixes.entries()) {
    if (typeof p !== 'string' || p === '') throw new McpGovernanceOptionsError('toolgate-mcp: with several upstream servers, each needs a non-empty prefix (e.g. github_)');
    for (const [j, q] of prefixes.entries()) {
      if (i !== j && q.startsWith(p)) throw new McpGovernanceOptionsError(`toolgate-mcp: the prefixes "${p}" and "${q}" overlap; a tool name could belong to either server`);
    }
  }
}
