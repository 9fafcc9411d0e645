import { createPrivateKey, createPublicKey, randomBytes, sign as edSign, verify as edVerify, type KeyObject } from '../platform/node-crypto';
import { sha256 } from '../digest/call-digest';
import { OptionsError } from '../errors';
import { assertPublicEd25519 } from '../proof/create-proof-verifier';
import type { JWK, TrustedKeys } from '../proof/proof-types';
import type { AuditEntry, AuditRecord } from '../types';
import type { ChainHead } from './chain';

/** `meta.action` of a checkpoint record (kind `admin`, tool `toolgate.audit.checkpoint`). */
export const CHECKPOINT_ACTION = 'audit.checkpoint';
/** `typ` of a checkpoint's JWS header: a checkpoint is never mistaken for a proof, nor a proof for it. */
export const CHECKPOINT_TYPE = 'toolgate-audit-checkpoint+jwt';
/** `aud` of a checkpoint's JWS payload (proofs have `aud: "toolgate"` and a `tg` claim). */
export const CHECKPOINT_AUDIENCE = 'toolgate-audit';

/**
 * A signed chain checkpoint: "the chain ended at `seq` with `hash` at `ts`", signed with Ed25519.
 * Stored in a checkpoint record's `meta` (with `action: "audit.checkpoint"`); `sig` is the
 * signature in lowercase hex (hex, not base64url, so no redaction pattern can ever match it).
 * `checkpointJws` rebuilds the compact JWS any JOSE library verifies with the server's JWKS.
 */
export interface SignedCheckpoint {
  seq: number;
  hash: string;
  ts: string;
  /** Ed25519 signature over the JWS signing input, hex. */
  sig: string;
  /** The signing key's id (informational: verification tries every trusted key). */
  kid?: string;
}

/** Signs checkpoints with one Ed25519 key (synchronously: it runs inside a store transaction). */
export interface CheckpointSigner {
  readonly kid: string;
  /** Signs the head `{ seq, hash }` at `now`. */
  sign(head: ChainHead, now?: Date): SignedCheckpoint;
  /** An audit entry (kind `admin`) carrying a signed checkpoint of `head`, ready for a sink. */
  entry(head: ChainHead, now?: Date): AuditEntry;
}

/**
 * Creates a checkpoint signer from an Ed25519 private JWK (the review server's proof key).
 *
 * @example
 * ```ts
 * const cp = createCheckpointSigner({ privateJwk, kid });
 * sink.append(cp.entry({ seq: last.seq, hash: last.hash }));
 * ```
 */
export function createCheckpointSigner(options: { privateJwk: JWK | Readonly<Record<string, unknown>>; kid: string }): CheckpointSigner {
  const jwk = options?.privateJwk as Record<string, unknown> | undefined;
  if (!jwk || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || typeof jwk.d !== 'string') {
    throw new OptionsError('createCheckpointSigner: privateJwk must be an Ed25519 private JWK ({ kty: "OKP", crv: "Ed25519", x, d })');
  }
  if (typeof options.kid !== 'string' || options.kid === '') throw new OptionsError('createCheckpointSigner: kid must be a non-empty string');
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, format: 'jwk' });
  } catch (cause) {
    throw new OptionsError(`createCheckpointSigner: privateJwk could not be imported (${(cause as Error).message})`, { cause });
  }
  const kid = options.kid;
  const sign = (head: ChainHead, now = new Date()): SignedCheckpoint => {
    const unsigned = { seq: head.seq, hash: head.hash, ts: now.toISOString() };
    const sig = edSign(null, Buffer.from(signingInput(unsigned), 'ascii'), key).toString('hex');
    return { ...unsigned, sig, kid };
  };
  return {
    kid,
    sign,
    entry(head, now = new Date()) {
      const cp = sign(head, now);
      return {
        id: `cp_${randomBytes(8).toString('hex')}`,
        ts: cp.ts,
        kind: 'admin',
        call: { tool: `toolgate.${CHECKPOINT_ACTION}`, digest: sha256(`${cp.seq}:${cp.hash}:${cp.ts}:${cp.sig}`) },
        meta: { action: CHECKPOINT_ACTION, seq: cp.seq, hash: cp.hash, ts: cp.ts, sig: cp.sig, kid: cp.kid },
      };
    },
  };
}

