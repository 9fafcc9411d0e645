import {
  Agent,
  createCustomSpan,
  defineToolInputGuardrail,
  defineToolOutputGuardrail,
  getCurrentSpan,
  getCurrentTrace,
  ToolGuardrailFunctionOutputFactory as Guard,
  type ApplyPatchTool,
  type FunctionTool,
  type RunContext,
  type RunState,
  type RunToolApprovalItem,
  type ShellTool,
  type Tool,
} from '@openai/agents';
import type { Editor } from '@openai/agents';
import { denialText, GovernanceDeniedError, isAllowed, runGoverned, type Decision, type Gate, type ToolCall, callDigest, parseArgs as parseToolArgs } from '@toolgate/core';
import { agentToolSource, canFindAgentToolSources } from './agent-tool-source';
import { recordDecision } from './decisions';
import { UngateableToolError } from './errors';
import type { ResolvedOptions } from './options';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyAgent = Agent<any, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyContext = RunContext<any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunctionTool = FunctionTool<any, any, any>;

/** Marks on SDK objects: which governors (by gate) already govern them. Symbol.for survives dual CJS/ESM loads. */
const GOVERNORS = Symbol.for('toolgate.openai-agents.governors');
type Marked = { [GOVERNORS]?: Map<Gate, Governor> };

/**
 * `onApproval` may only answer `{ approve: boolean }` in the SDK's types, but its runtime
 * (`resolveToolApproval`, 0.20) leaves a call pending — an interruption for a human — when
 * `approve` is neither true nor false. That is the only way for a shell/apply_patch call that
 * needs `onApproval` for denials to still pause for a human on `review`.
 */
const PENDING = { approve: undefined } as unknown as { approve: boolean };

interface LocalCall {
  callId: string;
  runContext: AnyContext;
}

/**
 * The per-gate engine behind GovernanceHooks, governAgent and governTool. Governs SDK objects in
 * place: the SDK keys internal registries (zod input parser, asTool source agent, MCP binding,
 * approval policy) by object identity, so a copy would lose nested-agent resume and MCP provenance.
 */
export class Governor {
  readonly gate: Gate;
  readonly options: ResolvedOptions;
  /** Every Decision this governor made or resolved, by tool + callId. */
  readonly byKey = new Map<string, Decision>();
  private readonly inflight = new Map<string, Promise<Decision>>();
  private readonly resolving = new Map<string, Promise<Decision>>();
  private readonly awaitingHuman = new Set<string>();
  private readonly running = new Map<string, { decision: Decision; started: number }>();
  private readonly currentAgent = new WeakMap<AnyContext, string>();
  private readonly localByAction = new WeakMap<object, LocalCall>();
  private localSlot: (LocalCall & { tool: string }) | undefined;

  constructor(gate: Gate, options: ResolvedOptions) {
    this.gate = gate;
    this.options = options;
  }

  // ----------------------------------------------------------------------------------------
  // Agents and tools

  /** Governs `agent`, its handoff targets and `asTool()` sub-agents, recursively. Idempotent. */
  governAgent(agent: AnyAgent, seen: Set<AnyAgent> = new Set()): void {
    if (seen.has(agent)) return;
    seen.add(agent);
    if (!this.claim(agent as Marked)) {
      // Another governor of the same gate already governs it; still walk: the graph may have grown.
      this.walk(agent, seen);
      return;
    }
    for (const tool of agent.tools) this.governTool(tool as Tool<unknown>, agent.name);
    const getAllTools = agent.getAllTools;
    const governor = this;
    // MCP tools are built per turn by getAllTools: govern whatever it returns before it is used.
    agent.getAllTools = async function governedGetAllTools(this: AnyAgent, ...args: Parameters<AnyAgent['getAllTools']>) {
      const tools = await getAllTools.apply(this ?? agent, args);
      for (const tool of tools) governor.governTool(tool as Tool<unknown>, agent.name);
      return tools;
    };
    agent.on('agent_start', (ctx: AnyContext) => this.currentAgent.set(ctx, agent.name));
    agent.on('agent_tool_start', (ctx: AnyContext, tool: Tool<unknown>, details: { toolCall: unknown }) => {
      if (tool.type !== 'shell' && tool.type !== 'apply_patch') return;
      const callId = (details.toolCall as { callId?: string }).callId;
      // Emitted synchronously right before shell.run / editor.* (toolExecution.js): the next local call is this one.
      if (callId) this.localSlot = { callId, runContext: ctx, tool: tool.name };
    });
    agent.on('agent_tool_end', (_ctx: AnyContext, tool: Tool<unknown>, result: string, details: { toolCall: unknown }) => {
      // Output guardrails report executed calls; a call still marked running here threw out of invoke.
      const callId = (details.toolCall as { callId?: string }).callId;
      if (!callId) return;
      const run = this.running.get(key(tool.name, callId));
      if (!run) return;
      this.running.delete(key(tool.name, callId));
      void this.gate.reportOutcome(run.decision, { status: 'error', message: result, durationMs: performance.now() - run.started });
    });
    this.walk(agent, seen);
  }

