import { createCustomSpan, getCurrentTrace, type RunContext, type RunState, type RunToolApprovalItem, type Tool } from '@openai/agents';
import { callDigest, claimExecution, editNotice, ErrorCodes, isAllowed, parseArgs as parseToolArgs, type Decision, type Gate, type HumanAnswer, type ToolCall } from '@toolgate/core';
import { recordDecision } from './decisions';
import { peekRecord } from './run-record';
import { itemKey, type EditRecord } from './edits';
import { AgentsErrorCodes, UngateableToolError } from './errors';
import type { ResolvedOptions } from './options';
import { declaredSpellings } from './tool-names';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyContext = RunContext<any>;

const MAX_ENTRIES = 10_000;
/** Digests kept per tool + call id in `shown` (call ids repeat across runs only with scripted or colliding ids). */
const MAX_SHOWN_PER_CALL = 16;

/**
 * The per-gate engine behind GovernanceHooks, governAgent and governTool: decides calls, records
 * human answers and outcomes. It holds no reference from SDK objects: the dispatchers that
 * `install.ts` puts on tools once ask `scope.ts` which governors decide a given run.
 */
export class Governor {
  readonly gate: Gate;
  readonly options: ResolvedOptions;
  /** Every Decision this governor made or resolved, by tool + callId (bounded). */
  readonly byKey = new Map<string, Decision>();
  private readonly inflight = new Map<string, Promise<Decision>>();
  private readonly resolving = new Map<string, Promise<Decision>>();
  /**
   * Calls put to a human through an interruption in this process: tool + call id → the digests of
   * the calls the human was shown (kept after the answer, oldest key evicted). A human's answer read
   * back from a RunState counts only for one of these: the string is the client's, and a paused
   * call whose arguments were changed in it is not the call the human answered.
   */
  private readonly shown = new Map<string, string[]>();
  private readonly running = new Map<string, { decision: Decision; started: number }>();
  private readonly warned = new Set<string>();
  /** Decisions whose call ran: a replay goes back to the gate, which answers ALREADY_EXECUTED. */
  private readonly executed = new WeakSet<Decision>();
  /** Edits the gate allowed on resume, by tool + callId: the digest of the call that was edited, the edited call's Decision, and the RunContext of the resume that read it (the only run it answers). */
  private readonly edits = new Map<string, { originalDigest: string; decision: Decision; run: WeakRef<object> }>();

  constructor(gate: Gate, options: ResolvedOptions) {
    this.gate = gate;
    this.options = options;
  }

  // ----------------------------------------------------------------------------------------
  // Names

  /**
   * The name to review `name` under when it is high-stakes: the name itself, or the spelling the
   * user declared before the SDK rewrote it (`db.drop` for `db_drop`), when that is what the
   * list matches. Undefined when it is not high-stakes.
   */
  reviewName(name: string, args?: unknown, alternatives: readonly string[] | (() => readonly string[]) = []): string | undefined {
    // The common case (the SDK name is in the list) builds nothing.
    if (this.gate.isHighStakes(name, args)) return name;
    const names = [name, ...(typeof alternatives === 'function' ? alternatives() : alternatives).filter((a) => a && a !== name)];
    for (let i = 1; i < names.length; i++) if (this.gate.isHighStakes(names[i]!, args)) return names[i];
    for (const n of names) {
      for (const spelling of declaredSpellings(n)) {
        if (!this.gate.isHighStakes(spelling, args)) continue;
        if (!this.warned.has(n) && this.warned.size < 1_000) {
          this.warned.add(n);
          this.options.onWarning(`toolgate: the model calls "${n}" (the SDK's rewrite of "${spelling}"); it is reviewed as "${spelling}", the spelling your highStakes list matches.`);
        }
        return spelling;
      }
    }
    return undefined;
  }

  /** Throws UngateableToolError (or warns) for a high-stakes tool that cannot be stopped before it runs. */
  checkUngateable(tool: Tool<unknown>, agentName?: string): void {
    const kind = ungateableKind(tool);
    if (!kind) return;
    const label = (tool as { providerData?: { server_label?: unknown; serverLabel?: unknown } }).providerData;
    const server = label?.server_label ?? label?.serverLabel;
    const high = this.reviewName(tool.name) !== undefined || (typeof server === 'string' && this.reviewName(server) !== undefined);
    if (!high) return;
    if (this.options.allowHostedTools === 'refuse') throw new UngateableToolError(tool.name, kind, agentName);
    const w = `hosted:${tool.name}:${agentName ?? ''}`;
    if (this.warned.has(w)) return;
    this.warned.add(w);
    this.options.onWarning(`toolgate: "${tool.name}"${agentName ? ` on agent "${agentName}"` : ''} is high-stakes but is a ${kind}; it runs UNGATED (allowHostedTools: 'warn').`);
  }