/** The signed checkpoint a record carries, or undefined when it is not a checkpoint record. */
export function checkpointOf(record: Pick<AuditRecord, 'kind' | 'meta'> | null | undefined): SignedCheckpoint | 'malformed' | undefined {
  const m = record?.meta;
  if (record?.kind !== 'admin' || !m || m.action !== CHECKPOINT_ACTION) return undefined;
  if (typeof m.seq !== 'number' || !Number.isSafeInteger(m.seq) || m.seq < 0 || typeof m.hash !== 'string' || typeof m.ts !== 'string' || typeof m.sig !== 'string') {
    return 'malformed';
  }
  const out: SignedCheckpoint = { seq: m.seq, hash: m.hash, ts: m.ts, sig: m.sig };
  if (typeof m.kid === 'string') out.kid = m.kid;
  return out;
}

/**
 * The compact JWS of a signed checkpoint (header `{ alg: "EdDSA", typ }`, payload
 * `{ aud, seq, hash, ts }`), for verification with any JOSE library and the server's JWKS.
 */
export function checkpointJws(cp: SignedCheckpoint): string {
  return `${signingInput(cp)}.${Buffer.from(cp.sig, 'hex').toString('base64url')}`;
}

// btoa, not Buffer: this runs at import, and the edge build (no Buffer) imports this module too.
const HEADER_B64 = btoa(JSON.stringify({ alg: 'EdDSA', typ: CHECKPOINT_TYPE })).replace(/=+$/, '').replaceAll('+', '-').replaceAll('/', '_');

function signingInput(cp: { seq: number; hash: string; ts: string }): string {
  const payload = JSON.stringify({ aud: CHECKPOINT_AUDIENCE, seq: cp.seq, hash: cp.hash, ts: cp.ts });
  return `${HEADER_B64}.${Buffer.from(payload, 'utf8').toString('base64url')}`;
}

/** Keys to verify checkpoints with: a JWKS document or a list of public JWKs. */
export interface CheckpointKeyOptions {
  /** A JWKS document (e.g. the review server's `/.well-known/jwks.json`, or an archived copy). */
  jwks?: { keys: ReadonlyArray<unknown> };
  /** Public Ed25519 JWKs. */
  keys?: TrustedKeys;
}

interface PreparedKey {
  kid?: string;
  exp?: number;
  key: KeyObject;
}

/**
 * Prepared checkpoint keys (undefined when none were given).
 * @internal
 */
export class CheckpointKeys {
  private constructor(private readonly keys: ReadonlyArray<PreparedKey>) {}

  static from(options: CheckpointKeyOptions | undefined, where: string): CheckpointKeys | undefined {
    const list = [...(options?.keys ?? []), ...(options?.jwks?.keys ?? [])];
    if (options?.jwks !== undefined && !Array.isArray(options.jwks.keys)) throw new OptionsError(`${where}: jwks must be a JWKS document ({ keys: [...] })`);
    if (list.length === 0) {
      if (options?.jwks !== undefined || options?.keys !== undefined) throw new OptionsError(`${where}: the key set is empty; pass the review server's JWKS (or its public keys)`);
      return undefined;
    }
    return new CheckpointKeys(
      list.map((k) => {
        const clean = assertPublicEd25519(k, where);
        const prepared: PreparedKey = { key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: clean.x }, format: 'jwk' }) };
        if (clean.kid !== undefined) prepared.kid = clean.kid;
        if (clean.exp !== undefined) prepared.exp = clean.exp;
        return prepared;
      }),
    );
  }

  /** Null when the checkpoint was signed by a trusted key (not after its retirement); else why not. */
  check(cp: SignedCheckpoint): { kid?: string } | string {
    const sig = /^[0-9a-f]{128}$/.test(cp.sig) ? Buffer.from(cp.sig, 'hex') : undefined;
    const at = Date.parse(cp.ts);
    if (!sig || !Number.isFinite(at)) return 'checkpoint malformed: sig must be 64 bytes of hex and ts an ISO time';
    const data = Buffer.from(signingInput(cp), 'ascii');
    let retired: PreparedKey | undefined;
    for (const k of this.keys) {
      if (!edVerify(null, data, k.key, sig)) continue;
      if (k.exp !== undefined && at / 1000 > k.exp) {
        retired = k;
        continue;
      }
      return k.kid !== undefined ? { kid: k.kid } : {};
    }
    if (retired) {
      return `checkpoint signature invalid: signed at ${cp.ts} by key ${JSON.stringify(retired.kid ?? '(no kid)')}, retired ${new Date(retired.exp! * 1000).toISOString()}`;
    }
    return 'checkpoint signature invalid: not signed by a trusted key (forged, or the key set lacks the signing key)';
  }
}
