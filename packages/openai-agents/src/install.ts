import {
  Agent,
  defineToolInputGuardrail,
  defineToolOutputGuardrail,
  getCurrentSpan,
  RunState,
  ToolGuardrailFunctionOutputFactory as Guard,
  type ApplyPatchTool,
  type Editor,
  type FunctionTool,
  type RunToolApprovalItem,
  type ShellTool,
  type Tool,
} from '@openai/agents';
import { getFunctionToolDisplayName } from '@openai/agents/utils';
import { denialText, GovernanceDeniedError, isAllowed, runGoverned, type Decision } from '@toolgate/core';
import { readEdits, settleEdits, withNotice } from './edits';
import { parseArgs, ungateableKind, type AnyContext, type Governor } from './governor';
import { recordOf } from './run-record';
import { bindContext, governorsFor, governorsOfRun, objectGovernor, runInScope, setObjectGovernor } from './scope';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyAgent = Agent<any, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunctionTool = FunctionTool<any, any, any>;

/**
 * Dispatchers go on each SDK object once, whatever the number of gates and runs: a dynamic
 * `needsApproval`, one input and one output guardrail per function tool; `needsApproval`,
 * `onApproval` and a wrapped Shell/Editor per local tool; a `getAllTools` wrapper and three
 * listeners per agent. At call time they ask `scope.ts` which governors decide this run; with
 * none they step aside. Objects are changed in place, not copied: the SDK keys its zod input
 * parser, the MCP binding and the `asTool()` source agent by object identity.
 */
const installed = new WeakSet<object>();

/**
 * `onApproval` may only answer `{ approve: boolean }` in the SDK's types, but its runtime leaves a
 * call pending — an interruption for a human — when `approve` is neither true nor false. That is the
 * only way for a shell/apply_patch call that needs `onApproval` for denials to pause on `review`.
 */
const PENDING = { approve: undefined } as unknown as { approve: boolean };

interface LocalCall {
  callId: string;
  runContext: AnyContext;
}
const localByAction = new WeakMap<object, LocalCall>();
let localSlot: (LocalCall & { tool: string }) | undefined;

// ------------------------------------------------------------------------------------------
// Runs

const patchedRun = new WeakSet<object>();
const attachedOnce = new WeakSet<object>();
const warnedUngoverned = new WeakSet<object>();

/**
 * Makes `run` of this runner's class govern: each run (and every run nested in it, such as the
 * sub-agent behind an `agent.asTool()` tool) executes in the scope of its governors; before it
 * starts, the agent graph gets its dispatchers, ungateable high-stakes tools are refused, and the
 * human answers in a resumed RunState are recorded. Without governors, `run` is untouched.
 */
export function patchRunnerClass(runner: object): void {
  let owner: object | null = runner;
  while (owner && !Object.prototype.hasOwnProperty.call(owner, 'run')) owner = Object.getPrototypeOf(owner) as object | null;
  if (!owner || patchedRun.has(owner)) return;
  patchedRun.add(owner);
  const target = owner as { run: (...a: unknown[]) => unknown };
  const original = target.run;
  target.run = function governedRun(this: object, ...args: unknown[]) {
    const [agent, input, ...rest] = args as [AnyAgent, unknown, ...unknown[]];
    const governors = agent instanceof Agent ? governorsOfRun(this, agent) : [];
    if (governors.length === 0) {
      if (agent instanceof Agent && attachedOnce.has(agent) && !warnedUngoverned.has(agent)) {
        warnedUngoverned.add(agent);
        console.warn(
          `toolgate: agent "${agent.name}" ran under an attached runner before and now runs under a runner with no gate; its high-stakes tools are NOT gated in this run. Attach a gate to this runner, or govern the agent everywhere with governAgent(agent, gate).`,
        );
      }
      return original.call(this, agent, input, ...rest);
    }
    if (agent instanceof Agent) attachedOnce.add(agent);
    // A streamed run goes on after this returns; its context keeps the governors either way.
    const bind = <T>(result: T): T => {
      bindContext((result as { state?: { _context?: object } } | undefined)?.state?._context, governors);
      noteInterruptions(governors, result);
      return result;
    };
    return runInScope(governors, () => {
      try {
        installAgent(agent);
        for (const g of governors) checkGraph(g, agent);
        if (input instanceof RunState) {
          bindContext((input as { _context?: object })._context, governors);
          return recordHumanAnswers(governors, input as RunState<unknown, never>)
            .then(() => original.call(this, agent, input, ...rest))
            .then(bind);
        }
        // No async frame of our own on the common path: the SDK's promise, then bind.
        return Promise.resolve(original.call(this, agent, input, ...rest)).then(bind);
      } catch (error) {
        return Promise.reject(error as Error);
      }
    });
  };
}