  // ----------------------------------------------------------------------------------------
  // Function tools

  /** needsApproval: 'review' pauses for a human; 'deny' lets the input guardrail reject; 'allow' has no objection. */
  async functionApproval(toolName: string, ctx: AnyContext, input: unknown, callId?: string, alternatives: readonly string[] | (() => readonly string[]) = []): Promise<'allow' | 'deny' | 'review' | 'pass'> {
    const name = this.reviewName(toolName, input, alternatives);
    if (!name) return 'pass';
    // An edit the gate allowed on resume: the input guardrail runs the edited call.
    if (callId && this.edits.has(key(toolName, callId))) return 'review';
    const d = await this.decide(ctx, { key: callId ? key(toolName, callId) : undefined, tool: name, args: input, callId });
    if (d.verdict === 'review') {
      // A pause: the human is shown this call. With resumeAnswers 'paused-here', a call that already
      // carries an answer (the SDK re-asking needsApproval on a resume) is not being shown to anyone.
      if (callId && !(this.options.resumeAnswers === 'paused-here' && ctx.isToolApproved({ toolName, callId }) !== undefined)) this.markShown(key(toolName, callId), d);
      this.span(d);
      return 'review';
    }
    return isAllowed(d) ? 'allow' : 'deny';
  }

  /** The input guardrail: the Decision that lets the call run, or the one that stops it. */
  async functionGuard(toolName: string, ctx: AnyContext, callName: string, callId: string, args: unknown, agentName?: string, alternatives: () => readonly string[] = () => [], namespace?: unknown): Promise<{ decision?: Decision; allowed: boolean }> {
    const k = key(toolName, callId);
    // The allow path: needsApproval reviewed this very call (same arguments and run) a moment ago
    // under the SDK name itself — the name reviewName tries first, so it would pick it again for
    // these arguments — and its Decision answers without a second reviewName or lookup. Any other
    // name (a declared spelling, a namespace) goes through reviewName as before.
    const pre = this.edits.has(k) ? undefined : this.byKey.get(k);
    const hit = pre && pre.tool === toolName ? this.cached(ctx, k, toolName, args) : undefined;
    const name = hit ? hit.tool : this.reviewName(toolName, args, () => [...alternatives(), callName]);
    if (!name) return { allowed: true };
    const edit = hit ? undefined : this.editFor(k, name, args, ctx);
    let d = edit ?? hit ?? this.cached(ctx, k, name, args) ?? (await this.decide(ctx, { key: k, tool: name, args, callId, agentName }));
    if (edit) {
      this.edits.delete(k);
      recordDecision(ctx, edit);
    } else if (d.verdict === 'review') {
      const answer = this.humanAnswer(ctx, callName, callId, k, d, namespace);
      if (answer === 'preapproval') return { decision: d, allowed: true }; // preApprovalInputGuardrails: the interruption comes next
      d = answer === undefined ? d : answer === 'missing' ? humanAnswerMissing(d) : await this.resolveHuman(ctx, k, d, answer, rejectionMessage(ctx, callName, callId));
      if (answer === 'missing') recordDecision(ctx, d);
    }
    this.span(d);
    if (!isAllowed(d)) return { decision: d, allowed: false };
    // The one execution this Decision authorises, claimed on the gate (and its ledger, in every
    // process) right before the body: a RunState replayed elsewhere meets ALREADY_EXECUTED.
    const refused = await claimExecution(this.gate, d);
    if (refused) {
      recordDecision(ctx, refused);
      return { decision: refused, allowed: false };
    }
    if (this.running.size >= MAX_ENTRIES) this.running.clear(); // calls of aborted runs never report back
    this.running.set(k, { decision: d, started: performance.now() });
    return { decision: d, allowed: true };
  }

