import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSigningKey, OptionsError } from '@toolgate/core';
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
 * Generates a new active Ed25519 key and retires the old one (its private half is dropped, its
 * public half stays in the JWKS). Returns the new file.
 */
export async function rotateSigningKeys(dataDir: string): Promise<SigningKeyFile> {
  const file = await loadOrCreateSigningKeys(dataDir);
  const next = await newKey();
  const now = new Date().toISOString();
  const keys = file.keys.map((k) => {
    if (k.privateJwk === undefined) return k;
    const { privateJwk: _drop, ...pub } = k;
    return { ...pub, retiredAt: now };
  });
  const out: SigningKeyFile = { version: 1, activeKid: next.kid, keys: [...keys, next] };
  writeKeyFile(signingKeyPath(dataDir), out);
  return out;
}

/** The JWKS document of every key in the file (active first). */
export function jwksOf(file: SigningKeyFile): { keys: Jwk[] } {
  const ordered = [...file.keys].sort((a, b) => (a.kid === file.activeKid ? -1 : b.kid === file.activeKid ? 1 : 0));
  return { keys: ordered.map((k) => ({ ...k.publicJwk, kid: k.kid, alg: 'EdDSA', use: 'sig' })) };
}

/** The active key (with its private half). */
export function activeKey(file: SigningKeyFile): StoredSigningKey & { privateJwk: Jwk } {
  const k = file.keys.find((x) => x.kid === file.activeKid);
  if (!k?.privateJwk) throw new OptionsError('signing key file has no active private key');
  return k as StoredSigningKey & { privateJwk: Jwk };
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
