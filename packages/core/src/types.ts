/**
 * Public types of toolgate's core. docs/architecture.md describes them.
 */

/** What a reviewer decided. `review` means a human must decide. */
export type Verdict = 'allow' | 'allow_with_conditions' | 'deny' | 'review';

/** Where a Decision came from. */
export type DecisionSource =
  | 'not_high_stakes'
  | 'policy'
  | 'reviewer'
  | 'human'
  | 'fail_open'
  | 'fail_closed';

export type FailMode = 'closed' | 'open';

/** What the gate does with a `review` verdict. */
export type OnReview = 'pause' | 'wait' | 'deny';

export type Reversibility = 'full' | 'partial' | 'none';

/** Context that governance services ask for, plus free keys. */
export interface CallContext {
  task?: string;
  triggeringEvent?: string;
  reversibility?: Reversibility;
  blastRadius?: string | number;
  humanApproved?: boolean;
  approvalReference?: string;
  changeRequestId?: string;
  planId?: string;
  [key: string]: unknown;
}

/** The agent making a call. A plain string is taken as `{ id }`. */
export interface AgentInfo {
  id: string;
  name?: string;
  [key: string]: unknown;
}

/** One tool call the model chose. */
export interface ToolCall {
  tool: string;
  /** The tool's arguments: an object, or a JSON string that parses to one. */
  args: unknown;
  callId?: string;
  runId?: string;
  agent?: string | AgentInfo;
  context?: CallContext;
}

/** One rule or condition checked, so an agent (or a person) can see why. */
export interface EvaluatedCheck {
  rule: string;
  field: string;
  op: string;
  expected: unknown;
  actual: unknown;
  passed: boolean;
}

/** A stable, machine-readable error carried on a Decision. */
export interface DecisionError {
  code: string;
  message: string;
}

/** What the gate decided for one call. */
export interface Decision {
  verdict: Verdict;
  reason: string;
  conditions: string[];
  evaluated: EvaluatedCheck[];
  source: DecisionSource;
  /** The tool this decision is for. */
  tool: string;
  callId?: string;
  runId?: string;
  reviewId?: string;
  /** Compact JWS from the reviewer, verified by the gate when trusted keys are configured. */
  proof?: string;
  /** Who decided, as the reviewer reported it (policy id, approver, …). */
  decidedBy?: string;
  /** Id of the audit record written for this decision (absent for dry runs and passthroughs). */
  auditId?: string;
  /** `sha256:<hex>` over the RFC 8785 canonical JSON of `{ tool, args }`. */
  digest: string;
  /** The idempotency key the review was submitted under. */
  idempotencyKey?: string;
  latencyMs: number;
  error?: DecisionError;
  /** Set on `canI` answers: a dry run decides nothing, so `resolveReview` refuses to approve one. */
  dryRun?: true;
  /**
   * On a policy `review` whose rule sets `approvals` / `approverGroups`: how many distinct approvers
   * (and of which groups) must approve; `approvers` lists who approved so far (a review server's
   * answer, or earlier `resolveReview` approvals of this call on this gate).
   */
  approvals?: { required: number; groups?: string[]; approvers?: string[] };
  /**
   * On a `review`: when the human's answer is due (ISO 8601) — the reviewer's deadline, else the
   * gate's `reviewTimeoutMs` from when the review was asked. An approval after it is `REVIEW_EXPIRED`.
   */
  expiresAt?: string;
  /**
   * Set when a human approved the call with edited arguments (an edit is a new call, reviewed again
   * from the start): `originalDigest` is the digest of the call that was asked about, `digest` the
   * edited call's (equal to `decision.digest`), `args` a redacted copy of the edited arguments for
   * display. The tool body runs with `decision.args` (exactly the edited arguments); tell the model
   * with `editNotice(decision)`.
   */
  edited?: { originalDigest: string; digest: string; args: unknown };
  /**
   * The reviewed arguments: a fresh value parsed, on every read, from the exact canonical JSON the
   * digest (and so the reviewer, the proof and the audit record) covers. **Adapters must pass
   * `decision.args` to the tool body**, never the framework's own arguments object: that one may
   * have a `toJSON`, getters, or be mutated after the review, so it is not what was reviewed
   * (`reviewedArgs(decision, frameworkArgs)` does this and refuses a high-stakes Decision without it).
   *
   * Present on every Decision from `review` / `enforce` / `canI` / `resolveReview` for a call whose
   * arguments the gate read: every high-stakes call and every call a `{ tool, when }` predicate
   * judged. Absent on a plain passthrough (the tool name matched no rule: run it with the
   * framework's arguments) and on denials of calls whose arguments could not be read.
   *
   * Non-enumerable: spreads, `JSON.stringify`, `structuredClone` and audit records leave it out
   * (the audit keeps its own redacted copy), so a serialised Decision never carries raw arguments.
   * Keep the Decision object the gate returned.
   */
  readonly args?: unknown;
}

/** What an adapter reports after a tool ran (or failed). */
export interface Outcome {
  status: 'success' | 'failure' | 'error';
  message?: string;
  durationMs?: number;
}

/** The original shape of a human's answer: still accepted everywhere (`approved: true` approves, anything else rejects). */
export interface LegacyHumanAnswer {
  approved: boolean;
  reason?: string;
  approver?: string;
}