  /** The edited call's Decision for this call, when a human's edit of exactly these arguments was allowed on resume. */
  private editFor(k: string, tool: string, args: unknown, ctx: AnyContext): Decision | undefined {
    const e = this.edits.get(k);
    if (!e) return undefined;
    // The edit answers the call of the resume that read it (its RunContext), nothing later: call
    // ids repeat across runs, and an edit whose call did not start there (another gate or the app's
    // own guardrail stopped it) must not run in another run that reuses the id.
    if (e.run.deref() !== ctx) {
      this.edits.delete(k);
      return undefined;
    }
    let digest: string | undefined;
    try {
      digest = callDigest(tool, parseToolArgs(args));
    } catch {
      digest = undefined;
    }
    if (digest === e.originalDigest && !this.executed.has(e.decision)) return e.decision;
    this.edits.delete(k); // a reused call id: this edit was for another call
    return undefined;
  }

  /** An edit that will not run (another governor refused it): forgotten, so no later call under this tool + call id meets it. */
  dropEdit(k: string): void {
    this.edits.delete(k);
  }

  /** Right before the body: the edited arguments (JSON) and the notice for the model, when the running call is an edited one. */
  editedRun(toolName: string, callId: string): { input: string; notice: string } | undefined {
    const d = this.running.get(key(toolName, callId))?.decision;
    if (!d?.edited || !isAllowed(d)) return undefined;
    return { input: JSON.stringify(d.args ?? {}), notice: editNotice(d) ?? '' };
  }

  /** The output guardrail / agent_tool_end: the call ran; report it, and let a replay ask the gate again. */
  ran(toolName: string, callId: string, outcome: { failed?: string } = {}): Promise<void> | undefined {
    const k = key(toolName, callId);
    const run = this.running.get(k);
    if (!run) return undefined;
    this.running.delete(k);
    // The gate now answers ALREADY_EXECUTED for this call; the cached allow must not answer a replay.
    this.executed.add(run.decision);
    return this.gate.reportOutcome(run.decision, {
      status: outcome.failed !== undefined ? 'error' : 'success',
      durationMs: performance.now() - run.started,
      ...(outcome.failed !== undefined ? { message: outcome.failed } : {}),
    });
  }

  /** True while a call this governor allowed has not reported back. */
  isRunning(toolName: string, callId: string): boolean {
    return this.running.has(key(toolName, callId));
  }

  /** Another governor stopped a call this one allowed: it will not run. */
  cancel(toolName: string, callId: string): void {
    this.running.delete(key(toolName, callId));
  }

  // ----------------------------------------------------------------------------------------
  // Local shell / apply_patch

  async localApproval(toolName: string, ctx: AnyContext, action: unknown, callId?: string): Promise<'allow' | 'deny' | 'review' | 'pass'> {
    return this.functionApproval(toolName, ctx, action, callId);
  }

  /** onApproval: the Decision for a call this governor holds, if any. */
  localDecision(toolName: string, callId: string | undefined): Decision | undefined {
    return callId ? this.byKey.get(key(toolName, callId)) : undefined;
  }

  /** Right before shell.run / editor.*: the Decision the body runs under. */
  async localGuard(toolName: string, action: unknown, call: { callId: string; runContext: AnyContext } | undefined, ctx: AnyContext | undefined): Promise<Decision | undefined> {
    const name = this.reviewName(toolName, action);
    if (!name) return undefined;
    const k = call ? key(toolName, call.callId) : undefined;
    let d = await this.decide(ctx, { key: k, tool: name, args: action, callId: call?.callId });
    if (d.verdict === 'review' && k && ctx && call) {
      const answer = this.humanAnswer(ctx, toolName, call.callId, k, d);
      if (answer === 'missing') d = humanAnswerMissing(d);
      else if (answer === true || answer === false) d = await this.resolveHuman(ctx, k, d, answer);
    }
    this.span(d);
    return d;
  }

  /** After a local body ran: a replay asks the gate again (which answers ALREADY_EXECUTED). */
  forget(toolName: string, callId: string | undefined): void {
    const d = callId ? this.byKey.get(key(toolName, callId)) : undefined;
    if (d) this.executed.add(d);
  }

  // ----------------------------------------------------------------------------------------
  // Humans

  private markShown(k: string, d: Shown): void {
    const digest = shownAs(d);
    const list = this.shown.get(k);
    if (list) {
      if (list.includes(digest)) return;
      if (list.length >= MAX_SHOWN_PER_CALL) list.shift();
      list.push(digest);
      return;
    }
    // Oldest call first out (not a clear: forgetting every call would let any changed RunState through).
    if (this.shown.size >= MAX_ENTRIES) this.shown.delete(this.shown.keys().next().value!);
    this.shown.set(k, [digest]);
  }

