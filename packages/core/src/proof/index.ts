export {
  PROOF_AUDIENCE,
  type JWK,
  type Ed25519PublicJwk,
  type Ed25519PrivateJwk,
  type ProofClaims,
  type ProofDecisionClaim,
  type ProofExpectation,
  type ProofKeyResolver,
  type ProofSignInput,
  type ProofSigner,
  type ProofVerifier,
  type ProofVerifierOptions,
  type TrustedKeys,
} from './proof-types';
export { generateSigningKey } from './generate-signing-key';
export { createProofSigner, type ProofSignerOptions } from './create-proof-signer';
export { createProofVerifier } from './create-proof-verifier';
export { verifyProof, type VerifyProofOptions } from './verify-proof';
export { fetchJwks, type FetchJwksOptions } from './fetch-jwks';
