import type { JWK, JWTVerifyGetKey } from 'jose';
import type { Verdict } from '../types';

export type { JWK } from 'jose';

/**
 * An Ed25519 public JWK as toolgate publishes and trusts it. Assignable to jose's `JWK`.
 *
 * `exp` (optional, NumericDate in seconds, an extra JWK member as RFC 7517 §4 allows; the same
 * name and meaning as a key's `exp` in OpenID Federation's historical keys) marks a **retired**
 * key: the time it stopped signing. A proof it signed is accepted only when the proof's `iat` is
 * not after `exp` and the proof's own `exp` is within the retired-key grace (see
 * `ProofVerifierOptions.retiredKeyGraceSec`); audit checkpoints likewise.
 */
export type Ed25519PublicJwk = JWK & { kty: 'OKP'; crv: 'Ed25519'; x: string; alg: 'EdDSA'; use: 'sig'; kid?: string; exp?: number };

/** An Ed25519 private JWK (keep it secret: it has `d`). */
export type Ed25519PrivateJwk = Ed25519PublicJwk & { d: string; kid: string };

/** The audience every toolgate proof is issued for. */
export const PROOF_AUDIENCE = 'toolgate';

/** The toolgate claim of a proof: what was decided, for which exact call. */
export interface ProofDecisionClaim {
  v: 1;
  tool: string;
  /** `sha256:<hex>` of the call's `{ tool, args }` (see `callDigest`). */
  digest: string;
  callId?: string;
  /** The review's idempotency key, as the gate sent it: binds the proof to one review request. */
  idk?: string;
  verdict: Verdict;
  conditions: string[];
  decidedBy: string;
  /** Every approver (API key name) whose approval made this decision, when humans approved on a review server. */
  approvers?: string[];
  /** Set when an approver edited the arguments: the digest of the call that was asked about (`digest` is the edited call's). */
  originalDigest?: string;
}

/** The verified claims of a proof. */
export interface ProofClaims {
  iss: string;
  /** The agent id, when the review named one. */
  sub?: string;
  aud: string | string[];
  /** The review id. */
  jti: string;
  iat: number;
  exp: number;
  tg: ProofDecisionClaim;
}

/** Trusted public keys: JWK objects (validated at construction: Ed25519 public keys only). */
export type TrustedKeys = ReadonlyArray<JWK | Readonly<Record<string, unknown>>>;

/** A function that finds the key for a proof's header (e.g. jose `createRemoteJWKSet`). */
export type ProofKeyResolver = JWTVerifyGetKey;

/** What the proof must be bound to: the call in hand. Absent `callId`/`verdict` are not checked. */
export interface ProofExpectation {
  tool: string;
  digest: string;
  callId?: string;
  verdict?: Verdict;
  /**
   * The idempotency key the gate sent with the review. When given, the proof's `tg.idk` must equal
   * it; a proof without `idk` is accepted only if it is bound to this call's `callId` (older
   * signers), never for a call without one (it could be replayed by anyone who captured it).
   */
  idempotencyKey?: string;
}

/** Options of a proof verifier. */
export interface ProofVerifierOptions {
  /** Expected `aud`. Default `"toolgate"`. */
  audience?: string;
  /** Expected `iss`, when set. */
  issuer?: string;
  /** Clock skew allowed on `exp`/`nbf`, in seconds. Default 5. */
  clockToleranceSec?: number;
  /**
   * How long after its retirement (`exp` on the JWK) a retired key's proofs may still be valid: a
   * proof it signed must expire by the key's `exp` + this many seconds. Cover the longest proof
   * lifetime of your reviewer (the reference server's default is 600 s). Default 3600.
   */
  retiredKeyGraceSec?: number;
}

/** Verifies proofs against one key set, built once. */
export interface ProofVerifier {
  /** Resolves with the claims, or throws ProofError (`PROOF_INVALID`) naming the failed check. */
  verify(jws: string, expected: ProofExpectation, options?: { currentDate?: Date }): Promise<ProofClaims>;
}

/** What a signer needs per decided review. */
export interface ProofSignInput {
  reviewId: string;
  agentId?: string;
  tool: string;
  digest: string;
  callId?: string;
  /** The review's idempotency key (signed as `tg.idk`). */
  idempotencyKey?: string;
  verdict: Verdict;
  conditions?: string[];
  decidedBy: string;
  /** Signed as `tg.approvers`: every approver whose approval made this decision. */
  approvers?: string[];
  /** Signed as `tg.originalDigest`: the call asked about, when the decision is for an edited call (`digest`). */
  originalDigest?: string;
  /** Overrides the signer's lifetime for this proof, in whole seconds (tests may pass a negative value to mint an expired proof). */
  ttlSeconds?: number;
}

/** Signs proofs with one Ed25519 key. */
export interface ProofSigner {
  /** Compact JWS (EdDSA). */
  sign(input: ProofSignInput): Promise<string>;
  /** The public half, ready for a JWKS (`alg: 'EdDSA'`, `use: 'sig'`, `kid`). */
  readonly publicJwk: Ed25519PublicJwk & { kid: string };
  readonly kid: string;
}
