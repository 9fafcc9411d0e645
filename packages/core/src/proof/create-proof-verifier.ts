import { base64url, createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { z } from 'zod';
import { OptionsError, ProofError } from '../errors';
import {
  PROOF_AUDIENCE,
  type Ed25519PublicJwk,
  type ProofClaims,
  type ProofExpectation,
  type ProofKeyResolver,
  type ProofVerifier,
  type ProofVerifierOptions,
  type TrustedKeys,
} from './proof-types';

const claimsSchema = z.object({
  iss: z.string(),
  sub: z.string().optional(),
  aud: z.union([z.string(), z.array(z.string())]),
  jti: z.string().min(1),
  iat: z.number(),
  exp: z.number(),
  tg: z.object({
    v: z.literal(1),
    tool: z.string(),
    digest: z.string(),
    callId: z.string().optional(),
    idk: z.string().optional(),
    verdict: z.enum(['allow', 'allow_with_conditions', 'deny', 'review']),
    conditions: z.array(z.string()),
    decidedBy: z.string(),
    approvers: z.array(z.string()).optional(),
    originalDigest: z.string().optional(),
  }),
});

/**
 * Checks that a trusted key is an Ed25519 public JWK; returns a clean copy.
 * @internal
 */
export function assertPublicEd25519(jwk: unknown, where: string): Ed25519PublicJwk {
  const k = jwk as Record<string, unknown> | null;
  if (!k || typeof k !== 'object') throw new OptionsError(`${where}: a trusted key is not a JWK object`);
  const name = typeof k.kid === 'string' ? `key "${k.kid}"` : 'a key';
  if ('d' in k) throw new OptionsError(`${where}: ${name} has a private part ("d"); trust only the public JWK`);
  if (k.kty !== 'OKP' || k.crv !== 'Ed25519' || typeof k.x !== 'string' || k.x === '') {
    throw new OptionsError(`${where}: ${name} is not an Ed25519 public key ({ kty: "OKP", crv: "Ed25519", x }); proofs are EdDSA only`);
  }
  if (k.alg !== undefined && k.alg !== 'EdDSA') throw new OptionsError(`${where}: ${name} has alg ${JSON.stringify(k.alg)}; expected "EdDSA"`);
  if (k.use !== undefined && k.use !== 'sig') throw new OptionsError(`${where}: ${name} has use ${JSON.stringify(k.use)}; expected "sig"`);
  if (k.exp !== undefined && (typeof k.exp !== 'number' || !Number.isFinite(k.exp))) {
    throw new OptionsError(`${where}: ${name} has exp ${JSON.stringify(k.exp)}; expected a NumericDate (seconds since the epoch) marking its retirement`);
  }
  const out: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: k.x, alg: 'EdDSA', use: 'sig' };
  if (typeof k.kid === 'string') out.kid = k.kid;
  if (typeof k.exp === 'number') out.exp = k.exp;
  return out;
}

/**
 * Builds a proof verifier once for a list of trusted keys (or a key resolver) and reuses it: the
 * key set (jose `createLocalJWKSet`) caches imported keys. With several keys (rotation), a proof
 * verifies with whichever key its `kid` names, or any that works when it names none.
 *
 * `verify(jws, expected)` accepts only EdDSA, checks the signature, `exp` (with clock tolerance),
 * `aud` (default `"toolgate"`), `iss` when configured, the claim shape, then binds the proof to the
 * call: `tool`, `digest` (the exact arguments), and `callId` / `verdict` when given. Any failure
 * throws ProofError (`PROOF_INVALID`) whose message names the check: `signature`, `alg`,
 * `expired`, `audience`, `issuer`, `malformed`, `tool mismatch`, `digest mismatch`,
 * `callId mismatch`, `verdict mismatch`, `idempotency key mismatch`, `not bound`, `retired key`.
 *
 * A trusted key with `exp` (its retirement, NumericDate) verifies only proofs issued (`iat`) at or
 * before `exp` and expiring by `exp + retiredKeyGraceSec`: a leaked retired key cannot mint proofs
 * for later calls. With `expected.idempotencyKey`, the proof must carry the same `tg.idk` (or, from
 * an older signer without `idk`, be bound to this call's `callId`).
 *
 * @example
 * ```ts
 * const verifier = createProofVerifier([publicJwk]);
 * const claims = await verifier.verify(decision.proof, { tool: 'transfer', digest, callId });
 * ```
 */
