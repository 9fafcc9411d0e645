import { z } from 'zod';
import { OptionsError, ProofError } from '../errors';
import { BodyTooLargeError, httpRequestOnce } from '../platform/http-client';
import { assertPublicEd25519 } from './create-proof-verifier';
import type { Ed25519PublicJwk } from './proof-types';

const jwksSchema = z.object({
  keys: z
    .array(
      z
        .object({
          kty: z.string(),
          crv: z.string().optional(),
          x: z.string().optional(),
          kid: z.string().optional(),
          alg: z.string().optional(),
          use: z.string().optional(),
        })
        .loose(),
    )
    .min(1),
});

const MAX_BYTES = 256 * 1024;

/** Options of `fetchJwks`. */
export interface FetchJwksOptions {
  signal?: AbortSignal;
  /** Bound on the whole fetch, in ms. Default 10 000. */
  timeoutMs?: number;
}

/**
 * Fetches a JWKS once (e.g. a review server's `/.well-known/jwks.json`) and returns its keys,
 * ready for `createProofVerifier`. Pin the result: fetch at start-up, not per proof. Every key
 * must be an Ed25519 public key (`kty: "OKP"`, `crv: "Ed25519"`, no private `d`); any other key,
 * a non-200 answer, a body over 256 KiB or invalid JSON rejects the whole set with ProofError
 * (`PROOF_INVALID`), so a misconfigured server cannot widen what the gate trusts.
 *
 * @example
 * ```ts
 * const keys = await fetchJwks('http://127.0.0.1:7070/.well-known/jwks.json');
 * const verifier = createProofVerifier(keys);
 * ```
 */
export async function fetchJwks(url: string, options: FetchJwksOptions = {}): Promise<Ed25519PublicJwk[]> {
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    throw new OptionsError(`fetchJwks: ${JSON.stringify(url)} is not a URL`);
  }
  if (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:') {
    throw new OptionsError(`fetchJwks: use an http(s) URL (got ${parsedUrl.protocol})`);
  }
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;

  let text: string;
  try {
    const res = await httpRequestOnce(parsedUrl, { method: 'GET', headers: { accept: 'application/json' }, signal });
    if (res.status !== 200) {
      await res.discard();
      throw new ProofError(`fetchJwks: ${parsedUrl.href} answered HTTP ${res.status}; expected 200 with a JWKS`);
    }
    try {
      text = await res.text(MAX_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLargeError) throw new ProofError(`fetchJwks: ${parsedUrl.href} sent more than ${MAX_BYTES} bytes; a JWKS is small`);
      throw error;
    }
  } catch (error) {
    if (error instanceof ProofError) throw error;
    throw new ProofError(`fetchJwks: cannot fetch ${parsedUrl.href}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ProofError(`fetchJwks: ${parsedUrl.href} did not return JSON`, { cause });
  }
  const parsed = jwksSchema.safeParse(json);
  if (!parsed.success) {
    throw new ProofError(`fetchJwks: ${parsedUrl.href} is not a JWKS ({ keys: [...] } with at least one key): ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  try {
    return parsed.data.keys.map((k) => assertPublicEd25519(k, `fetchJwks ${parsedUrl.href}`));
  } catch (error) {
    throw new ProofError((error as Error).message, { cause: error });
  }
}