/**
 * After a run: the interruptions its result shows a human (a streamed run's once it completed),
 * noted by each governor for the calls it paused, so that a resume answers only those calls.
 */
function noteInterruptions(governors: readonly Governor[], result: unknown): void {
  const r = result as { interruptions?: unknown; completed?: unknown } | undefined;
  if (!r || typeof r !== 'object') return;
  const note = () => {
    const items = r.interruptions;
    if (!Array.isArray(items) || items.length === 0) return;
    for (const g of governors) g.noteInterruptions(items as RunToolApprovalItem[]);
  };
  if (r.completed instanceof Promise) void r.completed.then(note, () => {});
  else note();
}

/**
 * Before a RunState resumes: the human answers in its interruptions, recorded on every governor's
 * gate. Edits (`approveWithEdits`) are read once, before any governor turns one into an SDK
 * approval, reviewed by each gate, then settled: approved in the SDK only if every gate allowed it.
 */
export async function recordHumanAnswers(governors: readonly Governor[], state: RunState<unknown, never>): Promise<void> {
  const edits = readEdits(state as unknown as Parameters<typeof readEdits>[0]);
  const outcomes = [];
  for (const g of governors) outcomes.push(await g.recordHumanDecisions(state, edits));
  if (edits.size === 0) return;
  settleEdits(state, edits, outcomes);
  // An edit runs only when every gate allowed it; one a gate refused must not wait in another
  // governor for a later call under the same tool + call id (another run's), which would run it.
  for (const k of edits.keys()) {
    const decisions = outcomes.map((o) => o.get(k));
    if (decisions.every((d) => d !== undefined && isAllowed(d))) continue;
    for (const g of governors) g.dropEdit(k);
  }
}

/** Refuses (or warns about) high-stakes tools in the graph that cannot be stopped before they run. */
export function checkGraph(governor: Governor, agent: AnyAgent, seen?: Set<AnyAgent>): void {
  if (seen) {
    if (seen.has(agent)) return;
    seen.add(agent);
  }
  for (const tool of agent.tools) governor.checkUngateable(tool as Tool<unknown>, agent.name);
  if (agent.handoffs?.length) {
    const s = seen ?? new Set([agent]);
    for (const target of handoffTargets(agent)) checkGraph(governor, target, s);
  }
}

/** governAgent: the agent and what it reaches keep this governor for every run. */
export function governStatically(governor: Governor, agent: AnyAgent, seen = new Set<AnyAgent>()): void {
  if (seen.has(agent)) return;
  seen.add(agent);
  setObjectGovernor(agent, governor, `agent "${agent.name}"`);
  for (const tool of agent.tools) {
    governor.checkUngateable(tool as Tool<unknown>, agent.name);
    setObjectGovernor(tool, governor, `tool "${(tool as Tool<unknown>).name}"`);
  }
  installAgent(agent);
  for (const target of handoffTargets(agent)) governStatically(governor, target, seen);
}