export function createProofVerifier(keys: TrustedKeys | ProofKeyResolver, options: ProofVerifierOptions = {}): ProofVerifier {
  let getKey: JWTVerifyGetKey;
  if (typeof keys === 'function') {
    getKey = keys as ProofKeyResolver;
  } else {
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new OptionsError('createProofVerifier: pass at least one trusted Ed25519 public JWK (or a key resolver function)');
    }
    const clean = keys.map((k) => assertPublicEd25519(k, 'createProofVerifier'));
    const grace = options.retiredKeyGraceSec ?? 3600;
    if (!Number.isFinite(grace) || grace < 0) throw new OptionsError('createProofVerifier: retiredKeyGraceSec must be a number >= 0');
    getKey = keySetResolver(clean, grace);
  }
  const audience = options.audience ?? PROOF_AUDIENCE;
  const clockTolerance = options.clockToleranceSec ?? 5;
  if (!Number.isFinite(clockTolerance) || clockTolerance < 0) throw new OptionsError('createProofVerifier: clockToleranceSec must be a number >= 0');

  return {
    async verify(jws: string, expected: ProofExpectation, verifyOptions?: { currentDate?: Date }): Promise<ProofClaims> {
      if (typeof jws !== 'string' || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(jws)) {
        throw new ProofError('proof malformed: not a compact JWS (header.payload.signature)');
      }
      let alg: unknown;
      try {
        alg = decodeProtectedHeader(jws).alg;
      } catch (cause) {
        throw new ProofError('proof malformed: the protected header is not base64url JSON', { cause });
      }
      if (alg !== 'EdDSA') throw new ProofError(`proof alg not accepted: ${JSON.stringify(alg)} (only EdDSA)`);

      let payload: unknown;
      try {
        payload = await verifyWithAnyKey(jws, getKey, {
          algorithms: ['EdDSA'],
          audience,
          ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
          clockTolerance,
          requiredClaims: ['exp', 'iat', 'jti'],
          ...(verifyOptions?.currentDate ? { currentDate: verifyOptions.currentDate } : {}),
        });
      } catch (error) {
        throw mapJoseError(error);
      }
      const parsed = claimsSchema.safeParse(payload);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new ProofError(`proof malformed: claim ${issue?.path.join('.') || '(root)'} ${issue?.message ?? 'invalid'}`);
      }
      const claims = parsed.data as ProofClaims;
      const tg = claims.tg;
      if (tg.tool !== expected.tool) {
        throw new ProofError(`proof tool mismatch: the proof is for "${tg.tool}", the call is "${expected.tool}"`);
      }
      if (tg.digest !== expected.digest) {
        throw new ProofError(`proof digest mismatch: the proof is bound to other arguments (proof ${tg.digest}, call ${expected.digest})`);
      }
      if (expected.callId !== undefined && tg.callId !== expected.callId) {
        throw new ProofError(`proof callId mismatch: the proof is for call ${JSON.stringify(tg.callId ?? null)}, this is call ${JSON.stringify(expected.callId)}`);
      }
      if (expected.verdict !== undefined && tg.verdict !== expected.verdict) {
        throw new ProofError(`proof verdict mismatch: the proof says ${tg.verdict}, the decision says ${expected.verdict}`);
      }
      if (expected.idempotencyKey !== undefined) {
        if (tg.idk !== undefined) {
          if (tg.idk !== expected.idempotencyKey) {
            throw new ProofError('proof idempotency key mismatch: the proof was issued for another review request (a replayed or relayed proof)');
          }
        } else if (tg.callId === undefined || tg.callId !== expected.callId) {
          throw new ProofError('proof not bound to this call: it names neither this review\'s idempotency key (tg.idk) nor this call\'s callId, so anyone who captured it could replay it');
        }
      }
      return claims;
    },
  };
}

/**
 * A resolver over trusted keys. A proof naming a `kid` uses the key with that kid; trusted keys
 * configured without a kid stand in for any kid that matches no key; a proof without a kid may
 * be signed by any trusted key. Retired keys (`exp` on the JWK) are candidates only for proofs
 * issued at or before their retirement and expiring within the grace after it. The claims read
 * here are not verified yet, but the signature check that follows covers them: a proof whose
 * `iat`/`exp` were edited to pass this filter fails its signature.
 */