  private isShown(k: string, d: Shown): boolean {
    return this.shown.get(k)?.includes(shownAs(d)) ?? false;
  }

  /**
   * True when this call id was put to a human here, but with other arguments: a RunState whose
   * paused call was changed after the human saw it (the SDK's approval and its fingerprint of the
   * arguments are unsigned JSON in `state.toString()`). A call never paused in this process (a fresh
   * process without shared state) has no record: then the RunState's interruption is all there is.
   * The run id is part of what was shown: the same string resumed under another run id (the app's
   * runId reads the run context, which the string carries) is not the call the human answered.
   */
  private shownOtherArgs(k: string, d: Shown): boolean {
    const list = this.shown.get(k);
    return list !== undefined && !list.includes(shownAs(d));
  }

  /**
   * `resumeAnswers: 'paused-here'`: true when this governor did not pause this very call for a human
   * (tool + call id, run id and digest it recorded as shown) — a RunState from another process, or a
   * client-held string whose call id was renamed, which nothing in the string can tell apart.
   */
  private notPausedHere(k: string, d: Shown): boolean {
    return this.options.resumeAnswers === 'paused-here' && !this.isShown(k, d);
  }

  /**
   * After a run paused: the interruptions the human is shown, as the SDK keeps them (the model's
   * raw arguments, which a resume reads back; needsApproval saw the schema-parsed input, which may
   * differ by defaults). Only for calls this governor itself paused for a human in this process.
   */
  noteInterruptions(items: readonly RunToolApprovalItem[]): void {
    for (const item of items) {
      const c = this.interruptedCall(item);
      const list = c ? this.shown.get(c.k) : undefined;
      if (!c || !list) continue;
      try {
        // Under the run id of the pause just noted for this call (the item carries none of its own).
        const runId = list[list.length - 1]!.split('\u0000')[0] || undefined;
        this.markShown(c.k, { digest: callDigest(c.name, parseToolArgs(c.args)), ...(runId !== undefined ? { runId } : {}) });
      } catch {
        // Arguments the gate cannot digest are denied by it (ARGS_NOT_JSON): nothing to note.
      }
    }
  }

  /** The reviewed name, key and arguments of an interruption's call, when this governor reviews it. */
  private interruptedCall(item: RunToolApprovalItem): { k: string; name: string; sdkName: string; qualified: string[]; callId: string; args: unknown } | undefined {
    const callId = (item.rawItem as { callId?: string }).callId;
    const sdkName = item.toolName ?? item.name;
    if (!callId || !sdkName) return undefined;
    const raw = item.rawItem as { arguments?: unknown; action?: unknown; operation?: unknown; namespace?: unknown; name?: unknown };
    const args = typeof raw.arguments === 'string' ? parseArgs(raw.arguments) : (raw.action ?? raw.operation ?? {});
    const qualified = typeof raw.namespace === 'string' && raw.namespace && raw.namespace !== sdkName ? [`${raw.namespace}.${sdkName}`] : [];
    const name = this.reviewName(sdkName, args, qualified);
    if (!name) return undefined;
    // A call inside toolNamespace(): its item is named `namespace.name`, but the pause (needsApproval)
    // and the guard know the tool by its own name — one key for all three, so what was shown, an
    // answer refused here and the guard's lookup meet.
    const keyName = typeof raw.namespace === 'string' && raw.namespace && typeof raw.name === 'string' && raw.name ? raw.name : sdkName;
    return { k: key(keyName, callId), name, sdkName, qualified, callId, args };
  }

  /**
   * The human's answer to a `review` Decision, taken from the SDK's approvals only for a call a
   * human was shown (an interruption this governor raised for the same digest, or one in the
   * RunState being resumed). A sticky `alwaysApprove` counts only where recordHumanDecisions tied
   * it to the single pending call of that tool (and then the Decision is no longer `review`);
   * anything else is 'missing': the call does not run. 'preapproval': the interruption has not happened yet.
   */
  private humanAnswer(ctx: AnyContext, sdkName: string, callId: string, k: string, d: Decision, namespace?: unknown): boolean | 'missing' | 'preapproval' | undefined {
    const approved = sdkApproval(ctx, sdkName, callId, namespace);
    const shown = this.isShown(k, d);
    if (approved === undefined) return shown ? 'preapproval' : undefined;
    // A sticky approval that recordHumanDecisions did not tie to this one pending call answers nothing.
    if (approved && isSticky(ctx, sdkName)) return 'missing';
    if (shown) return approved;
    return approved ? 'missing' : false;
  }