function handoffTargets(agent: AnyAgent): AnyAgent[] {
  const out: AnyAgent[] = [];
  for (const h of agent.handoffs ?? []) {
    const target = h instanceof Agent ? h : (h as { agent?: AnyAgent }).agent;
    if (target) out.push(target);
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// Agents

export function installAgent(agent: AnyAgent, seen?: Set<AnyAgent>): void {
  if (seen) {
    if (seen.has(agent)) return;
    seen.add(agent);
  }
  for (const tool of agent.tools) installTool(tool as Tool<unknown>);
  if (!installed.has(agent)) {
    installed.add(agent);
    const getAllTools = agent.getAllTools;
    // MCP tools are built per turn by getAllTools: give them dispatchers before they are used.
    agent.getAllTools = function governedGetAllTools(this: AnyAgent, ...args: Parameters<AnyAgent['getAllTools']>) {
      let listed: Promise<Awaited<ReturnType<AnyAgent['getAllTools']>>>;
      try {
        listed = Promise.resolve(getAllTools.apply(this ?? agent, args));
      } catch (error) {
        return Promise.reject(error as Error);
      }
      return listed.then((tools) => {
        const own = objectGovernor(agent);
        let governors: readonly Governor[] | undefined;
        for (const tool of tools) {
          // A function tool already installed and governed as it should be: nothing to do (the common case, every turn).
          if (installed.has(tool) && (!own || objectGovernor(tool))) continue;
          if (own && !objectGovernor(tool)) setObjectGovernor(tool, own, `tool "${tool.name}"`);
          for (const g of (governors ??= governorsFor(agent, args[0]))) g.checkUngateable(tool as Tool<unknown>, agent.name);
          installTool(tool as Tool<unknown>);
        }
        return tools;
      });
    };
    // Where the calling agent's name is kept per run, for needsApproval (which is not given the agent).
    agent.on('agent_start', (ctx: AnyContext) => {
      recordOf(ctx).agent = agent.name;
    });
    agent.on('agent_tool_start', (ctx: AnyContext, tool: Tool<unknown>, details: { toolCall: unknown }) => {
      if (tool.type !== 'shell' && tool.type !== 'apply_patch') return;
      const callId = (details.toolCall as { callId?: string }).callId;
      // Emitted synchronously right before shell.run / editor.*: the next local call is this one.
      if (callId) localSlot = { callId, runContext: ctx, tool: tool.name };
    });
    agent.on('agent_tool_end', (ctx: AnyContext, tool: Tool<unknown>, result: string, details: { toolCall: unknown }) => {
      // Output guardrails report executed calls; a call still marked running here threw out of invoke.
      const callId = (details.toolCall as { callId?: string }).callId;
      if (!callId || tool.type !== 'function') return;
      for (const g of governorsFor(tool, ctx)) if (g.isRunning(tool.name, callId)) void g.ran(tool.name, callId, { failed: result });
    });
  }
  // Every run installs its agent again (tools may have been added): no Set for an agent without handoffs.
  if (agent.handoffs?.length) {
    const s = seen ?? new Set([agent]);
    for (const target of handoffTargets(agent)) installAgent(target, s);
  }
}

// ------------------------------------------------------------------------------------------
// Tools

export function installTool(tool: Tool<unknown>): void {
  if (installed.has(tool) || ungateableKind(tool)) return;
  if (tool.type === 'function') {
    installed.add(tool);
    installFunctionTool(tool as AnyFunctionTool);
  } else if (tool.type === 'shell') {
    installed.add(tool);
    installShellTool(tool as ShellTool & { shell: NonNullable<ShellTool['shell']> });
  } else if (tool.type === 'apply_patch') {
    installed.add(tool);
    installApplyPatchTool(tool as ApplyPatchTool);
  }
}

/** Combines the governors' answers: any deny stops it, else any review pauses it. */
async function approvals(governors: readonly Governor[], ask: (g: Governor) => Promise<'allow' | 'deny' | 'review' | 'pass'>): Promise<'deny' | 'review' | 'allow'> {
  let review = false;
  for (const g of governors) {
    const a = await ask(g);
    if (a === 'deny') return 'deny';
    if (a === 'review') review = true;
  }
  return review ? 'review' : 'allow';
}

function info(decisions: Decision[]) {
  const d = decisions.at(-1);
  if (!d) return undefined;
  const toolgate: { verdict: string; source: string; reason: string; reviewId?: string; auditId?: string; callId?: string; error?: string } = { verdict: d.verdict, source: d.source, reason: d.reason };
  if (d.reviewId) toolgate.reviewId = d.reviewId;
  if (d.auditId) toolgate.auditId = d.auditId;
  if (d.callId) toolgate.callId = d.callId;
  if (d.error) toolgate.error = d.error.code;
  return { toolgate };
}

/** The names a function tool is known by besides `tool.name`: `namespace.name` inside a toolNamespace(). */
function otherNames(tool: AnyFunctionTool): string[] {
  const display = typeof getFunctionToolDisplayName === 'function' ? getFunctionToolDisplayName(tool) : undefined;
  return display && display !== tool.name ? [display] : [];
}

/** Calls whose edited Decision the input guardrail allowed, per tool object, until their body starts. */
const armedEdits = new WeakMap<object, Set<string>>();

/**
 * `tool.invoke` becomes an accessor (the first time a call of the tool is edited, right after its
 * input guardrail allowed it and before the SDK reads `invoke`): the SDK's own function, except
 * while an edited call of this tool is between its input guardrail and its body — then a wrapper that hands the body exactly the
 * edited arguments and appends the edit notice to what the model sees. Swapping only then keeps the
 * SDK's per-invoke input parser (keyed by the function) for every other call.
 */
function installEditedInvoke(tool: AnyFunctionTool): void {
  let current = tool.invoke;
  const edited: AnyFunctionTool['invoke'] = async function editedInvoke(this: unknown, ctx, input, details) {
    const callId = (details as { toolCall?: { callId?: string } } | undefined)?.toolCall?.callId;
    const armed = callId ? armedEdits.get(tool) : undefined;
    if (!callId || !armed?.has(callId)) return current.call(this, ctx, input, details);
    armed.delete(callId);
    let run: { input: string; notice: string } | undefined;
    for (const g of governorsFor(tool, ctx)) run ??= g.editedRun(tool.name, callId);
    // Fail closed: an armed call whose edited Decision is gone must not run with the original arguments.
    if (!run) throw new Error(`toolgate: the edited call ${callId} of "${tool.name}" lost its Decision before it ran; nothing ran`);
    const out: unknown = await current.call(this, ctx, run.input, details);
    return withNotice(out, run.notice) as Awaited<ReturnType<AnyFunctionTool['invoke']>>;
  };
  Object.defineProperty(tool, 'invoke', {
    configurable: true,
    enumerable: true,
    get: () => ((armedEdits.get(tool)?.size ?? 0) > 0 ? edited : current),
    set: (fn: AnyFunctionTool['invoke']) => {
      current = fn;
    },
  });
}

/** Tools whose `invoke` is the accessor: made so the first time one of their calls is edited. */
const editableInvoke = new WeakSet<object>();

function armEdit(tool: AnyFunctionTool, callId: string): void {
  if (!editableInvoke.has(tool)) {
    editableInvoke.add(tool);
    installEditedInvoke(tool);
  }
  let set = armedEdits.get(tool);
  if (!set) armedEdits.set(tool, (set = new Set()));
  if (set.size >= 10_000) set.clear();
  set.add(callId);
}

function installFunctionTool(tool: AnyFunctionTool): void {
  const original = tool.needsApproval;
  tool.needsApproval = async (ctx: AnyContext, input: unknown, callId?: string) => {
    const governors = governorsFor(tool, ctx);
    if (governors.length === 0) return original(ctx, input, callId);
    const names = () => otherNames(tool);
    const a =
      governors.length === 1
        ? await governors[0]!.functionApproval(tool.name, ctx, input, callId, names)
        : await approvals(governors, (g) => g.functionApproval(tool.name, ctx, input, callId, names));
    if (a === 'review') return true; // the SDK's own HITL: an interruption, state.approve/reject, resume
    if (a === 'deny') return false; // the input guardrail rejects it, with the denial text
    return original(ctx, input, callId);
  };
  const input = defineToolInputGuardrail({
    name: 'toolgate',
    run: async ({ context, agent, toolCall }) => {
      const governors = governorsFor(tool, context);
      if (governors.length === 0) return Guard.allow();
      const decisions: Decision[] = [];
      const args = parseArgs(toolCall.arguments);
      const names = () => {
        const ns = (toolCall as { namespace?: unknown }).namespace;
        return [...otherNames(tool), ...(typeof ns === 'string' && ns && ns !== toolCall.name ? [`${ns}.${toolCall.name}`] : [])];
      };
      for (const g of governors) {
        const r = await g.functionGuard(tool.name, context, toolCall.name, toolCall.callId, args, agent?.name, names, (toolCall as { namespace?: unknown }).namespace);
        if (r.decision) decisions.push(r.decision);
        if (!r.allowed && r.decision) {
          for (const other of governors) if (other !== g) other.cancel(tool.name, toolCall.callId);
          if (g.options.onDeny === 'throw') throw new GovernanceDeniedError(r.decision);
          return Guard.rejectContent(denialText(r.decision), info([r.decision]));
        }
      }
      // A human's edit: the body must get the edited arguments (the SDK would pass the model's).
      if (decisions.some((d) => d.edited && isAllowed(d))) armEdit(tool, toolCall.callId);
      return Guard.allow(info(decisions));
    },
  });
  const output = defineToolOutputGuardrail({
    name: 'toolgate_outcome',
    run: async ({ context, toolCall }) => {
      let failed: { message: string } | null | undefined;
      for (const g of governorsFor(tool, context)) {
        if (!g.isRunning(tool.name, toolCall.callId)) continue;
        // tool() turns an execute() throw into text via its errorFunction and marks the function span.
        failed ??= getCurrentSpan()?.error ?? null;
        await g.ran(tool.name, toolCall.callId, failed ? { failed: failed.message } : {});
      }
      return Guard.allow();
    },
  });
  tool.inputGuardrails = [...(tool.inputGuardrails ?? []), input];
  tool.outputGuardrails = [...(tool.outputGuardrails ?? []), output];
}

// Local shell / apply_patch: needsApproval + onApproval (they have no guardrails), and the body wrapped.

function installLocal(tool: ShellTool | ApplyPatchTool): void {
  const originalNeeds = tool.needsApproval as (ctx: AnyContext, action: unknown, callId?: string) => Promise<boolean>;
  const originalOnApproval = tool.onApproval;
  tool.needsApproval = async (ctx: AnyContext, action: unknown, callId?: string) => {
    const governors = governorsFor(tool, ctx);
    if (governors.length === 0) return originalNeeds(ctx, action, callId);
    if (callId && typeof action === 'object' && action !== null) localByAction.set(action, { callId, runContext: ctx });
    const a = await approvals(governors, (g) => g.localApproval(tool.name, ctx, action, callId));
    if (a === 'allow') return originalNeeds(ctx, action, callId);
    return true; // onApproval answers deny; review stays pending for a human
  };
  tool.onApproval = async (ctx: AnyContext, item: RunToolApprovalItem) => {
    const governors = governorsFor(tool, ctx);
    const callId = (item.rawItem as { callId?: string }).callId;
    let pending = false;
    for (const g of governors) {
      const d = g.localDecision(tool.name, callId);
      if (d && d.verdict === 'review') pending = true;
      else if (d && !isAllowed(d)) {
        if (g.options.onDeny === 'throw') throw new GovernanceDeniedError(d);
        return { approve: false, reason: denialText(d) };
      }
    }
    if (pending) return PENDING;
    return originalOnApproval ? originalOnApproval(ctx, item) : PENDING;
  };
}

function installShellTool(tool: ShellTool & { shell: NonNullable<ShellTool['shell']> }): void {
  installLocal(tool);
  const shell = tool.shell;
  const wrapped = Object.create(shell) as typeof shell;
  wrapped.run = (action) =>
    runLocal(tool, action, (ctx) => ctx, (reviewed) => shell.run(reviewed as typeof action), (d) => ({
      output: [{ stdout: '', stderr: denialText(d), outcome: { type: 'exit', exitCode: null } }],
    }));
  tool.shell = wrapped;
}

function installApplyPatchTool(tool: ApplyPatchTool): void {
  installLocal(tool);
  const editor = tool.editor;
  const wrapped = Object.create(editor) as Editor;
  for (const method of ['createFile', 'updateFile', 'deleteFile'] as const) {
    const fn = editor[method].bind(editor) as (op: unknown, c?: unknown) => ReturnType<Editor['createFile']>;
    (wrapped as unknown as Record<string, unknown>)[method] = (op: unknown, c?: { runContext?: AnyContext }) =>
      runLocal(tool, op, () => c?.runContext, (reviewed) => fn(reviewed, c), (d) => ({ status: 'failed' as const, output: denialText(d) }));
  }
  tool.editor = wrapped;
}

/**
 * Last line of defence for local tools: runs the body only under allowing (or human-approved)
 * Decisions, with the reviewed action (`decision.args`, parsed from the canonical JSON the reviewer
 * saw), never the SDK's object, which a listener could have changed since.
 */
async function runLocal<T>(
  tool: ShellTool | ApplyPatchTool,
  action: unknown,
  ctxHint: (ctx: AnyContext | undefined) => AnyContext | undefined,
  body: (reviewed: unknown) => Promise<T>,
  denied: (d: Decision) => T,
): Promise<T> {
  const slot = localSlot?.tool === tool.name ? localSlot : undefined;
  localSlot = undefined;
  const call = (typeof action === 'object' && action !== null ? localByAction.get(action) : undefined) ?? slot;
  const ctx = ctxHint(call?.runContext);
  const governors = governorsFor(tool, ctx);
  const allowed: Array<{ g: Governor; d: Decision }> = [];
  for (const g of governors) {
    const d = await g.localGuard(tool.name, action, call, ctx);
    if (!d) continue;
    if (!isAllowed(d)) return denied(d);
    allowed.push({ g, d });
  }
  if (allowed.length === 0) return body(action);
  let run: (reviewed: unknown) => Promise<T> = body;
  for (const { g, d } of allowed) {
    const inner = run;
    run = () => runGoverned(g.gate, d, inner);
  }
  try {
    return await run(undefined);
  } finally {
    for (const { g } of allowed) g.forget(tool.name, call?.callId);
  }
}