function keySetResolver(keys: ReadonlyArray<Ed25519PublicJwk>, graceSec: number): JWTVerifyGetKey {
  const kidless = keys.filter((k) => k.kid === undefined);
  const kids = new Set(keys.map((k) => k.kid).filter((k): k is string => k !== undefined));
  const sets = new Map<string, JWTVerifyGetKey>();
  const setOf = (subset: ReadonlyArray<Ed25519PublicJwk>): JWTVerifyGetKey => {
    const id = subset.map((k) => keys.indexOf(k)).join(',');
    let set = sets.get(id);
    if (!set) {
      set = createLocalJWKSet({ keys: subset.map(({ exp: _retired, ...jwk }) => jwk) });
      sets.set(id, set);
    }
    return set;
  };
  const hasRetired = keys.some((k) => k.exp !== undefined);
  return (header, token) => {
    let candidates: ReadonlyArray<Ed25519PublicJwk>;
    let lookup = header;
    if (header.kid === undefined || kids.has(header.kid) || kidless.length === 0) {
      candidates = header.kid !== undefined && kids.has(header.kid) ? keys.filter((k) => k.kid === header.kid) : header.kid === undefined ? keys : [];
    } else {
      candidates = kidless;
      lookup = { alg: header.alg };
    }
    if (!hasRetired || candidates.length === 0) return setOf(candidates.length ? candidates : keys)(lookup, token);
    const claims = peekClaims(token.payload);
    const usable = candidates.filter((k) => k.exp === undefined || (claims.iat !== undefined && claims.iat <= k.exp && claims.exp !== undefined && claims.exp <= k.exp + graceSec));
    if (usable.length === 0) {
      const k = candidates[0]!;
      const retired = new Date(k.exp! * 1000).toISOString();
      const issued = claims.iat !== undefined ? new Date(claims.iat * 1000).toISOString() : 'unknown';
      throw new ProofError(
        `proof signed by a retired key${k.kid !== undefined ? ` "${k.kid}"` : ''} (retired ${retired}; proof issued ${issued}${claims.exp !== undefined && claims.iat !== undefined && claims.iat <= k.exp! ? `, expiring after the ${graceSec} s grace` : ''}): not trusted for it`,
      );
    }
    return setOf(usable)(lookup, token);
  };
}

/** `iat` / `exp` of a JWS payload (base64url text, or the raw bytes), unverified (numbers only). */
function peekClaims(payload: string | Uint8Array | undefined): { iat?: number; exp?: number } {
  try {
    // jose's decoder and TextDecoder, not Buffer: the edge build (no Buffer) verifies proofs too.
    const bytes = typeof payload === 'string' ? base64url.decode(payload) : (payload ?? new Uint8Array());
    const c = JSON.parse(new TextDecoder().decode(bytes)) as { iat?: unknown; exp?: unknown };
    const out: { iat?: number; exp?: number } = {};
    if (typeof c?.iat === 'number' && Number.isFinite(c.iat)) out.iat = c.iat;
    if (typeof c?.exp === 'number' && Number.isFinite(c.exp)) out.exp = c.exp;
    return out;
  } catch {
    return {};
  }
}

/**
 * jwtVerify, trying each candidate key when several match (jose leaves that loop to the caller):
 * the first key whose signature verifies decides; claim errors after a good signature are final.
 */
async function verifyWithAnyKey(jws: string, getKey: JWTVerifyGetKey, options: JWTVerifyOptions): Promise<unknown> {
  try {
    return (await jwtVerify(jws, getKey, options)).payload;
  } catch (error) {
    const candidates = error as { code?: string } & Partial<AsyncIterable<CryptoKey>>;
    if (candidates?.code !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS' || typeof candidates[Symbol.asyncIterator] !== 'function') throw error;
    let last: unknown = error;
    for await (const key of candidates as AsyncIterable<CryptoKey>) {
      try {
        return (await jwtVerify(jws, key, options)).payload;
      } catch (attempt) {
        if ((attempt as { code?: string })?.code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw attempt;
        last = attempt;
      }
    }
    throw (last as { code?: string })?.code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS' ? new errors.JWSSignatureVerificationFailed() : last;
  }
}

function mapJoseError(error: unknown): ProofError {
  if (error instanceof ProofError) return error;
  const e = error as { code?: string; claim?: string; reason?: string; message?: string };
  const detail = e?.message ?? String(error);
  switch (e?.code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new ProofError('proof signature invalid: not signed by a trusted key', { cause: error });
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return new ProofError('proof signature invalid: no trusted key matches the proof\'s kid', { cause: error });
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new ProofError(`proof alg not accepted: ${detail} (only EdDSA)`, { cause: error });
    case 'ERR_JWT_EXPIRED':
      return new ProofError(`proof expired: ${detail}`, { cause: error });
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.claim === 'aud') return new ProofError(`proof audience mismatch: ${detail}`, { cause: error });
      if (e.claim === 'iss') return new ProofError(`proof issuer mismatch: ${detail}`, { cause: error });
      if (e.claim === 'nbf') return new ProofError(`proof not yet valid: ${detail}`, { cause: error });
      return new ProofError(`proof malformed: ${detail}`, { cause: error });
    default:
      return new ProofError(`proof malformed: ${detail}`, { cause: error });
  }
}
