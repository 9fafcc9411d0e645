import { REDACTED, type Decision, type HumanAnswer, type HumanDecision } from '@toolgate/core';
import { humanDecisionOf } from '@toolgate/core';

// LangChain's own human-in-the-loop shapes (langchain `humanInTheLoopMiddleware`: `HITLRequest`,
// `HITLResponse`), declared here structurally so the main entry does not need `langchain`
// installed. `hitl-shapes.test-d.ts` checks they stay assignable to and from langchain's types.

/** What a human may answer: LangChain's `DecisionType`. */
export type HitlDecisionType = 'approve' | 'edit' | 'reject';

/** One call shown to the human: LangChain's `ActionRequest`. */
export interface HitlActionRequest {
  /** The tool. */
  name: string;
  /** The call's arguments, secrets redacted. */
  args: Record<string, unknown>;
  /** Why a human is asked, the tool and its arguments, as text. */
  description?: string;
}

/** What the human may do with one call: LangChain's `ReviewConfig`. */
export interface HitlReviewConfig {
  actionName: string;
  allowedDecisions: HitlDecisionType[];
  /** JSON schema for the arguments, when edits are allowed and the schema is known. */
  argsSchema?: Record<string, unknown>;
}

/** The interrupt value LangChain UIs (Agent Chat UI) render: LangChain's `HITLRequest`. */
export interface HitlRequest {
  actionRequests: HitlActionRequest[];
  reviewConfigs: HitlReviewConfig[];
}

/** One human decision: LangChain's `Decision` (`ApproveDecision | EditDecision | RejectDecision`). */
export type HitlDecision =
  | { type: 'approve' }
  | { type: 'edit'; editedAction: { name: string; args: Record<string, unknown> } }
  | { type: 'reject'; message?: string };

/**
 * The resume value LangChain UIs send: LangChain's `HITLResponse`, one decision per action
 * request, in order. `new Command({ resume: { decisions: [{ type: 'approve' }] } })`.
 */
export interface HitlResponse {
  decisions: HitlDecision[];
}

/** The decisions a toolgate interrupt allows by default: all three, as `humanInTheLoopMiddleware` with `true`. */
export const DEFAULT_ALLOWED_DECISIONS: readonly HitlDecisionType[] = ['approve', 'edit', 'reject'];

/** One call waiting for a human, as the resume readers need it. */
export interface WaitingCall {
  id: string;
  decision: Decision;
  /** The (unredacted) arguments the human was asked about. */
  args: unknown;
}

/** The `ActionRequest` and `ReviewConfig` for one waiting call. */
export function hitlParts(decision: Decision, shownArgs: unknown, allowed: readonly HitlDecisionType[]): { action: HitlActionRequest; config: HitlReviewConfig } {
  const args = isRecord(shownArgs) ? shownArgs : {};
  return {
    action: { name: decision.tool, args, description: describe(decision, args) },
    config: { actionName: decision.tool, allowedDecisions: [...allowed] },
  };
}

/** Like langchain's default description, led by the reviewer's reason (and the deadline, when there is one). */
function describe(decision: Decision, args: Record<string, unknown>): string {
  const head = `toolgate: a human must review this call: ${decision.reason}`;
  const due = typeof decision.expiresAt === 'string' ? `\nAnswer before ${decision.expiresAt}, or the review expires.` : '';
  return `${head}${due}\n\nTool: ${decision.tool}\nArgs: ${JSON.stringify(args, null, 2)}`;
}

/** True when `resume` has LangChain's `HITLResponse` shape (a `decisions` array). */
export function isHitlResponse(resume: unknown): resume is HitlResponse {
  return isRecord(resume) && Array.isArray(resume.decisions);
}

/**
 * The core answer for each waiting call from a resume value: a LangChain `HITLResponse` (one
 * decision per waiting call, in the order of the interrupt's `actionRequests`), or toolgate's
 * answers keyed by `tool_call_id` (`{ approved }`, or a core `HumanDecision`). Anything missing,
 * malformed or not allowed is a rejection whose message says what was wrong: fail closed.
 */
