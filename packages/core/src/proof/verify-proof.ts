import type { Verdict } from '../types';
import { createProofVerifier } from './create-proof-verifier';
import type { ProofClaims, ProofKeyResolver, TrustedKeys } from './proof-types';

/** Options of `verifyProof`. */
export interface VerifyProofOptions {
  keys: TrustedKeys | ProofKeyResolver;
  expected: { tool: string; digest: string; callId?: string; verdict?: Verdict };
  /** Expected `aud`. Default `"toolgate"`. */
  audience?: string;
  issuer?: string;
  /** Default 5 seconds. */
  clockToleranceSec?: number;
  /** "Now", for checking `exp`. Default the current time. */
  currentDate?: Date;
}

/**
 * Verifies one proof (compact JWS, EdDSA) against trusted keys and binds it to the call in hand.
 * Throws ProofError (`PROOF_INVALID`) naming the failed check. Verifying many proofs against the
 * same keys? Build a verifier once with `createProofVerifier`.
 *
 * @example
 * ```ts
 * const claims = await verifyProof(decision.proof!, {
 *   keys: [publicJwk],
 *   expected: { tool: 'transfer', digest: callDigest('transfer', args), callId: 'call_1' },
 * });
 * ```
 */
export async function verifyProof(jws: string, options: VerifyProofOptions): Promise<ProofClaims> {
  const { keys, expected, currentDate, ...verifierOptions } = options;
  return createProofVerifier(keys, verifierOptions).verify(jws, expected, currentDate ? { currentDate } : undefined);
}
