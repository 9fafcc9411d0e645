import type { RedactOptions } from '../audit/redact';
import type { GateLedger } from '../ledger/ledger-types';
import type {
  AgentInfo,
  AuditSink,
  Decision,
  FailMode,
  HighStakesSpec,
  HumanAnswer,
  OnReview,
  Outcome,
  Reviewer,
  ToolCall,
} from '../types';

/** Circuit breaker settings. `false` turns it off. */
export interface CircuitBreakerOptions {
  /** Consecutive reviewer failures that open the circuit. Default 5. */
  failureThreshold?: number;
  /** How long the circuit stays open before a half-open probe, in ms. Default 30 000. */
  cooldownMs?: number;
}

/** Options of `createGate`. Validated once, at construction. */
export interface GateOptions {
  reviewer: Reviewer;
  /** Which tools need a review. Anything else passes with `source: 'not_high_stakes'`. */
  highStakes: HighStakesSpec;
  /** `closed` (default) or `open`, globally or per tool. */
  failMode?: FailMode | { default: FailMode; tools?: Record<string, FailMode> };
  /** One deadline per review, covering connect, retries, backoff and polling. Default 5 000 ms. */
  timeoutMs?: number;
  /** What a `review` verdict does: hand it to the framework (`pause`, default), wait for a human on the reviewer, or deny. */
  onReview?: OnReview;
  /**
   * How long a human has to answer a review, in ms. Default 300 000. With `onReview: 'wait'`: how
   * long the gate waits (a timeout is a deny). With `pause`: a `review` Decision's `expiresAt` when
   * the reviewer gives none; `resolveReview` refuses an approval after it (`REVIEW_EXPIRED`).
   */
  reviewTimeoutMs?: number;
  circuitBreaker?: CircuitBreakerOptions | false;
  /** Public keys (JWK) that may sign proofs. */
  trustedKeys?: ReadonlyArray<JsonWebKeyLike>;
  /** Where to fetch trusted keys once (then pinned), e.g. `http://127.0.0.1:7070/.well-known/jwks.json`. */
  jwksUrl?: string;
  /**
   * Every allowing verdict must carry a valid proof; otherwise it is a `PROOF_INVALID` deny, whatever
   * the fail mode. **Default: true whenever `trustedKeys` or `jwksUrl` is set** (false without keys).
   * `false` with keys is an explicit opt-out for a chain whose in-process reviewer (e.g. a local
   * `policyReviewer`) allows without signing: proofs that are present are still verified, but a relay
   * between the gate and a remote reviewer can then strip a proof and rewrite a deny into an allow.
   */
  requireProof?: boolean;
  /** Audit sinks: every review, human decision and outcome is appended to each. */
  audit?: AuditSink | ReadonlyArray<AuditSink>;
  /** Extra secret keys and paths to redact before anything is written. */
  redact?: RedactOptions;
  /** Default agent for calls that name none. */
  agent?: string | AgentInfo;
  /** Largest accepted arguments, in bytes of JSON. Default 1 MiB. */
  maxArgsBytes?: number;
  /** Emit OpenTelemetry spans when `@opentelemetry/api` is installed. Default true. */
  telemetry?: boolean;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
  /**
   * Durable exactly-once across processes: `sqliteLedger(path)` (`@toolgate/core/ledger-sqlite`) or
   * `postgresLedger(url | pool)` (`@toolgate/core/ledger-postgres`). Conclusive Decisions, human
   * answers and executions are recorded there, so a replay in another process with a fresh gate
   * is `ALREADY_EXECUTED`. A ledger that cannot be reached is a `LEDGER_UNAVAILABLE` deny. With a
   * ledger, the idempotency key of a call with a `callId` and no `runId` no longer includes this
   * gate instance (it must be the same in every process): give a `runId` when call ids repeat across runs.
   */
  ledger?: GateLedger;
}

/** A public JWK (Ed25519: `{ kty: 'OKP', crv: 'Ed25519', x, kid? }`). */
export interface JsonWebKeyLike {
  kty: string;
  kid?: string;
  [key: string]: unknown;
}

export interface ReviewCallOptions {
  /** The framework's abort signal: cancels the review (a cancelled review is a reviewer failure). */
  signal?: AbortSignal;
}

/** The gate every adapter talks to. */
export interface Gate {
  /** True when `tool` (with these args, for predicates) needs a review. Sub-microsecond for unmatched tools. */
  isHighStakes(tool: string, args?: unknown): boolean;
  /** Decides a call. Never throws for reviewer trouble: failures become fail-mode Decisions. */
  review(call: ToolCall, options?: ReviewCallOptions): Promise<Decision>;
  /** Like `review`, but throws `GovernanceDeniedError` unless the call may run. */
  enforce(call: ToolCall, options?: ReviewCallOptions): Promise<Decision>;
  /** Dry run: what would be decided now. Writes no audit record, asks no human. */
  canI(call: ToolCall, options?: ReviewCallOptions): Promise<Decision>;
  /**
   * Records a human's answer to a `review` Decision given through the framework's own
   * human-in-the-loop (onReview `pause`): `{ type: 'approve' | 'edit' | 'reject' | 'expired' }`
   * (see `HumanDecision`) or the legacy `{ approved, reason?, approver? }`. Returns the final
   * Decision. An approval re-checks the call (a dry run: a policy that now denies wins,
   * `POLICY_CHANGED`) and is refused after the review's `expiresAt` (`REVIEW_EXPIRED`); an edit is a
   * new call reviewed from the start, whose Decision carries `edited` and `decision.args` = the
   * edited arguments; an answer for a call that already ran is `ALREADY_EXECUTED`. Never throws.
   */
  resolveReview(decision: Decision, answer: HumanAnswer): Promise<Decision>;
  /** Reports what happened after an allowed call ran. Never throws. */
  reportOutcome(decision: Decision, outcome: Outcome): Promise<void>;
  /** Flushes audit sinks and closes the reviewer. */
  close(): Promise<void>;
}
