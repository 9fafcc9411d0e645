import { ErrorCodes } from '../errors';
import { createProofVerifier, fetchJwks } from '../proof/index';
import type { Decision } from '../types';
import type { JsonWebKeyLike } from './gate-types';
import { isAllowed } from './governed';
import type { ResolvedGateOptions } from './options';

type Deny = (code: string, message: string) => Decision;
type Verifier = Awaited<ReturnType<typeof createProofVerifier>>;

/**
 * Proof checks for the gate. A proof present is verified against the trusted keys (configured, or
 * fetched once from jwksUrl and pinned) and bound to the call in hand: tool, digest, callId and
 * verdict. Any failure is a PROOF_INVALID deny — whatever the fail mode. With requireProof (the
 * default whenever trusted keys are configured), an allowing verdict without a proof is one too.
 */
export function proofCheck(o: ResolvedGateOptions) {
  let verifier: Promise<Verifier> | undefined;
  const hasKeys = o.trustedKeys.length > 0 || o.jwksUrl !== undefined;

  const getVerifier = (): Promise<Verifier> => {
    if (!verifier) {
      verifier = (async () => {
        const keys: JsonWebKeyLike[] = [...o.trustedKeys];
        if (o.jwksUrl) keys.push(...(await fetchJwks(o.jwksUrl)));
        return createProofVerifier(keys);
      })();
      // A failed fetch is not pinned: the next proof tries again.
      verifier.catch(() => {
        verifier = undefined;
      });
    }
    return verifier;
  };
  // Bad configured keys fail createGate, not the first proof.
  if (o.trustedKeys.length > 0) createProofVerifier(o.trustedKeys);
  if (o.jwksUrl) void getVerifier().catch(() => {});

  return {
    /** `bound.originalDigest`: for a human's edit, the call asked about; a proof that names another `tg.originalDigest` is refused. */
    async check(decision: Decision, deny: Deny, bound?: { originalDigest?: string }): Promise<Decision> {
      if (!decision.proof) {
        if (o.requireProof && isAllowed(decision)) {
          return deny(ErrorCodes.PROOF_INVALID, `proof missing: trusted keys are configured (requireProof) and the reviewer's ${decision.verdict} carried no proof; denied whatever the fail mode`);
        }
        return decision;
      }
      if (!hasKeys) return decision;
      try {
        const v = await getVerifier();
        const expected: { tool: string; digest: string; callId?: string; verdict: Decision['verdict']; idempotencyKey?: string } = {
          tool: decision.tool,
          digest: decision.digest,
          verdict: decision.verdict,
        };
        if (decision.callId !== undefined) expected.callId = decision.callId;
        // The key this gate sent: a proof captured from another review request cannot be replayed.
        if (decision.idempotencyKey !== undefined) expected.idempotencyKey = decision.idempotencyKey;
        const claims = await v.verify(decision.proof, expected);
        if (decision.reviewId && claims.jti !== decision.reviewId) {
          return deny(ErrorCodes.PROOF_INVALID, `proof rejected (signed for review ${claims.jti}, answered as review ${decision.reviewId}); denied whatever the fail mode`);
        }
        const signedOriginal: unknown = (claims.tg as { originalDigest?: unknown }).originalDigest;
        if (bound?.originalDigest !== undefined && signedOriginal !== undefined && signedOriginal !== bound.originalDigest) {
          return deny(ErrorCodes.PROOF_INVALID, 'proof rejected (signed for an edit of another call: tg.originalDigest); denied whatever the fail mode');
        }
        // The signed conditions, not the response body's: a relay must not be able to strip them.
        if (Array.isArray(claims.tg.conditions)) decision.conditions = [...claims.tg.conditions];
        return decision;
      } catch (error) {
        return deny(ErrorCodes.PROOF_INVALID, `proof rejected (${(error as Error)?.message ?? String(error)}); denied whatever the fail mode`);
      }
    },
  };
}
