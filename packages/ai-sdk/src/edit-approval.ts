/**
 * An approval with edited input, carried in the approval response's `reason`: the one field of an
 * AI SDK approval response that survives every path back to the server (a `tool-approval-response`
 * model message part, and `useChat`'s `addToolApprovalResponse` → UI message → `convertToModelMessages`).
 * For an approved call the SDK never shows `reason` to the model, so the encoding stays between the
 * human's UI and the governed tool.
 *
 * Pure functions, no imports: safe to use in the browser.
 */

const PREFIX = 'toolgate:edit:';

/** What a human's edit says: the same tool with this input instead. */
export interface ApprovalEdit {
  /** The input the tool runs with instead of the model's (reviewed again by the gate first). */
  input: unknown;
  /** The tool the edit is for. Only checked: an edit that names another tool is refused (EDIT_TOOL_CHANGED). */
  toolName?: string;
  /** The human's note (kept as the approval's reason in the audit record). */
  reason?: string;
}

/** What `readApprovalEdit` finds in an approval reason. */
export type ReadEdit =
  | { kind: 'none' }
  | { kind: 'edit'; edit: ApprovalEdit; approvalId: string }
  | { kind: 'invalid'; problem: string };

function encode(approvalId: string, edit: ApprovalEdit): string {
  if (typeof approvalId !== 'string' || approvalId.length === 0) throw new TypeError('toolgate: an edited approval needs the approval id (part.approval.id / request.approvalId)');
  let json: string | undefined;
  try {
    json = JSON.stringify({
      v: 1,
      approvalId,
      input: edit.input,
      ...(edit.toolName !== undefined ? { toolName: edit.toolName } : {}),
      ...(edit.reason !== undefined ? { reason: edit.reason } : {}),
    });
  } catch {
    json = undefined;
  }
  if (json === undefined || edit.input === undefined) throw new TypeError('toolgate: the edited input must be JSON (an object of the tool input)');
  return `${PREFIX}${json}`;
}

/**
 * A `tool-approval-response` part that approves the call with edited input — for apps that append
 * the human's answer to `messages` themselves (`generateText` / `streamText` continuations). The
 * governed tool re-reviews the edited call with the gate and runs it with exactly `input`.
 *
 * @example
 * messages.push(...first.responseMessages, { role: 'tool', content: [
 *   editedApprovalResponse({ approvalId: request.approvalId, input: { ...request.toolCall.input, amount: 2500 } }),
 * ] });
 */
export function editedApprovalResponse(args: { approvalId: string } & ApprovalEdit): { type: 'tool-approval-response'; approvalId: string; approved: true; reason: string } {
  return { type: 'tool-approval-response', approvalId: args.approvalId, approved: true, reason: encode(args.approvalId, args) };
}

/**
 * The argument of `useChat`'s `addToolApprovalResponse` (ai 6 and 7) that approves a tool part
 * in state `approval-requested` with edited input.
 *
 * @example
 * addToolApprovalResponse(editedChatApproval({ id: part.approval.id, input: { ...part.input, amount: 2500 } }));
 */
export function editedChatApproval(args: { id: string } & ApprovalEdit): { id: string; approved: true; reason: string } {
  return { id: args.id, approved: true, reason: encode(args.id, args) };
}

/**
 * Reads an edit from an approval response's `reason` (for the server, and for UIs that show the
 * answer). A reason without the `toolgate:edit:` prefix is `none` (a plain approval); one with the
 * prefix that cannot be read is `invalid` (the call must not run as asked, nor as edited).
 */
export function readApprovalEdit(reason: unknown): ReadEdit {
  if (typeof reason !== 'string' || !reason.startsWith(PREFIX)) return { kind: 'none' };
  let body: unknown;
  try {
    body = JSON.parse(reason.slice(PREFIX.length));
  } catch {
    return { kind: 'invalid', problem: 'the edit is not JSON' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { kind: 'invalid', problem: 'the edit is not an object' };
  const b = body as Record<string, unknown>;
  if (b.v !== 1) return { kind: 'invalid', problem: `unknown edit version ${JSON.stringify(b.v)}` };
  if (typeof b.approvalId !== 'string' || b.approvalId.length === 0) return { kind: 'invalid', problem: 'the edit names no approval id' };
  if (!('input' in b) || b.input === null || typeof b.input !== 'object' || Array.isArray(b.input)) {
    return { kind: 'invalid', problem: 'the edited input must be an object' };
  }
  if (b.toolName !== undefined && typeof b.toolName !== 'string') return { kind: 'invalid', problem: 'toolName must be a string' };
  if (b.reason !== undefined && typeof b.reason !== 'string') return { kind: 'invalid', problem: 'reason must be a string' };
  const edit: ApprovalEdit = { input: b.input };
  if (typeof b.toolName === 'string') edit.toolName = b.toolName;
  if (typeof b.reason === 'string' && b.reason.length > 0) edit.reason = b.reason;
  return { kind: 'edit', edit, approvalId: b.approvalId };
}
