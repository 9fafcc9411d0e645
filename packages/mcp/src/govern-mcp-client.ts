import { randomUUID } from 'node:crypto';
import type { AgentInfo, Decision, Gate, HumanAnswer, ToolCall } from '@toolgate/core';
import { GovernanceDeniedError, isAllowed } from '@toolgate/core';
import { McpGovernanceOptionsError } from './errors';
import { decideToolCall, executeDecided } from './gate-tool-call';
import { DECISION_META_KEY } from './tool-result';

/**
 * The part of an MCP SDK `Client` (`@modelcontextprotocol/sdk/client`) that governMcpClient needs.
 * Structural, so a Client from any 1.x SDK version the application installed fits.
 */
export interface GovernableMcpClient {
  request(request: { method: string; params?: Record<string, unknown> }, resultSchema?: unknown, options?: unknown): Promise<unknown>;
}

/** What `approve` is asked when the gate's verdict is `review` (onReview `pause`). */
export interface McpApprovalRequest {
  tool: string;
  /** The reviewed arguments (what will be sent if approved). */
  args: unknown;
  reason: string;
  reviewId?: string;
  decision: Decision;
}

export interface GovernMcpClientOptions {
  /**
   * A denied call: `'result'` (default) answers `callTool` with a tool result `{ isError: true,
   * content: [{ type: 'text', text: reason + review id }], _meta: { 'toolgate/decision': … } }`, as
   * an MCP server reports a failing tool, so the model reads why; `'throw'` throws
   * `GovernanceDeniedError` (carrying the Decision) instead.
   */
  onDeny?: 'result' | 'throw';
  /**
   * Asks a human when the gate's verdict is `review` (the gate's `onReview: 'pause'`). Return
   * `true`/`false` or a `HumanAnswer`; the answer is recorded with `gate.resolveReview` (audited as
   * a human decision) before the call is sent. Without it, a `review` verdict is not sent (denied).
   */
  approve?: (request: McpApprovalRequest) => Promise<boolean | HumanAnswer> | boolean | HumanAnswer;
  /** The call id of each reviewed call. Default: `mcp_<uuid>`. */
  callId?: (tool: string) => string;
  runId?: string;
  agent?: string | AgentInfo;
  context?: ToolCall['context'];
}

const GOVERNED = Symbol.for('toolgate.mcp.governed');

/**
 * Puts a gate in front of an MCP SDK `Client`'s high-stakes tools. The client is patched in place
 * and returned (so agent frameworks that already hold it are governed too): every `tools/call`
 * request — `callTool`, a raw `request({ method: 'tools/call' })`, the experimental task stream — is
 * reviewed first. Allowed: sent with the reviewed copy of the arguments, the Decision in the
 * result's `_meta['toolgate/decision']` (conditions included). Denied: never sent to the server.
 *
 * @example
 * const client = new Client({ name: 'my-agent', version: '1.0.0' });
 * await client.connect(new StdioClientTransport({ command: 'node', args: ['server.js'] }));
 * governMcpClient(client, createGate({ reviewer, highStakes: ['delete_*'] }));
 * const result = await client.callTool({ name: 'delete_repo', arguments: { name: 'x' } });
 * // result.isError === true and result.content[0].text says why, when the gate denied it
 */
export function governMcpClient<C extends GovernableMcpClient>(client: C, gate: Gate, options: GovernMcpClientOptions = {}): C {
  if (!client || typeof client.request !== 'function') {
    throw new McpGovernanceOptionsError('governMcpClient(client, gate): client must be an MCP SDK Client (from @modelcontextprotocol/sdk/client/index.js)');
  }
  if (!gate || typeof gate.review !== 'function' || typeof gate.resolveReview !== 'function') {
    throw new McpGovernanceOptionsError('governMcpClient(client, gate): gate must come from createGate() in @toolgate/core');
  }
  if (typeof options !== 'object' || options === null) throw new McpGovernanceOptionsError('governMcpClient: options must be an object');
  const onDeny = options.onDeny ?? 'result';
  if (onDeny !== 'result' && onDeny !== 'throw') {
    throw new McpGovernanceOptionsError(`governMcpClient: onDeny must be 'result' or 'throw' (got ${JSON.stringify(onDeny)})`);
  }
  if (options.approve !== undefined && typeof options.approve !== 'function') throw new McpGovernanceOptionsError('governMcpClient: approve must be a function');
  if (options.callId !== undefined && typeof options.callId !== 'function') throw new McpGovernanceOptionsError('governMcpClient: callId must be a function');
  if ((client as unknown as Record<symbol, unknown>)[GOVERNED] !== undefined) {
    throw new McpGovernanceOptionsError('governMcpClient: this client is already governed (by another gate or another call)');
  }

  const send = client.request.bind(client);
  const approve = options.approve;
  const governed: GovernableMcpClient['request'] = async (request, resultSchema, requestOptions) => {
    if (request?.method !== 'tools/call') return send(request, resultSchema, requestOptions);
    const params = (request.params ?? {}) as { name?: unknown; arguments?: unknown };
    const name = typeof params.name === 'string' ? params.name : '';
    const signal = (requestOptions as { signal?: AbortSignal } | undefined)?.signal;
    const decision = await decideToolCall(gate, {
      name,
      args: params.arguments,
      callId: options.callId ? options.callId(name) : `mcp_${randomUUID()}`,
      ...(options.runId !== undefined ? { runId: options.runId } : {}),
      ...(options.agent !== undefined ? { agent: options.agent } : {}),
      ...(options.context !== undefined ? { context: options.context } : {}),
      ...(signal ? { signal } : {}),
      ...(approve
        ? {
            askHuman: async (d: Decision, args: unknown): Promise<HumanAnswer> => {
              const answer = await approve({ tool: name, args, reason: d.reason, ...(d.reviewId ? { reviewId: d.reviewId } : {}), decision: d });
              return typeof answer === 'boolean' ? { approved: answer } : answer;
            },
          }
        : {}),
    });
    // A task-augmented call expects a CreateTaskResult, not a tool result: a denial throws there.
    const wantsTask = typeof (requestOptions as { task?: unknown } | undefined)?.task === 'object';
    if (!isAllowed(decision) && (onDeny === 'throw' || wantsTask)) throw new GovernanceDeniedError(decision);
    const result = await executeDecided(gate, decision, params.arguments, (args) =>
      send({ ...request, params: { ...request.params, arguments: args } }, resultSchema, requestOptions),
    signal);
    if (onDeny === 'throw' && isDenial(result)) throw new GovernanceDeniedError(decision);
    return result;
  };
  Object.defineProperty(client, 'request', { value: governed, writable: false, configurable: false, enumerable: false });
  Object.defineProperty(client, GOVERNED, { value: gate, enumerable: false });
  return client;
}

function isDenial(result: unknown): boolean {
  if (typeof result !== 'object' || result === null || (result as { isError?: unknown }).isError !== true) return false;
  const meta = (result as { _meta?: Record<string, unknown> })._meta?.[DECISION_META_KEY] as { verdict?: unknown } | undefined;
  return meta?.verdict === 'deny' || meta?.verdict === 'review';
}
