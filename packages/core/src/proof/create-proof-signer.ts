import { createPrivateKey, createPublicKey, sign as edSign, type KeyObject } from '../platform/node-crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { OptionsError } from '../errors';
import type { Verdict } from '../types';
import { PROOF_AUDIENCE, type Ed25519PublicJwk, type ProofClaims, type ProofSignInput, type ProofSigner } from './proof-types';

const VERDICTS: ReadonlySet<Verdict> = new Set(['allow', 'allow_with_conditions', 'deny', 'review']);

/** Options of `createProofSigner`. */
export interface ProofSignerOptions {
  /** The Ed25519 private JWK (`kty: 'OKP'`, `crv: 'Ed25519'`, `x`, `d`). */
  privateJwk: JWK;
  /** Key id in every proof header. Default: the JWK's `kid`, else its RFC 7638 thumbprint. */
  kid?: string;
  /** `iss` claim. Default `"toolgate"`. */
  issuer?: string;
  /** Proof lifetime in seconds. Default 300. */
  ttlSeconds?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

/**
 * Creates a proof signer: compact JWS, EdDSA over Ed25519, claims `iss`, `sub` (agent), `aud:
 * "toolgate"`, `jti` (review id), `iat`, `exp` and `tg: { v: 1, tool, digest, callId, idk, verdict,
 * conditions, decidedBy }` (`idk`: the review's idempotency key). The key is imported once and the header encoded once; each `sign` is
 * one Ed25519 signature (node:crypto), so a server can sign tens of thousands per second.
 *
 * @example
 * ```ts
 * const signer = await createProofSigner({ privateJwk, issuer: 'https://review.example' });
 * const proof = await signer.sign({ reviewId: 'rv_1', tool: 'transfer', digest, verdict: 'allow', decidedBy: 'policy' });
 * ```
 */
export async function createProofSigner(options: ProofSignerOptions): Promise<ProofSigner> {
  const jwk = options?.privateJwk;
  if (!jwk || typeof jwk !== 'object' || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || typeof jwk.d !== 'string') {
    throw new OptionsError('createProofSigner: privateJwk must be an Ed25519 private JWK ({ kty: "OKP", crv: "Ed25519", x, d }); create one with generateSigningKey()');
  }
  const ttl = options.ttlSeconds ?? 300;
  assertTtl(ttl, 'createProofSigner: ttlSeconds');
  const issuer = options.issuer ?? 'toolgate';
  if (typeof issuer !== 'string' || issuer === '') throw new OptionsError('createProofSigner: issuer must be a non-empty string');
  const now = options.now ?? Date.now;

  let key: KeyObject;
  try {
    key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, format: 'jwk' });
  } catch (cause) {
    throw new OptionsError(`createProofSigner: privateJwk could not be imported (${(cause as Error).message})`, { cause });
  }
  const derivedX = (createPublicKey(key).export({ format: 'jwk' }) as { x?: string }).x;
  if (derivedX !== jwk.x) {
    throw new OptionsError('createProofSigner: privateJwk.x does not belong to privateJwk.d; proofs would not verify. Regenerate the key pair');
  }
  const kid = options.kid ?? jwk.kid ?? (await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }));
  const publicJwk: Ed25519PublicJwk & { kid: string } = { kty: 'OKP', crv: 'Ed25519', x: jwk.x, alg: 'EdDSA', use: 'sig', kid };
  const header = b64(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid }));

  return {
    publicJwk,
    kid,
    async sign(input: ProofSignInput): Promise<string> {
      assertInput(input);
      const lifetime = input.ttlSeconds ?? ttl;
      if (!Number.isInteger(lifetime)) throw new OptionsError(`sign: ttlSeconds must be a whole number of seconds (got ${String(lifetime)})`);
      const iat = Math.floor(now() / 1000);
      const tg: ProofClaims['tg'] = {
        v: 1,
        tool: input.tool,
        digest: input.digest,
        verdict: input.verdict,
        conditions: [...(input.conditions ?? [])],
        decidedBy: input.decidedBy,
      };
      if (input.callId !== undefined) tg.callId = input.callId;
      if (input.idempotencyKey !== undefined) tg.idk = input.idempotencyKey;
      if (input.approvers !== undefined) tg.approvers = [...input.approvers];
      if (input.originalDigest !== undefined) tg.originalDigest = input.originalDigest;
      const claims: ProofClaims = { iss: issuer, aud: PROOF_AUDIENCE, jti: input.reviewId, iat, exp: iat + lifetime, tg };
      if (input.agentId !== undefined) claims.sub = input.agentId;
      const signingInput = `${header}.${b64(JSON.stringify(claims))}`;
      const signature = edSign(null, Buffer.from(signingInput, 'ascii'), key);
      return `${signingInput}.${signature.toString('base64url')}`;
    },
  };
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

function assertTtl(ttl: number, what: string): void {
  if (!Number.isInteger(ttl) || ttl <= 0) throw new OptionsError(`${what} must be a positive whole number of seconds (got ${String(ttl)})`);
}

function assertInput(input: ProofSignInput): void {
  for (const field of ['reviewId', 'tool', 'digest', 'decidedBy'] as const) {
    if (typeof input?.[field] !== 'string' || input[field] === '') throw new OptionsError(`sign: ${field} must be a non-empty string`);
  }
  if (!VERDICTS.has(input.verdict)) throw new OptionsError(`sign: verdict must be one of ${[...VERDICTS].join(', ')}`);
  if (input.callId !== undefined && typeof input.callId !== 'string') throw new OptionsError('sign: callId must be a string');
  if (input.idempotencyKey !== undefined && (typeof input.idempotencyKey !== 'string' || input.idempotencyKey === '')) {
    throw new OptionsError('sign: idempotencyKey must be a non-empty string');
  }
  if (input.agentId !== undefined && typeof input.agentId !== 'string') throw new OptionsError('sign: agentId must be a string');
  if (input.approvers !== undefined && (!Array.isArray(input.approvers) || input.approvers.some((c) => typeof c !== 'string'))) {
    throw new OptionsError('sign: approvers must be an array of strings');
  }
  if (input.originalDigest !== undefined && typeof input.originalDigest !== 'string') throw new OptionsError('sign: originalDigest must be a string');
  if (input.conditions !== undefined && (!Array.isArray(input.conditions) || input.conditions.some((c) => typeof c !== 'string'))) {
    throw new OptionsError('sign: conditions must be an array of strings');
  }
}