export function answersFromResume(resume: unknown, waiting: readonly WaitingCall[], defaultApprover: string, allowed: readonly HitlDecisionType[]): HumanAnswer[] {
  if (isHitlResponse(resume)) {
    const decisions: unknown[] = resume.decisions;
    if (decisions.length !== waiting.length) {
      const why = `the HITLResponse has ${decisions.length} decision(s) for ${waiting.length} waiting call(s) (send one per action request, in order); rejected`;
      return waiting.map(() => reject(defaultApprover, why));
    }
    return waiting.map((call, i) => fromHitlDecision(decisions[i], call, defaultApprover, allowed));
  }
  return waiting.map((call) => fromKeyed(resume, call, defaultApprover));
}

function fromHitlDecision(raw: unknown, call: WaitingCall, defaultApprover: string, allowed: readonly HitlDecisionType[]): HumanAnswer {
  const d = isRecord(raw) ? raw : {};
  const approver = typeof d.approver === 'string' && d.approver.length > 0 ? d.approver : defaultApprover;
  const type: unknown = d.type;
  // toolgate's extension (as `approver`): the `digest` of the request the human looked at binds the
  // decision to that exact call (`hitlResume` adds it); a call changed since then is rejected.
  if (d.digest !== undefined && d.digest !== call.decision.digest) {
    return reject(approver, `the decision for tool call ${call.id} was given for other arguments than the call now waiting (the call changed after the human looked); rejected`);
  }
  if (type === 'expired') return { type: 'expired' };
  if (type !== 'approve' && type !== 'edit' && type !== 'reject') {
    return reject(approver, `the decision for tool call ${call.id} is not { type: 'approve' | 'edit' | 'reject' }; rejected`);
  }
  if (!allowed.includes(type)) {
    return reject(approver, `a "${type}" decision is not allowed for tool call ${call.id} (allowed: ${allowed.join(', ')}); rejected`);
  }
  if (type === 'approve') return { type: 'approve', approver };
  if (type === 'reject') {
    const message = typeof d.message === 'string' && d.message.length > 0 ? d.message : undefined;
    return { type: 'reject', approver, ...(message ? { message } : {}) };
  }
  const edited = isRecord(d.editedAction) ? d.editedAction : undefined;
  if (!edited || typeof edited.name !== 'string' || !isRecord(edited.args)) {
    return reject(approver, `the edit for tool call ${call.id} needs editedAction: { name: string, args: object }; rejected`);
  }
  // The tool name goes to core as `tool`: core refuses one that is not the reviewed tool (EDIT_TOOL_CHANGED).
  return { type: 'edit', tool: edited.name, args: restoreRedacted(edited.args, call.args), approver };
}

/** toolgate's own resume shape: answers keyed by `tool_call_id`. */
function fromKeyed(resume: unknown, call: WaitingCall, defaultApprover: string): HumanAnswer {
  const raw = isRecord(resume) ? resume[call.id] : undefined;
  const a = isRecord(raw) ? raw : undefined;
  const approver = typeof a?.approver === 'string' && a.approver.length > 0 ? a.approver : defaultApprover;
  if (!a) return reject(approver, `no valid answer for tool call ${call.id} in the resume value; rejected`);
  if (a.digest !== undefined && a.digest !== call.decision.digest) {
    return reject(approver, `the answer for tool call ${call.id} was given for other arguments than the call now waiting (the call changed after the human looked); rejected`);
  }
  const decision: HumanDecision | undefined = humanDecisionOf(a);
  if (!decision) return reject(approver, `no valid answer for tool call ${call.id} in the resume value; rejected`);
  if (decision.type === 'expired') return decision;
  const named = { ...decision, approver: decision.approver ?? approver };
  return named.type === 'edit' ? { ...named, args: restoreRedacted(named.args, call.args) } : named;
}

function reject(approver: string, message: string): HumanAnswer {
  return { type: 'reject', approver, message };
}

/**
 * The human edited what they were shown, which has secrets replaced by `[REDACTED]`. A value
 * still `[REDACTED]` where the original call had a value is the original value (the human left it
 * alone), so an edit of `amount` does not turn an API key into the text "[REDACTED]". The edited
 * call is reviewed again with the restored values.
 */
export function restoreRedacted(edited: unknown, original: unknown): unknown {
  if (edited === REDACTED) return original !== undefined ? original : edited;
  if (Array.isArray(edited)) return edited.map((v, i) => restoreRedacted(v, Array.isArray(original) ? original[i] : undefined));
  if (isRecord(edited)) {
    const o = isRecord(original) ? original : {};
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(edited)) out[k] = restoreRedacted(v, Object.hasOwn(o, k) ? o[k] : undefined);
    return out;
  }
  return edited;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