  private walk(agent: AnyAgent, seen: Set<AnyAgent>): void {
    if (!warnedNoSources && !canFindAgentToolSources()) {
      warnedNoSources = true;
      this.options.onWarning('toolgate: cannot find the agents behind agent.asTool() tools in this @openai/agents install; govern those sub-agents with governAgent(subAgent, gate).');
    }
    for (const h of agent.handoffs ?? []) {
      const target = h instanceof Agent ? h : (h as { agent?: AnyAgent }).agent;
      if (target) this.governAgent(target, seen);
    }
    for (const tool of agent.tools) {
      const sub = agentToolSource(tool as Tool<unknown>);
      if (sub) this.governAgent(sub as unknown as AnyAgent, seen);
    }
  }

  /** Governs one tool in place (idempotent); throws UngateableToolError for a high-stakes hosted tool. */
  governTool(tool: Tool<unknown>, agentName?: string): void {
    const kind = ungateableKind(tool);
    if (kind) {
      if (this.isHighStakesHosted(tool)) {
        if (this.options.allowHostedTools === 'refuse') throw new UngateableToolError(tool.name, kind, agentName);
        if (this.claim(tool as Marked)) {
          this.options.onWarning(
            `toolgate: "${tool.name}"${agentName ? ` on agent "${agentName}"` : ''} is high-stakes but is a ${kind}; it runs UNGATED (allowHostedTools: 'warn').`,
          );
        }
      }
      return;
    }
    if (tool.type === 'function') {
      if (this.claim(tool as Marked)) this.governFunctionTool(tool as AnyFunctionTool);
    } else if (tool.type === 'shell') {
      if (this.claim(tool as Marked)) this.governShellTool(tool as ShellTool & { shell: NonNullable<ShellTool['shell']> });
    } else if (tool.type === 'apply_patch') {
      if (this.claim(tool as Marked)) this.governApplyPatchTool(tool as ApplyPatchTool);
    }
  }

  /** True the first time this gate claims the object; false when a governor of the same gate already did. */
  private claim(target: Marked): boolean {
    let map = target[GOVERNORS];
    if (!map) {
      map = new Map();
      Object.defineProperty(target, GOVERNORS, { value: map, enumerable: false, configurable: true });
    }
    if (map.has(this.gate)) return false;
    map.set(this.gate, this);
    return true;
  }

  private isHighStakesHosted(tool: Tool<unknown>): boolean {
    if (this.gate.isHighStakes(tool.name)) return true;
    const label = (tool as { providerData?: { server_label?: unknown; serverLabel?: unknown } }).providerData;
    const server = label?.server_label ?? label?.serverLabel;
    return typeof server === 'string' && this.gate.isHighStakes(server);
  }

  // ----------------------------------------------------------------------------------------
  // Function tools (incl. asTool and local MCP): dynamic needsApproval + input/output guardrails

