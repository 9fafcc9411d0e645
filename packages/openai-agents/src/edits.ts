import type { RunContext, RunToolApprovalItem } from '@openai/agents';
import { denialText, isAllowed, OptionsError, type Decision } from '@toolgate/core';

/**
 * Approve-with-edits on an OpenAI Agents `RunState` (the SDK has only approve and reject:
 * openai-agents-js #1097). The edit is kept in the SDK's own per-call decision for the
 * interruption — a rejection whose message carries the edit — so it is serialised by
 * `state.toString()`, restored by `RunState.fromString()`, bound by the SDK to that one call, and
 * fails closed: resumed without toolgate, the call stays rejected and nothing runs. Resumed through
 * a governed runner, toolgate reads the edit back, has the gate review the edited call from the
 * start (`gate.resolveReview(…, { type: 'edit', args })`), and only if that allows it turns the
 * SDK decision into an approval; the tool body then receives exactly the edited arguments.
 */

/** The marker between the readable text and the edit, in the rejection message. */
const MARKER = '\n\n[toolgate-edit v1] ';
/** Largest edited-arguments JSON accepted (the gate's own limit applies again at review). */
const MAX_EDIT_BYTES = 1_000_000;

/** What `approveWithEdits` keeps for one call (inside the SDK's rejection message for it). */
export interface EditRecord {
  /** Edited arguments, canonical JSON text as given. */
  args: string;
  /** The tool the edit names (the interruption's tool unless the app passed another). */
  tool: string;
  approver?: string;
  reason?: string;
}

/** Options of `approveWithEdits`. */
export interface ApproveWithEditsOptions {
  /** Who edited and approved (recorded in the audit and on the Decision as `decidedBy`). Default: the hooks' `approver` option, else `'human'`. */
  approver?: string;
  /** Why, for the audit record. */
  reason?: string;
  /**
   * The tool the edited call is for, when your UI hands back an edited function call with a name.
   * An edit changes arguments only: any other tool than the interruption's is refused
   * (`EDIT_TOOL_CHANGED`) and nothing runs. Default: the interruption's tool.
   */
  toolName?: string;
}

/** The part of a `RunState` this needs (any `RunState<TContext, TAgent>` fits). */
export interface ApprovableState {
  approve(approvalItem: RunToolApprovalItem, options?: { alwaysApprove?: boolean }): void;
  reject(approvalItem: RunToolApprovalItem, options?: { alwaysReject?: boolean; message?: string }): void;
}

/**
 * Approves an interruption with edited arguments, the way `state.approve(item)` approves it as
 * asked. Then resume as usual (`runner.run(agent, state)`, also after
 * `state.toString()` / `RunState.fromString(agent, str)` in another process). On resume the gate
 * reviews the edited call from the start: a policy deny of it stands and nothing runs; an allow
 * (or a review, which this human's edit approves) runs the tool body once, with exactly `args`;
 * the tool result the model sees ends with "The call ran with edited arguments: {…}. Do not repeat
 * the original call." An edit cannot change the tool. Resumed without toolgate, the call stays
 * rejected and nothing runs.
 *
 * Only for function-tool calls that toolgate sent for review; throws `OptionsError` for anything
 * else (a shell / apply_patch call, arguments that are not a JSON object).
 *
 * @example
 * const result = await runner.run(agent, 'send 25000 to bob');
 * const item = result.interruptions[0]!;
 * approveWithEdits(result.state, item, { to: 'bob', amount: 2500 }, { approver: 'alice' });
 * const resumed = await runner.run(agent, result.state); // transfer runs once, with 2500
 */
export function approveWithEdits(state: ApprovableState, approvalItem: RunToolApprovalItem, args: Record<string, unknown> | string, options: ApproveWithEditsOptions = {}): void {
  if (!state || typeof state.reject !== 'function' || typeof state.approve !== 'function') {
    throw new OptionsError('approveWithEdits(state, item, args): state must be the RunState of the interrupted run (result.state)');
  }
  const raw = (approvalItem as { rawItem?: { type?: unknown; callId?: unknown } } | undefined)?.rawItem;
  if (!raw || raw.type !== 'function_call' || typeof raw.callId !== 'string') {
    throw new OptionsError(
      'approveWithEdits(state, item, args): item must be a function-tool interruption from result.interruptions; shell and apply_patch calls take state.approve(item) / state.reject(item, { message })',
    );
  }
  if (typeof options !== 'object' || options === null) throw new OptionsError('approveWithEdits: options must be an object');
  for (const f of ['approver', 'reason', 'toolName'] as const) {
    const v: unknown = options[f];
    if (v !== undefined && (typeof v !== 'string' || v.length === 0)) throw new OptionsError(`approveWithEdits: ${f} must be a non-empty string`);
  }
  const json = editedJson(args);
  const record: EditRecord = { args: json, tool: options.toolName ?? approvalItem.toolName ?? approvalItem.name ?? '' };
  if (options.approver) record.approver = options.approver.toWellFormed();
  if (options.reason) record.reason = options.reason.toWellFormed();
  const readable =
    'toolgate: a human approved this call with edited arguments. It runs only when the run is resumed through a runner governed by toolgate (GovernanceHooks.attach or governAgent); it was not, so nothing ran.';
  state.reject(approvalItem, { message: `${readable}${MARKER}${JSON.stringify(record)}` });
}