  /** Who answers for this run: the hooks' `approver` option. */
  private approverOf(ctx: AnyContext): string | undefined {
    return typeof this.options.approver === 'function' ? this.options.approver(ctx) : this.options.approver;
  }

  /**
   * Records a human's state.approve / state.reject on the gate (once per call) and returns the
   * final Decision. A rejection's message (`state.reject(item, { message })`, which the model sees)
   * is the recorded reason.
   */
  async resolveHuman(ctx: AnyContext, k: string, pending: Decision, approved: boolean, message?: string): Promise<Decision> {
    const current = this.byKey.get(k);
    if (current && current.verdict !== 'review' && current.digest === pending.digest && !this.executed.has(current)) return current;
    let p = this.resolving.get(k);
    if (!p) {
      const approver = this.approverOf(ctx);
      const answer: HumanAnswer = approved
        ? { type: 'approve', ...(approver ? { approver } : {}), reason: 'approved through RunState.approve' }
        : { type: 'reject', ...(approver ? { approver } : {}), message: message ?? 'rejected through RunState.reject' };
      p = this.gate
        .resolveReview(current?.verdict === 'review' ? current : pending, answer)
        .then((d) => {
          this.remember(k, d);
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
   * to a high-stakes call in its interruptions — the calls a human was shown. A rejected call never
   * reaches the tool, so this is where its rejection is recorded.
   */
  async recordHumanDecisions(state: RunState<unknown, never>, edits?: ReadonlyMap<string, { edit: EditRecord }>): Promise<Map<string, Decision>> {
    const outcomes = new Map<string, Decision>();
    const ctx = state._context as AnyContext;
    const items = state.getInterruptions() as RunToolApprovalItem[];
    const pendingPerTool = new Map<string, number>();
    for (const item of items) {
      const n = item.toolName ?? item.name;
      if (n) pendingPerTool.set(n, (pendingPerTool.get(n) ?? 0) + 1);
    }
    for (const item of items) {
      const c = this.interruptedCall(item);
      if (!c) continue;
      const { k, name, sdkName, qualified, callId, args } = c;
      const edit = edits?.get(itemKey(item))?.edit;
      if (edit) {
        const d = await this.resolveEdit(ctx, { k, tool: name, sdkNames: [sdkName, ...qualified], args, callId, agentName: item.agent?.name }, edit);
        outcomes.set(itemKey(item), d);
        continue;
      }
      const raw = item.rawItem as { name?: unknown; namespace?: unknown };
      const approved = sdkApproval(ctx, typeof raw.namespace === 'string' && typeof raw.name === 'string' ? raw.name : sdkName, callId, raw.namespace);
      if (approved !== true && approved !== false) continue;
      // A sticky alwaysApprove does not say which of several pending calls the human looked at.
      if (approved && isSticky(ctx, sdkName) && (pendingPerTool.get(sdkName) ?? 0) > 1) continue;
      const d = await this.decide(ctx, { key: k, tool: name, args, callId, agentName: item.agent?.name });
      if (d.verdict !== 'review') continue;
      // The human here was shown this call with other arguments: the answer is not for this call.
      // Refused (the guard meets this Decision), never run on the old answer.
      if (this.shownOtherArgs(k, d)) {
        this.refuseChanged(ctx, k, d);
        continue;
      }
      // resumeAnswers 'paused-here': an answer counts only for a call paused here for a human.
      if (this.notPausedHere(k, d)) {
        this.refuse(ctx, k, notPausedHere(d));
        continue;
      }
      // The human was shown this item's arguments (as the guardrail will review them; needsApproval
      // saw the schema-parsed input, which may differ by defaults, so noteInterruptions also kept
      // the item's own). In a fresh process the RunState is all there is: whoever holds the string
      // answers for the call in it (keep saved RunStates server-side).
      this.markShown(k, d);
      this.span(await this.resolveHuman(ctx, k, d, approved, approved ? undefined : rejectionMessage(ctx, sdkName, callId)));
    }
    return outcomes;
  }

  /**
   * A human's `approveWithEdits` answer, read back from a resumed RunState: the gate reviews the
   * edited call from the start (`resolveReview` with `{ type: 'edit' }`). An allowed edit is kept
   * for the input guardrail, which runs it instead of the original; anything else is the Decision
   * the model is shown. A replay of an edit already answered goes back to the gate too (which
   * answers ALREADY_EXECUTED once the edited call ran).
   */
  private async resolveEdit(ctx: AnyContext, c: { k: string; tool: string; sdkNames: string[]; args: unknown; callId: string; agentName?: string }, edit: EditRecord): Promise<Decision> {
    const d = await this.decide(ctx, { key: c.k, tool: c.tool, args: c.args, callId: c.callId, agentName: c.agentName });
    const approver = edit.approver ?? this.approverOf(ctx);
    // The edit names a tool only to be refused by the gate when it is not this one (EDIT_TOOL_CHANGED).
    const sameTool = edit.tool === c.tool || c.sdkNames.includes(edit.tool);
    const answer: HumanAnswer = {
      type: 'edit',
      args: edit.args,
      ...(sameTool ? {} : { tool: edit.tool }),
      ...(approver ? { approver } : {}),
      ...(edit.reason ? { reason: edit.reason } : {}),
    };
    // The edit names the call it edits by call id; the call under that id is not the one the human was shown.
    if (d.verdict === 'review' && this.shownOtherArgs(c.k, d)) return this.refuseChanged(ctx, c.k, d);
    if (d.verdict === 'review' && this.notPausedHere(c.k, d)) return this.refuse(ctx, c.k, notPausedHere(d));
    let r: Decision;
    if (d.verdict === 'review') {
      this.markShown(c.k, d);
      r = await this.gate.resolveReview(d, answer);
    } else if (d.source === 'human' && d.edited && d.verdict === 'deny' && !d.error) {
      // This review was already answered with an edit (an earlier resume of the same state): the
      // gate decides whether the edited call may still run (it may not, once it ran).
      r = await this.gate.resolveReview({ ...d, verdict: 'review' }, answer);
    } else if (!isAllowed(d)) {
      r = d;
    } else {
      r = editNotApplied(d);
    }
    if (isAllowed(r) && r.edited) {
      if (this.edits.size >= MAX_ENTRIES) this.edits.clear();
      this.edits.set(c.k, { originalDigest: d.digest, decision: r, run: new WeakRef(ctx) });
    } else if (isAllowed(r)) {
      r = editNotApplied(r);
    }
    this.remember(c.k, r);
    recordDecision(ctx, r);
    this.span(r);
    return r;
  }

  /** A human answer read back for a call whose arguments are not the ones the human was shown: denied, and cached for the guard. */
  private refuseChanged(ctx: AnyContext, k: string, d: Decision): Decision {
    return this.refuse(ctx, k, argumentsChanged(d));
  }

  /** A refusal of a human answer read back from a RunState: cached for the guard, recorded on the run. */
  private refuse(ctx: AnyContext, k: string, r: Decision): Decision {
    this.remember(k, r);
    recordDecision(ctx, r);
    this.span(r);
    return r;
  }

  // ----------------------------------------------------------------------------------------
  // Decisions

  private remember(k: string, d: Decision): void {
    // Bounded: the gate keeps its own cache, so forgetting here costs at most one lookup there.
    if (this.byKey.size >= MAX_ENTRIES) this.byKey.clear();
    this.byKey.set(k, d);
  }

  /**
   * The Decision cached for this very call, if any. Models reuse call ids (scripted ones use
   * call_1 everywhere): a cached Decision answers only the same call — same arguments (digest) and
   * same run, not yet executed. Anything else is dropped, and the caller asks for a new review.
   */
  cached(ctx: AnyContext | undefined, k: string, tool: string, args: unknown): Decision | undefined {
    const cached = this.byKey.get(k);
    if (!cached) return undefined;
    const runId = ctx && this.options.runId ? this.options.runId(ctx) : undefined;
    if (!this.executed.has(cached) && sameCall(cached, tool, args, runId)) {
      if (ctx) recordDecision(ctx, cached);
      return cached;
    }
    this.byKey.delete(k);
    return undefined;
  }

  /** One review per call: cached by tool + callId for the same arguments and run; concurrent askers share it. */
  decide(ctx: AnyContext | undefined, c: { key: string | undefined; tool: string; args: unknown; callId?: string; agentName?: string }): Promise<Decision> {
    const { key: k, tool, args, callId } = c;
    const runId = ctx && this.options.runId ? this.options.runId(ctx) : undefined;
    if (k) {
      const cached = this.cached(ctx, k, tool, args);
      if (cached) return Promise.resolve(cached);
      // Another asker's review of this tool + call id: it answers this call only when it is the
      // same call (tool, arguments, run) — call ids repeat across runs, and a concurrent run's
      // review of other arguments must not authorise these. Otherwise this call is reviewed itself.
      const pending = this.inflight.get(k);
      if (pending) return pending.then((d) => (sameCall(d, tool, args, runId) ? d : this.ask(ctx, c, runId, undefined)));
    }
    return this.ask(ctx, c, runId, k);
  }

  /** The gate's review of one call; shared by concurrent askers under `k` (when given) until it settles. */
  private ask(ctx: AnyContext | undefined, c: { tool: string; args: unknown; callId?: string; agentName?: string }, runId: string | undefined, k: string | undefined): Promise<Decision> {
    const { tool, args, callId } = c;
    const call: ToolCall = { tool, args: args ?? {} };
    if (callId) call.callId = callId;
    const agent = c.agentName ?? (ctx ? peekRecord(ctx)?.agent : undefined);
    if (agent) call.agent = agent;
    if (runId) call.runId = runId;
    if (ctx && this.options.context) {
      const extra = this.options.context(ctx, { tool, args, ...(callId ? { callId } : {}) });
      if (extra) call.context = extra;
    }
    // One promise per review: remembered (and no longer in flight) when it settles.
    const p = this.gate.review(call).then(
      (d) => {
        if (k) {
          this.inflight.delete(k);
          this.remember(k, d);
        }
        if (ctx) recordDecision(ctx, d);
        return d;
      },
      (error: unknown) => {
        if (k) this.inflight.delete(k);
        throw error;
      },
    );
    if (k) this.inflight.set(k, p);
    return p;
  }

  /** A custom span per gated call, under the SDK's current span (the tool's function span when inside a guardrail). */
  span(d: Decision): void {
    if (!this.options.traceSpans) return;
    const trace = getCurrentTrace();
    // Tracing disabled (the SDK's NoopTrace): a custom span would be built and dropped.
    if (!trace || trace.traceId === 'no-op') return;
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

/** True when the SDK approves every call of the tool (`alwaysApprove`), not only listed call ids. */
function isSticky(ctx: AnyContext, toolName: string): boolean {
  return ctx.isToolApproved({ toolName, callId: '\u0000toolgate:sticky-probe' }) === true;
}

/** A `review` Decision that met an SDK approval no human gave to this call: a deny in every mode. */
/**
 * The SDK's answer for a call: by tool name, and for a function tool inside `toolNamespace()` also
 * under the key the SDK keeps its approval for such a call (`["namespaced", namespace, name]`) —
 * asked by name alone it answers undefined, which read as "not answered yet" let the body run on
 * the SDK's own approval without the gate's (namespaced-approval-attacks.test.ts).
 */
function sdkApproval(ctx: AnyContext, toolName: string, callId: string, namespace?: unknown): boolean | undefined {
  const plain = ctx.isToolApproved({ toolName, callId });
  if (plain !== undefined || typeof namespace !== 'string' || namespace === '') return plain;
  // The SDK's lookup key for a call (its getFunctionToolLookupKey): a deferred top-level tool's call
  // names itself as its namespace. (That case is not scripted in a test: it needs tool_search.)
  const lookup = namespace === toolName ? ['deferred_top_level', toolName] : ['namespaced', namespace, toolName];
  return ctx.isToolApproved({ toolName: JSON.stringify(lookup), callId });
}

function humanAnswerMissing(d: Decision): Decision {
  const reason =
    'no human answered this call: the SDK approval it carries was not given to it (an alwaysApprove / approval of another call); toolgate needs a human answer for each call it sends for review';
  const out: Decision = { ...d, verdict: 'deny', source: 'fail_closed', reason, error: { code: AgentsErrorCodes.HUMAN_ANSWER_MISSING, message: reason } };
  delete out.proof;
  return out;
}

/** What a human was shown of a call: its digest, under the run id it was reviewed in. */
type Shown = { digest: string; runId?: string | undefined };
const shownAs = (d: Shown): string => `${d.runId ?? ''}\u0000${d.digest}`;

/** A human's answer (from a RunState) to a call whose arguments changed after the human was shown it: a deny in every mode, as the LangGraph adapter answers an approval bound to other arguments. */
function argumentsChanged(d: Decision): Decision {
  const reason =
    "the tool call arguments changed after the review: the human answered this call with other arguments, or in another run (the paused call, or the run it belongs to, was changed in the RunState); denied — ask again, and keep saved RunStates server-side";
  const out: Decision = { ...d, verdict: 'deny', source: 'fail_closed', reason, error: { code: ErrorCodes.DENIED, message: reason } };
  delete out.proof;
  return out;
}

/** `resumeAnswers: 'paused-here'`: a human's answer (from a RunState) to a call this process did not pause for a human: a deny in every mode. */
function notPausedHere(d: Decision): Decision {
  const reason =
    "the human answer in the resumed RunState is for a call that was not paused for a human in this process (resumeAnswers: 'paused-here'): it came from another process, or the call in the RunState was changed; denied, nothing ran — resume the run in the process that paused it, or run it again so that the call is paused and answered here";
  const out: Decision = { ...d, verdict: 'deny', source: 'fail_closed', reason, error: { code: AgentsErrorCodes.ANSWER_NOT_PAUSED_HERE, message: reason } };
  delete out.proof;
  return out;
}

/** An edit given to a call that is not awaiting a human review: nothing runs, neither the original nor the edit. */
function editNotApplied(d: Decision): Decision {
  const reason = `the human's edit was not applied: this call is not awaiting a review (it was ${d.verdict}, ${d.source}); nothing ran. Ask for a new call with the arguments you need`;
  const out: Decision = { ...d, verdict: 'deny', source: 'fail_closed', reason, error: { code: AgentsErrorCodes.EDIT_NOT_APPLIED, message: reason } };
  delete out.proof;
  return out;
}

/** The message of a `state.reject(item, { message })` for this call, if one was given. */
function rejectionMessage(ctx: AnyContext, toolName: string, callId: string): string | undefined {
  try {
    const m = ctx.getRejectionMessage(toolName, callId);
    return typeof m === 'string' && m ? m : undefined;
  } catch {
    return undefined;
  }
}

/** True when a cached Decision was made for this very call: same tool, arguments and run. */
function sameCall(d: Decision, tool: string, args: unknown, runId: string | undefined): boolean {
  if (d.tool !== tool || (d.runId ?? undefined) !== (runId || undefined)) return false;
  try {
    // The arguments the gate reviewed, structurally equal to these (plain JSON only, stricter than
    // canonical JSON): the same digest, without hashing the call again. Anything else is digested.
    if (Object.hasOwn(d, 'args') && plainJsonEqual(d.args, args, 0)) return true;
    return d.digest === callDigest(tool, parseToolArgs(args));
  } catch {
    return false;
  }
}

/**
 * Strict equality of two plain JSON values (plain objects, arrays, strings, finite numbers other
 * than -0, booleans, null). False for anything else, so a caller falls back to the digest: equal
 * here implies the same canonical JSON.
 */
function plainJsonEqual(a: unknown, b: unknown, depth: number): boolean {
  if (typeof a !== 'object' || a === null) {
    if (typeof a === 'number') return typeof b === 'number' && Number.isFinite(a) && a === b && !Object.is(a, -0) && !Object.is(b, -0);
    return (typeof a === 'string' || typeof a === 'boolean' || a === null) && a === b;
  }
  if (typeof b !== 'object' || b === null || depth > 32) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!Object.hasOwn(b, i) || !plainJsonEqual(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const pa: unknown = Object.getPrototypeOf(a);
  const pb: unknown = Object.getPrototypeOf(b);
  if ((pa !== Object.prototype && pa !== null) || (pb !== Object.prototype && pb !== null)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k)) return false;
    if (!plainJsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], depth + 1)) return false;
  }
  return true;
}

export function key(tool: string, callId: string): string {
  return `${tool}\u0000${callId}`;
}

export function parseArgs(raw: string): unknown {
  try {
    return raw ? JSON.parse(raw) : {};
  } catch {
    return raw; // the gate turns non-JSON arguments into a deny (ARGS_NOT_JSON)
  }
}

export function ungateableKind(tool: Tool<unknown>): string | undefined {
  if (tool.type === 'hosted_tool') return tool.name === 'hosted_mcp' ? 'hosted MCP tool (runs at OpenAI)' : 'hosted tool (runs at OpenAI)';
  if (tool.type === 'shell') {
    const env = (tool as { environment?: { type?: string } }).environment;
    if ((env && env.type !== 'local') || !(tool as { shell?: unknown }).shell) return 'hosted shell (runs at OpenAI)';
  }
  if (tool.type === 'computer') return 'computer tool (toolgate does not gate computer actions)';
  return undefined;
}