/**
 * A human's answer to a `review` Decision:
 * - `approve`: run the call as it was asked;
 * - `edit`: run the **same tool** with these arguments instead. The edit is a new call, reviewed
 *   again from the start (policy, reviewer, fail mode) with its own digest: a policy deny of the
 *   edited call stands, and the human's edit only approves what that review leaves to a human.
 *   `tool` is accepted only to be refused when it names another tool (`EDIT_TOOL_CHANGED`);
 * - `reject`: deny, with `message` shown to the model;
 * - `expired`: nobody answered in time (`REVIEW_EXPIRED`, never a human rejection).
 *
 * `answerId` (approve, edit): the id of this answer where it can be handed back — a framework's
 * approval id in a client-held history. One answer id answers one review: given again for another
 * review (the same history replayed under another run id) it is refused with
 * `REVIEW_ALREADY_DECIDED` — in this gate, and with a ledger in every process sharing it.
 */
export type HumanDecision =
  | { type: 'approve'; approver?: string; reason?: string; answerId?: string }
  | { type: 'edit'; args: unknown; tool?: string; approver?: string; reason?: string; answerId?: string }
  | { type: 'reject'; message?: string; approver?: string }
  | { type: 'expired' };

/** What `gate.resolveReview` takes: a `HumanDecision`, or the legacy `{ approved, reason?, approver? }`. */
export type HumanAnswer = LegacyHumanAnswer | HumanDecision;

// ---------------------------------------------------------------------------------------------
// Reviewers

/** What a reviewer is asked. `args` are the parsed arguments, never a JSON string. */
export interface ReviewRequest {
  idempotencyKey: string;
  call: { tool: string; args: unknown; callId?: string; runId?: string };
  agent?: AgentInfo;
  context?: CallContext;
  digest: string;
  /** How long the reviewer may hold the request for a human decision (long-poll), in ms. */
  waitMs?: number;
  /** A dry run (`gate.canI`): decide, but record nothing and ask no human. */
  dryRun?: boolean;
}

/** Passed to every reviewer call. */
export interface ReviewerCallOptions {
  /** Aborts when the framework cancels or the deadline passes. */
  signal: AbortSignal;
  /** Epoch ms by which everything (connect, retries, backoff, polling) must be done. */
  deadline: number;
}

/** A reviewer's answer. */
export interface ReviewerVerdict {
  verdict: Verdict;
  reason?: string;
  conditions?: string[];
  evaluated?: EvaluatedCheck[];
  reviewId?: string;
  proof?: string;
  /** `policy`, `human`, or a name; maps to Decision.source `policy` / `human` / `reviewer`. */
  decidedBy?: string;
  expiresAt?: string;
  /** A reviewer with nothing to say (e.g. a policy where no rule matched and no default is set). */
  abstain?: boolean;
  /** The call digest the reviewer says it decided; when present, the gate denies a mismatch. */
  digest?: string;
  /** On a `review` from a policy rule with `approvals` / `approverGroups`: who must approve (and, from a review server, who did). */
  approvals?: { required: number; groups?: string[]; approvers?: string[] };
  /** A deny because nobody decided by the review's deadline (not a human rejection): the gate answers `REVIEW_EXPIRED`. */
  expired?: boolean;
  /**
   * A human approved with edited arguments on the reviewer: `args` the edited arguments, `digest`
   * the digest of `{ tool, args }` (the one the proof binds), `originalDigest` the call asked about.
   * The gate checks all three against the call before the Decision carries them.
   */
  edited?: { args: unknown; digest: string; originalDigest: string };
}

export interface Reviewer {
  readonly name: string;
  review(request: ReviewRequest, options: ReviewerCallOptions): Promise<ReviewerVerdict>;
  /** Waits for a human decision on a pending review (onReview: 'wait'). */
  waitForDecision?(reviewId: string, options: ReviewerCallOptions): Promise<ReviewerVerdict>;
  /** Reports what happened after an allowed call ran (closes the loop; exactly-once). */
  reportOutcome?(reviewId: string, outcome: Outcome, options: ReviewerCallOptions): Promise<void>;
  close?(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// High-stakes spec

/** A predicate entry: the tool is high-stakes when `when(args)` is true. */
export interface HighStakesPredicate {
  tool: string | RegExp;
  when: (args: unknown) => boolean;
}

/** Default-deny: every tool is high-stakes except these. */
export interface HighStakesAllExcept {
  all: true;
  except?: ReadonlyArray<string | RegExp>;
}

export type HighStakesEntry = string | RegExp | HighStakesPredicate;

/** Exact names, globs (`db.*`, `*_delete`), RegExps, predicates, or `{ all: true, except }`. */
export type HighStakesSpec = ReadonlyArray<HighStakesEntry> | HighStakesAllExcept;

// ---------------------------------------------------------------------------------------------
// Audit

export type AuditKind = 'review' | 'outcome' | 'human_decision' | 'admin';

/** One line of the tamper-evident trail. `hash = sha256(JSON text of the record without hash)`: the exact bytes written (format 2; format-1 records, `sha256(prevHash + RFC 8785 text)`, still verify). */
export interface AuditRecord {
  id: string;
  seq: number;
  ts: string;
  prevHash: string;
  hash: string;
  kind: AuditKind;
  call: {
    tool: string;
    callId?: string;
    runId?: string;
    agentId?: string;
    digest: string;
    /** Redacted before anything is written. */
    args?: unknown;
  };
  decision?: Omit<Decision, 'auditId'>;
  outcome?: Outcome;
  /** Free details (who, why) for admin and human_decision records. */
  meta?: Record<string, unknown>;
}

/** A record before the sink chains it: no seq, prevHash or hash yet. */
export type AuditEntry = Omit<AuditRecord, 'seq' | 'prevHash' | 'hash'>;

/** Where audit records go. A sink owns its chain (seq, prevHash, hash). */
export interface AuditSink {
  append(entry: AuditEntry): Promise<AuditRecord> | AuditRecord;
  close?(): Promise<void> | void;
}