/** The edited arguments as JSON text of an object, or an OptionsError that says what to pass. */
function editedJson(args: unknown): string {
  let value: unknown = args;
  if (typeof args === 'string') {
    try {
      value = JSON.parse(args);
    } catch {
      throw new OptionsError('approveWithEdits: args is a string but not JSON; pass an object, or a JSON string of one');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OptionsError('approveWithEdits: args must be an object of the tool\'s arguments (or a JSON string of one)');
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new OptionsError(`approveWithEdits: args cannot be written as JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (json === undefined || json.length > MAX_EDIT_BYTES) throw new OptionsError(`approveWithEdits: args must be JSON of at most ${MAX_EDIT_BYTES} bytes`);
  return json;
}

/** The edit kept for `item` in its run context, if `approveWithEdits` put one there. */
export function readEdit(ctx: RunContext<unknown>, item: RunToolApprovalItem): EditRecord | undefined {
  const raw = item.rawItem as { type?: string; callId?: string };
  const name = item.toolName ?? item.name;
  if (raw.type !== 'function_call' || !raw.callId || !name) return undefined;
  if (ctx.isToolApproved({ toolName: name, callId: raw.callId }) !== false) return undefined;
  let message: string | undefined;
  try {
    message = ctx.getRejectionMessage(name, raw.callId);
  } catch {
    return undefined;
  }
  if (typeof message !== 'string') return undefined;
  const at = message.lastIndexOf(MARKER);
  if (at < 0) return undefined;
  try {
    const r = JSON.parse(message.slice(at + MARKER.length)) as Partial<EditRecord>;
    if (typeof r.args !== 'string' || typeof r.tool !== 'string') return undefined;
    const out: EditRecord = { args: r.args, tool: r.tool };
    if (typeof r.approver === 'string' && r.approver) out.approver = r.approver;
    if (typeof r.reason === 'string' && r.reason) out.reason = r.reason;
    return out;
  } catch {
    return undefined;
  }
}

/** The key of an interruption in the maps below: tool name + NUL + call id (`getInterruptions()` builds new items each time). */
export function itemKey(item: RunToolApprovalItem): string {
  return `${item.toolName ?? item.name ?? ''}\u0000${(item.rawItem as { callId?: string }).callId ?? ''}`;
}

/** Every edit kept in a RunState's interruptions (by `itemKey`), read once before the governors record answers. */
export function readEdits(state: { _context: RunContext<unknown>; getInterruptions(): RunToolApprovalItem[] }): Map<string, { item: RunToolApprovalItem; edit: EditRecord }> {
  const out = new Map<string, { item: RunToolApprovalItem; edit: EditRecord }>();
  for (const item of state.getInterruptions()) {
    const edit = readEdit(state._context, item);
    if (edit) out.set(itemKey(item), { item, edit });
  }
  return out;
}

/**
 * After every governor reviewed the edits: an edit that each gate allowed becomes the SDK's
 * approval (the guardrail then runs the edited call); any other is a rejection whose message is
 * what the model sees (the gate's denial, or why the edit could not be applied).
 */
export function settleEdits(state: ApprovableState, edits: ReadonlyMap<string, { item: RunToolApprovalItem }>, outcomes: ReadonlyArray<ReadonlyMap<string, Decision>>): void {
  for (const [k, { item }] of edits) {
    const decisions = outcomes.map((o) => o.get(k)).filter((d): d is Decision => d !== undefined);
    const refused = decisions.find((d) => !isAllowed(d));
    if (decisions.length > 0 && !refused) {
      state.approve(item);
      continue;
    }
    const name = item.toolName ?? item.name ?? 'this tool';
    const message = refused
      ? denialText(refused)
      : `toolgate: the edit was not applied: toolgate does not review "${name}", so there is no review to answer with an edit; nothing ran. Ask for a new call with the arguments you need.`;
    state.reject(item, { message });
  }
}

/**
 * The tool output the model sees after an edited call ran: the tool's own output with the edit
 * notice after it (as a text part when the output is structured).
 */
export function withNotice(output: unknown, notice: string): unknown {
  if (typeof output === 'string') return output ? `${output}\n\n${notice}` : notice;
  const text = { type: 'text', text: notice };
  if (isStructured(output)) return [output, text];
  if (Array.isArray(output) && output.length > 0 && output.every(isStructured)) return [...output, text];
  let json: string;
  try {
    json = JSON.stringify(output) ?? String(output);
  } catch {
    json = String(output);
  }
  return `${json}\n\n${notice}`;
}

function isStructured(v: unknown): boolean {
  const t = typeof v === 'object' && v !== null ? (v as { type?: unknown }).type : undefined;
  return t === 'text' || t === 'image' || t === 'file' || t === 'input_text' || t === 'input_image' || t === 'input_file';
}