  private governFunctionTool(tool: AnyFunctionTool): void {
    const original = tool.needsApproval;
    tool.needsApproval = async (ctx: AnyContext, input: unknown, callId?: string) => {
      if (!this.gate.isHighStakes(tool.name, input)) return original(ctx, input, callId);
      const d = await this.decide(ctx, tool.name, input, callId);
      if (d.verdict === 'review') {
        if (callId) this.awaitingHuman.add(key(tool.name, callId));
        this.span(d, ctx);
        return true; // the SDK's own HITL: an interruption, state.approve/reject, resume
      }
      if (!isAllowed(d)) return false; // the input guardrail rejects it, with the denial text
      return original(ctx, input, callId);
    };
    const input = defineToolInputGuardrail({
      name: 'toolgate',
      run: async ({ context, agent, toolCall }) => {
        const args = parseArgs(toolCall.arguments);
        if (!this.gate.isHighStakes(tool.name, args)) return Guard.allow();
        const k = key(tool.name, toolCall.callId);
        let d = await this.decide(context, tool.name, args, toolCall.callId, agent?.name);
        if (d.verdict === 'review') {
          const approved = context.isToolApproved({ toolName: toolCall.name, callId: toolCall.callId });
          if (approved === true || approved === false) {
            d = await this.resolveHuman(context, k, d, approved);
          } else if (this.awaitingHuman.has(k)) {
            // preApprovalInputGuardrails: this runs before the interruption; the human decides next.
            return Guard.allow(info(d));
          }
        }
        this.span(d, context);
        if (isAllowed(d)) {
          this.running.set(k, { decision: d, started: performance.now() });
          return Guard.allow(info(d));
        }
        if (this.options.onDeny === 'throw') throw new GovernanceDeniedError(d);
        return Guard.rejectContent(denialText(d), info(d));
      },
    });
    const output = defineToolOutputGuardrail({
      name: 'toolgate_outcome',
      run: async ({ toolCall }) => {
        const k = key(tool.name, toolCall.callId);
        const run = this.running.get(k);
        if (run) {
          this.running.delete(k);
          // tool() turns an execute() throw into text via its errorFunction and marks the function span.
          const failed = getCurrentSpan()?.error;
          await this.gate.reportOutcome(run.decision, {
            status: failed ? 'error' : 'success',
            durationMs: performance.now() - run.started,
            ...(failed ? { message: failed.message } : {}),
          });
        }
        return Guard.allow();
      },
    });
    tool.inputGuardrails = [...(tool.inputGuardrails ?? []), input];
    tool.outputGuardrails = [...(tool.outputGuardrails ?? []), output];
  }

  // ----------------------------------------------------------------------------------------
  // Local shell / apply_patch: needsApproval + onApproval (they have no guardrails)

  private governLocal(tool: ShellTool | ApplyPatchTool): void {
    const originalNeeds = tool.needsApproval as (ctx: AnyContext, action: unknown, callId?: string) => Promise<boolean>;
    const originalOnApproval = tool.onApproval;
    tool.needsApproval = async (ctx: AnyContext, action: unknown, callId?: string) => {
      if (!this.gate.isHighStakes(tool.name, action)) return originalNeeds(ctx, action, callId);
      if (callId && typeof action === 'object' && action !== null) this.localByAction.set(action, { callId, runContext: ctx });
      const d = await this.decide(ctx, tool.name, action, callId);
      if (isAllowed(d)) return originalNeeds(ctx, action, callId);
      if (d.verdict === 'review' && callId) this.awaitingHuman.add(key(tool.name, callId));
      this.span(d, ctx);
      return true; // onApproval answers deny; review stays pending for a human
    };
    tool.onApproval = async (ctx: AnyContext, item: RunToolApprovalItem) => {
      const callId = (item.rawItem as { callId?: string }).callId;
      const d = callId ? this.byKey.get(key(tool.name, callId)) : undefined;
      if (d && d.verdict === 'review') return PENDING;
      if (d && !isAllowed(d)) {
        if (this.options.onDeny === 'throw') throw new GovernanceDeniedError(d);
        return { approve: false, reason: denialText(d) };
      }
      return originalOnApproval ? originalOnApproval(ctx, item) : PENDING;
    };
  }

  private governShellTool(tool: ShellTool & { shell: NonNullable<ShellTool['shell']> }): void {
    this.governLocal(tool);
    const shell = tool.shell;
    const wrapped = Object.create(shell) as typeof shell;
    wrapped.run = (action) => this.runLocal(tool.name, action, (ctx) => ctx, () => shell.run(action), (d) => ({
      output: [{ stdout: '', stderr: denialText(d), outcome: { type: 'exit', exitCode: null } }],
    }));
    tool.shell = wrapped;
  }

