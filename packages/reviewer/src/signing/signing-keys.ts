import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCheckpointSigner, generateSigningKey, OptionsError, type CheckpointSigner } from '@toolgate/core';
import { DATA_FILES } from '../store/open-store';

type Jwk = Record<string, unknown>;

/** One Ed25519 key. Retired keys keep only the public half: proofs they signed stay verifiable. */
export interface StoredSigningKey {
  kid: string;
  createdAt: string;
  publicJwk: Jwk;
  privateJwk?: Jwk;
  retiredAt?: string;
}

/** `signing-keys.json` in the data dir (mode 0600). */
export interface SigningKeyFile {
  version: 1;
  activeKid: string;
  keys: StoredSigningKey[];
}

/** Path of the signing key file in a data dir. */
export function signingKeyPath(dataDir: string): string {
  return join(dataDir, DATA_FILES.signingKeys);
}

/** Reads the signing keys of a data dir, generating the first Ed25519 key if there is none. */
export async function loadOrCreateSigningKeys(dataDir: string): Promise<SigningKeyFile> {
  const path = signingKeyPath(dataDir);
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text === undefined) {
    const first = await newKey();
    const file: SigningKeyFile = { version: 1, activeKid: first.kid, keys: [first] };
    writeKeyFile(path, file);
    return file;
  }
  const file = JSON.parse(text) as SigningKeyFile;
  const active = file.keys?.find((k) => k.kid === file.activeKid);
  if (file.version !== 1 || !active?.privateJwk) {
    throw new OptionsError(`${path} is not a toolgate signing key file with an active private key; move it aside to generate a new key`);
  }
  try {
    chmodSync(path, 0o600);
  } catch {
    // best effort on filesystems without modes
  }
  return file;
}

/**
 * Generates a new active Ed25519 key and retires the old one: its private half is dropped and its
 * public half stays in the file with `retiredAt` (the JWKS publishes it with `exp` until the
 * longest proof life has passed; see `jwksOf`). Returns the new file.
 */
export async function rotateSigningKeys(dataDir: string): Promise<SigningKeyFile> {
  const out = await rotatedKeyFile(await loadOrCreateSigningKeys(dataDir));
  writeKeyFile(signingKeyPath(dataDir), out);
  return out;
}

/** A first key file (one new active key): where the keys are stored is the caller's business. */
export async function newSigningKeyFile(): Promise<SigningKeyFile> {
  const first = await newKey();
  return { version: 1, activeKid: first.kid, keys: [first] };
}

/** `file` with a new active key and every old one retired (private half dropped). */
export async function rotatedKeyFile(file: SigningKeyFile): Promise<SigningKeyFile> {
  const next = await newKey();
  const now = new Date().toISOString();
  const keys = file.keys.map((k) => {
    if (k.privateJwk === undefined) return k;
    const { privateJwk: _drop, ...pub } = k;
    return { ...pub, retiredAt: now };
  });
  return { version: 1, activeKid: next.kid, keys: [...keys, next] };
}

/** Options of `jwksOf`. */
export interface JwksOfOptions {
  /** "Now", in ms. Default `Date.now()`. */
  now?: number;
  /**
   * The longest lifetime of a proof this server signs, in seconds. A retired key stays in the JWKS
   * this long (plus a minute of clock skew) after its retirement, so proofs it signed just before
   * can still be verified, then it is dropped. Default 600 (the server's default proof lifetime).
   */
  proofTtlSeconds?: number;
  /** Keep every retired key, however old (to verify old audit checkpoints offline). Default false. */
  includeDropped?: boolean;
}

/** Slack added to the proof lifetime before a retired key leaves the JWKS. */
export const RETIRED_KEY_SKEW_SECONDS = 60;

/**
 * The JWKS document (active key first). A retired key carries `exp`: its retirement as a
 * NumericDate (seconds, rounded up), an extra JWK member (RFC 7517 §4) with the meaning of a
 * key's `exp` in OpenID Federation's historical keys. Verifiers (`@toolgate/core`) refuse proofs it
 * signed after that time. Retired keys older than the longest proof life are left out.
 */
export function jwksOf(file: SigningKeyFile, options: JwksOfOptions = {}): { keys: Jwk[] } {
  const now = options.now ?? Date.now();
  const keepMs = ((options.proofTtlSeconds ?? 600) + RETIRED_KEY_SKEW_SECONDS) * 1000;
  const ordered = [...file.keys].sort((a, b) => (a.kid === file.activeKid ? -1 : b.kid === file.activeKid ? 1 : 0));
  const keys: Jwk[] = [];
  for (const k of ordered) {
    const retiredMs = k.kid === file.activeKid || k.retiredAt === undefined ? undefined : Date.parse(k.retiredAt);
    if (retiredMs !== undefined && Number.isFinite(retiredMs) && !options.includeDropped && now > retiredMs + keepMs) continue;
    const jwk: Jwk = { ...k.publicJwk, kid: k.kid, alg: 'EdDSA', use: 'sig' };
    delete jwk.exp;
    // A retired key without a readable retirement time is treated as retired at its creation.
    if (k.kid !== file.activeKid) jwk.exp = retirementOf(k);
    keys.push(jwk);
  }
  return { keys };
}

/** The retirement of a non-active key, as a NumericDate (seconds, rounded up). */
function retirementOf(k: StoredSigningKey): number {
  const at = Date.parse(k.retiredAt ?? k.createdAt);
  return Number.isFinite(at) ? Math.ceil(at / 1000) : 0;
}

/**
 * Reads the signing key file of a data dir without creating one; undefined when there is none.
 * For offline checks (`toolgate audit verify`) that must not generate keys.
 */
export function readSigningKeys(dataDir: string): SigningKeyFile | undefined {
  let text: string;
  try {
    text = readFileSync(signingKeyPath(dataDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const file = JSON.parse(text) as SigningKeyFile;
  if (file?.version !== 1 || !Array.isArray(file.keys)) throw new OptionsError(`${signingKeyPath(dataDir)} is not a toolgate signing key file`);
  return file;
}

/** The active key (with its private half). */
export function activeKey(file: SigningKeyFile): StoredSigningKey & { privateJwk: Jwk } {
  const k = file.keys.find((x) => x.kid === file.activeKid);
  if (!k?.privateJwk) throw new OptionsError('signing key file has no active private key');
  return k as StoredSigningKey & { privateJwk: Jwk };
}

/**
 * Audit checkpoint signing with the active key of `file`. The getter answers undefined once the
 * key file on disk names another active key (rotated by another process, e.g. the CLI): a key
 * retired there must not sign checkpoints after its retirement (verifiers refuse them).
 */
export function checkpointSignerOf(dataDir: string, file: SigningKeyFile): () => CheckpointSigner | undefined {
  const k = activeKey(file);
  const signer = createCheckpointSigner({ privateJwk: k.privateJwk, kid: k.kid });
  return () => {
    try {
      return readSigningKeys(dataDir)?.activeKid === k.kid ? signer : undefined;
    } catch {
      return undefined;
    }
  };
}

async function newKey(): Promise<StoredSigningKey> {
  const g = await generateSigningKey();
  return {
    kid: g.kid,
    createdAt: new Date().toISOString(),
    publicJwk: g.publicJwk as unknown as Jwk,
    privateJwk: g.privateJwk as unknown as Jwk,
  };
}

function writeKeyFile(path: string, file: SigningKeyFile): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}
