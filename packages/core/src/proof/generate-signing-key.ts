import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Ed25519PrivateJwk, Ed25519PublicJwk } from './proof-types';

/**
 * Generates an Ed25519 signing key for proofs. `kid` is the RFC 7638 thumbprint of the public key;
 * both JWKs carry it, with `alg: 'EdDSA'` and `use: 'sig'`. Keep `privateJwk` secret (it has `d`);
 * publish `publicJwk` (e.g. at `/.well-known/jwks.json`).
 *
 * @example
 * ```ts
 * const { privateJwk, publicJwk, kid } = await generateSigningKey();
 * const signer = await createProofSigner({ privateJwk });
 * ```
 */
export async function generateSigningKey(): Promise<{ privateJwk: Ed25519PrivateJwk; publicJwk: Ed25519PublicJwk & { kid: string }; kid: string }> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const pub = await exportJWK(publicKey);
  const priv = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint({ kty: pub.kty, crv: pub.crv, x: pub.x } as JWK);
  const publicJwk: Ed25519PublicJwk & { kid: string } = { kty: 'OKP', crv: 'Ed25519', x: pub.x as string, alg: 'EdDSA', use: 'sig', kid };
  const privateJwk: Ed25519PrivateJwk = { ...publicJwk, d: priv.d as string };
  return { privateJwk, publicJwk, kid };
}