  private governApplyPatchTool(tool: ApplyPatchTool): void {
    this.governLocal(tool);
    const editor = tool.editor;
    const wrapped = Object.create(editor) as Editor;
    for (const method of ['createFile', 'updateFile', 'deleteFile'] as const) {
      const fn = editor[method].bind(editor) as (op: unknown, c?: unknown) => ReturnType<Editor['createFile']>;
      (wrapped as unknown as Record<string, unknown>)[method] = (op: unknown, c?: { runContext?: AnyContext }) =>
        this.runLocal(tool.name, op, () => c?.runContext, () => fn(op, c), (d) => ({ status: 'failed' as const, output: denialText(d) }));
    }
    tool.editor = wrapped;
  }

  /** Last line of defence for local tools: runs the body only under an allowing (or human-approved) Decision. */
  private async runLocal<T>(
    toolName: string,
    action: unknown,
    ctxHint: (ctx: AnyContext | undefined) => AnyContext | undefined,
    body: () => Promise<T>,
    denied: (d: Decision) => T,
  ): Promise<T> {
    if (!this.gate.isHighStakes(toolName, action)) return body();
    const slot = this.localSlot?.tool === toolName ? this.localSlot : undefined;
    this.localSlot = undefined;
    const call = (typeof action === 'object' && action !== null ? this.localByAction.get(action) : undefined) ?? slot;
    const ctx = ctxHint(call?.runContext);
    const k = call ? key(toolName, call.callId) : undefined;
    let d = await this.decide(ctx, toolName, action, call?.callId);
    if (d.verdict === 'review' && k && ctx) {
      const approved = ctx.isToolApproved({ toolName, callId: call!.callId });
      if (approved === true || approved === false) d = await this.resolveHuman(ctx, k, d, approved);
    }
    this.span(d, ctx);
    if (!isAllowed(d)) return denied(d);
    return runGoverned(this.gate, d, body);
  }

  // ----------------------------------------------------------------------------------------
  // Decisions

  /** One review per tool + callId: cached, and concurrent askers share the same promise. */
  async decide(ctx: AnyContext | undefined, tool: string, args: unknown, callId?: string, agentName?: string): Promise<Decision> {
    const k = callId ? key(tool, callId) : undefined;
    const runId = ctx && this.options.runId ? this.options.runId(ctx) : undefined;
    if (k) {
      const cached = this.byKey.get(k);
      // Models reuse call ids (scripted ones use call_1 everywhere): a cached Decision answers only
      // the same call — same arguments (digest) and same run. Anything else is a new review.
      if (cached && sameCall(cached, tool, args, runId)) {
        if (ctx) recordDecision(ctx, cached);
        return cached;
      }
      if (cached) this.byKey.delete(k);
      const pending = this.inflight.get(k);
      if (pending) return pending;
    }
    const call: ToolCall = { tool, args: args ?? {} };
    if (callId) call.callId = callId;
    const agent = agentName ?? (ctx ? this.currentAgent.get(ctx) : undefined);
    if (agent) call.agent = agent;
    if (runId) call.runId = runId;
    if (ctx && this.options.context) {
      const extra = this.options.context(ctx, { tool, args, ...(callId ? { callId } : {}) });
      if (extra) call.context = extra;
    }
    const p = this.gate.review(call).then((d) => {
      if (k) {
        // Bounded: the gate keeps its own cache, so forgetting here costs at most one lookup there.
        if (this.byKey.size >= 10_000) this.byKey.clear();
        this.byKey.set(k, d);
      }
      if (ctx) recordDecision(ctx, d);
      return d;
    });
    if (!k) return p;
    this.inflight.set(k, p);
    try {
      return await p;
    } finally {
      this.inflight.delete(k);
    }
  }

  /** Records a human's state.approve / state.reject on the gate (once per call) and returns the final Decision. */
  async resolveHuman(ctx: AnyContext, k: string, pending: Decision, approved: boolean): Promise<Decision> {
    const current = this.byKey.get(k);
    if (current && current.verdict !== 'review') return current;
    let p = this.resolving.get(k);
    if (!p) {
      const approver = typeof this.options.approver === 'function' ? this.options.approver(ctx) : this.options.approver;
      p = this.gate
        .resolveReview(current ?? pending, {
          approved,
          ...(approver ? { approver } : {}),
          reason: approved ? `approved through RunState.approve` : `rejected through RunState.reject`,
        })
        .then((d) => {
          this.byKey.set(k, d);
          this.awaitingHuman.delete(k);
          recordDecision(ctx, d);
          return d;
        });
      this.resolving.set(k, p);
      void p.finally(() => this.resolving.delete(k)).catch(() => {});
    }
    return p;
  }

  /**
   * Before a RunState resumes: records on the gate every human answer (approve or reject) given
   * to a call this governor sent for review. A rejected call never reaches the tool, so this is
   * where its rejection is recorded.
   */
  async recordHumanDecisions(state: RunState<unknown, AnyAgent>): Promise<void> {
    const ctx = state._context as AnyContext;
    for (const item of state.getInterruptions()) {
      const callId = (item.rawItem as { callId?: string }).callId;
      const toolName = item.toolName ?? item.name;
      if (!callId || !toolName) continue;
      const k = key(toolName, callId);
      const d = this.byKey.get(k);
      if (!d || d.verdict !== 'review') continue;
      const approved = ctx.isToolApproved({ toolName, callId });
      if (approved === true || approved === false) this.span(await this.resolveHuman(ctx, k, d, approved), ctx);
    }
  }

  /** A custom span per gated call, under the SDK's current span (the tool's function span when inside a guardrail). */
  private span(d: Decision, _ctx: AnyContext | undefined): void {
    if (!this.options.traceSpans || !getCurrentTrace()) return;
    const data: Record<string, unknown> = {
      'gen_ai.tool.name': d.tool,
      'toolgate.verdict': d.verdict,
      'toolgate.source': d.source,
      'toolgate.reason': d.reason,
      'toolgate.digest': d.digest,
    };
    if (d.callId) data['gen_ai.tool.call.id'] = d.callId;
    if (d.reviewId) data['toolgate.reviewId'] = d.reviewId;
    if (d.auditId) data['toolgate.auditId'] = d.auditId;
    if (d.error) data['toolgate.error'] = d.error.code;
    const span = createCustomSpan({ data: { name: 'toolgate.review', data } });
    span.start();
    span.end();
  }
}

let warnedNoSources = false;

/** True when a cached Decision was made for this very call: same tool, arguments and run. */
function sameCall(d: Decision, tool: string, args: unknown, runId: string | undefined): boolean {
  if (d.tool !== tool || (d.runId ?? undefined) !== (runId || undefined)) return false;
  try {
    return d.digest === callDigest(tool, parseToolArgs(args));
  } catch {
    return false;
  }
}

function key(tool: string, callId: string): string {
  return `${tool}\u0000${callId}`;
}

function parseArgs(raw: string): unknown {
  try {
    return raw ? JSON.parse(raw) : {};
  } catch {
    return raw; // the gate turns non-JSON arguments into a deny (ARGS_NOT_JSON)
  }
}

function info(d: Decision) {
  return {
    toolgate: {
      verdict: d.verdict,
      source: d.source,
      reason: d.reason,
      ...(d.reviewId ? { reviewId: d.reviewId } : {}),
      ...(d.auditId ? { auditId: d.auditId } : {}),
      ...(d.callId ? { callId: d.callId } : {}),
    },
  };
}

function ungateableKind(tool: Tool<unknown>): string | undefined {
  if (tool.type === 'hosted_tool') return tool.name === 'hosted_mcp' ? 'hosted MCP tool (runs at OpenAI)' : 'hosted tool (runs at OpenAI)';
  if (tool.type === 'shell') {
    const env = (tool as { environment?: { type?: string } }).environment;
    if ((env && env.type !== 'local') || !(tool as { shell?: unknown }).shell) return 'hosted shell (runs at OpenAI)';
  }
  if (tool.type === 'computer') return 'computer tool (toolgate does not gate computer actions)';
  return undefined;
}
