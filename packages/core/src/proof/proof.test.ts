import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, generateKeyPair, exportJWK, SignJWT } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { callDigest } from '../digest/call-digest';
import { createProofSigner } from './create-proof-signer';
import { createProofVerifier } from './create-proof-verifier';
import { fetchJwks } from './fetch-jwks';
import { generateSigningKey } from './generate-signing-key';
import type { ProofSigner } from './proof-types';
import { verifyProof } from './verify-proof';

type Key = Awaited<ReturnType<typeof generateSigningKey>>;

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);
const at = (ms: number) => new Date(T0 + ms);
const args = { amount: 10, to: 'acct-1' };
const digest = callDigest('transfer', args);
const expected = { tool: 'transfer', digest, callId: 'call_1', verdict: 'allow' as const };

let trusted: Key;
let other: Key;
let signer: ProofSigner;

beforeAll(async () => {
  trusted = await generateSigningKey();
  other = await generateSigningKey();
  signer = await createProofSigner({ privateJwk: trusted.privateJwk, issuer: 'test-reviewer', ttlSeconds: 60, now: () => T0 });
});

function signAllow(s: ProofSigner = signer, overrides: Partial<Parameters<ProofSigner['sign']>[0]> = {}) {
  return s.sign({ reviewId: 'rv_1', agentId: 'agent-7', tool: 'transfer', digest, callId: 'call_1', verdict: 'allow', conditions: ['notify'], decidedBy: 'policy', ...overrides });
}

function b64(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

describe('generateSigningKey', () => {
  it('makes an extractable Ed25519 pair whose kid is the RFC 7638 thumbprint', async () => {
    expect(trusted.publicJwk).toEqual({ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), alg: 'EdDSA', use: 'sig', kid: trusted.kid });
    expect(trusted.publicJwk).not.toHaveProperty('d');
    expect(trusted.privateJwk).toMatchObject({ ...trusted.publicJwk, d: expect.any(String) });
    expect(trusted.kid).toBe(await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: trusted.publicJwk.x }));
    expect(other.kid).not.toBe(trusted.kid);
  });
});

describe('proof sign → verify', () => {
  it('round-trips the claims', async () => {
    const jws = await signAllow();
    expect(jws.split('.')).toHaveLength(3);
    const claims = await verifyProof(jws, { keys: [trusted.publicJwk], expected, currentDate: at(1000) });
    expect(claims).toEqual({
      iss: 'test-reviewer',
      sub: 'agent-7',
      aud: 'toolgate',
      jti: 'rv_1',
      iat: T0 / 1000,
      exp: T0 / 1000 + 60,
      tg: { v: 1, tool: 'transfer', digest, callId: 'call_1', verdict: 'allow', conditions: ['notify'], decidedBy: 'policy' },
    });
    expect(signer.publicJwk).toEqual(trusted.publicJwk);
    // callId and verdict are only checked when expected names them.
    await expect(verifyProof(jws, { keys: [trusted.publicJwk], expected: { tool: 'transfer', digest }, currentDate: at(0) })).resolves.toMatchObject({ jti: 'rv_1' });
  });

  const reject = async (jws: string, check: RegExp, overrides: Partial<typeof expected> = {}, when = at(1000)) => {
    const verifier = createProofVerifier([trusted.publicJwk]);
    const error = await verifier.verify(jws, { ...expected, ...overrides }, { currentDate: when }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: 'ProofError', code: 'PROOF_INVALID' });
    expect((error as Error).message).toMatch(check);
  };

  it('refuses a proof signed by another key (forged), with or without a trusted kid', async () => {
    const forger = await createProofSigner({ privateJwk: other.privateJwk, now: () => T0 });
    await reject(await signAllow(forger), /^proof signature invalid/);
    // Forger claims the trusted kid: the signature still does not verify.
    const impostor = await createProofSigner({ privateJwk: other.privateJwk, kid: trusted.kid, now: () => T0 });
    await reject(await signAllow(impostor), /^proof signature invalid/);
    // A valid proof with its payload swapped.
    const [h, , s] = (await signAllow()).split('.');
    const payload = b64({ iss: 'x', aud: 'toolgate', jti: 'rv_1', iat: T0 / 1000, exp: T0 / 1000 + 60, tg: { v: 1, tool: 'transfer', digest, callId: 'call_1', verdict: 'allow', conditions: [], decidedBy: 'me' } });
    await reject(`${h}.${payload}.${s}`, /^proof signature invalid/);
  });

  it('refuses an expired proof (clock past exp + tolerance, or a past ttl)', async () => {
    const jws = await signAllow();
    await reject(jws, /^proof expired/, {}, at(60_000 + 6_000));
    // Within the default 5 s tolerance it still verifies.
    await expect(createProofVerifier([trusted.publicJwk]).verify(jws, expected, { currentDate: at(63_000) })).resolves.toBeTruthy();
    await reject(await signAllow(signer, { ttlSeconds: -120 }), /^proof expired/, {}, at(0));
  });

  it('refuses a proof bound to other arguments, another callId, another tool or another verdict', async () => {
    await reject(await signAllow(signer, { digest: callDigest('transfer', { ...args, amount: 99_999 }) }), /^proof digest mismatch: the proof is bound to other arguments/);
    await reject(await signAllow(signer, { callId: 'call_other' }), /^proof callId mismatch/);
    await reject(await signAllow(signer, { callId: undefined }), /^proof callId mismatch/);
    await reject(await signAllow(signer, { tool: 'refund' }), /^proof tool mismatch/);
    await reject(await signAllow(signer, { verdict: 'deny' }), /^proof verdict mismatch/);
  });

  it('refuses alg none and HS256 tokens', async () => {
    const payload = b64({ iss: 'x', aud: 'toolgate', jti: 'rv_1', iat: T0 / 1000, exp: T0 / 1000 + 60, tg: { v: 1, tool: 'transfer', digest, callId: 'call_1', verdict: 'allow', conditions: [], decidedBy: 'me' } });
    await reject(`${b64({ alg: 'none' })}.${payload}.`, /^proof alg not accepted: "none"/);
    const hs = await new SignJWT({ tg: { v: 1, tool: 'transfer', digest, callId: 'call_1', verdict: 'allow', conditions: [], decidedBy: 'me' } })
      .setProtectedHeader({ alg: 'HS256', kid: trusted.kid })
      .setAudience('toolgate')
      .setJti('rv_1')
      .setIssuedAt(T0 / 1000)
      .setExpirationTime(T0 / 1000 + 60)
      // An attacker's favourite: the public key's x used as an HMAC secret.
      .sign(new TextEncoder().encode(trusted.publicJwk.x));
    await reject(hs, /^proof alg not accepted: "HS256"/);
  });

  it('refuses malformed proofs, the wrong audience and a missing tg claim', async () => {
    await reject('not-a-jws', /^proof malformed/);
    await reject('a.b.c', /^proof malformed/);
    const raw = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA', kid: trusted.kid }).setIssuer('test-reviewer').setAudience('toolgate').setJti('rv_1').setIssuedAt(T0 / 1000).setExpirationTime(T0 / 1000 + 60).sign(await importPrivate(trusted));
    await reject(raw, /^proof malformed: claim tg/);
    const verifier = createProofVerifier([trusted.publicJwk], { audience: 'someone-else' });
    await expect(verifier.verify(await signAllow(), expected, { currentDate: at(0) })).rejects.toThrow(/^proof audience mismatch/);
    const issuerBound = createProofVerifier([trusted.publicJwk], { issuer: 'https://review.example' });
    await expect(issuerBound.verify(await signAllow(), expected, { currentDate: at(0) })).rejects.toThrow(/^proof issuer mismatch/);
  });

  it('verifies proofs of old and new keys during a rotation (with and without kids)', async () => {
    const next = await generateSigningKey();
    const oldSigner = signer;
    const newSigner = await createProofSigner({ privateJwk: next.privateJwk, now: () => T0 });
    const verifier = createProofVerifier([trusted.publicJwk, next.publicJwk]);
    await expect(verifier.verify(await signAllow(oldSigner), expected, { currentDate: at(0) })).resolves.toMatchObject({ iss: 'test-reviewer' });
    await expect(verifier.verify(await signAllow(newSigner), expected, { currentDate: at(0) })).resolves.toMatchObject({ iss: 'toolgate' });
    const { kid: _a, ...oldNoKid } = trusted.publicJwk;
    const { kid: _b, ...newNoKid } = next.publicJwk;
    // Trusted keys configured without kids stand in for the signer's kid.
    const anonymous = createProofVerifier([oldNoKid, newNoKid]);
    await expect(anonymous.verify(await signAllow(newSigner), expected, { currentDate: at(0) })).resolves.toBeTruthy();
    await expect(anonymous.verify(await signAllow(oldSigner), expected, { currentDate: at(0) })).resolves.toBeTruthy();
    // A proof with no kid: every trusted key is a candidate, and the one that verifies wins.
    const noKidProof = await new SignJWT({ tg: { v: 1, tool: 'transfer', digest, callId: 'call_1', verdict: 'allow', conditions: [], decidedBy: 'policy' } })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setIssuer('x').setAudience('toolgate').setJti('rv_9').setIssuedAt(T0 / 1000).setExpirationTime(T0 / 1000 + 60)
      .sign(await importPrivate(next));
    await expect(verifier.verify(noKidProof, expected, { currentDate: at(0) })).resolves.toMatchObject({ jti: 'rv_9' });
    const forgedNoKid = await new SignJWT({ tg: { v: 1, tool: 'transfer', digest, callId: 'call_1', verdict: 'allow', conditions: [], decidedBy: 'policy' } })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setIssuer('x').setAudience('toolgate').setJti('rv_9').setIssuedAt(T0 / 1000).setExpirationTime(T0 / 1000 + 60)
      .sign(await importPrivate(other));
    await expect(verifier.verify(forgedNoKid, expected, { currentDate: at(0) })).rejects.toThrow(/^proof signature invalid/);
    // After the old key is dropped, its proofs no longer verify.
    const rotated = createProofVerifier([next.publicJwk]);
    await expect(rotated.verify(await signAllow(oldSigner), expected, { currentDate: at(0) })).rejects.toThrow(/^proof signature invalid/);
  });

  it('validates keys and signer options at construction', async () => {
    expect(() => createProofVerifier([])).toThrow(expect.objectContaining({ code: 'OPTIONS_INVALID' }));
    expect(() => createProofVerifier([trusted.privateJwk])).toThrow(expect.objectContaining({ code: 'OPTIONS_INVALID', message: expect.stringContaining('private part') }));
    const rsa = await exportJWK((await generateKeyPair('RS256', { extractable: true })).publicKey);
    expect(() => createProofVerifier([rsa])).toThrow(expect.objectContaining({ code: 'OPTIONS_INVALID', message: expect.stringContaining('Ed25519') }));
    await expect(createProofSigner({ privateJwk: trusted.publicJwk })).rejects.toMatchObject({ code: 'OPTIONS_INVALID' });
    await expect(createProofSigner({ privateJwk: { ...trusted.privateJwk, x: other.publicJwk.x } })).rejects.toMatchObject({ code: 'OPTIONS_INVALID', message: expect.stringContaining('does not belong') });
    await expect(createProofSigner({ privateJwk: trusted.privateJwk, ttlSeconds: 0 })).rejects.toMatchObject({ code: 'OPTIONS_INVALID' });
    await expect(signAllow(signer, { digest: '' })).rejects.toMatchObject({ code: 'OPTIONS_INVALID' });
  });
});

describe('retired signing keys', () => {
  const T = T0 / 1000;
  const retiredAt = T + 100;
  const retired = () => ({ ...trusted.publicJwk, exp: retiredAt });
  const signedAt = async (sec: number, ttl = 60, key: Key = trusted) => {
    const s = await createProofSigner({ privateJwk: key.privateJwk, issuer: 'test-reviewer', ttlSeconds: ttl, now: () => sec * 1000 });
    return signAllow(s);
  };

  it('a proof issued before the retirement still verifies; one issued after it (a leaked old key) is refused', async () => {
    const verifier = createProofVerifier([retired(), other.publicJwk]);
    await expect(verifier.verify(await signedAt(retiredAt - 10), expected, { currentDate: new Date((retiredAt + 5) * 1000) })).resolves.toMatchObject({ jti: 'rv_1' });
    await expect(verifier.verify(await signedAt(retiredAt), expected, { currentDate: new Date((retiredAt + 5) * 1000) })).resolves.toBeTruthy();
    const minted = await signedAt(retiredAt + 1);
    await expect(verifier.verify(minted, expected, { currentDate: new Date((retiredAt + 2) * 1000) })).rejects.toMatchObject({
      code: 'PROOF_INVALID',
      message: expect.stringMatching(/^proof signed by a retired key ".+" \(retired /),
    });
    // Without the retirement the same proof verifies: the refusal comes from `exp` on the JWK.
    await expect(createProofVerifier([trusted.publicJwk]).verify(minted, expected, { currentDate: new Date((retiredAt + 2) * 1000) })).resolves.toBeTruthy();
  });

  it('a backdated proof from a retired key cannot outlive the grace after the retirement', async () => {
    // The holder of the leaked key picks iat before the retirement and a far exp.
    const backdated = await signedAt(retiredAt - 1, 86_400);
    const verifier = createProofVerifier([retired()], { retiredKeyGraceSec: 600 });
    await expect(verifier.verify(backdated, expected, { currentDate: new Date((retiredAt + 10) * 1000) })).rejects.toThrow(/^proof signed by a retired key .*grace/);
    // A regular proof (600 s life) signed just before the retirement is within the grace.
    await expect(verifier.verify(await signedAt(retiredAt - 1, 600), expected, { currentDate: new Date((retiredAt + 10) * 1000) })).resolves.toBeTruthy();
  });

  it('verifyProof, kidless trusted keys and fetchJwks honour the same field; a bad exp is refused at construction', async () => {
    const minted = await signedAt(retiredAt + 1);
    const when = new Date((retiredAt + 2) * 1000);
    await expect(verifyProof(minted, { keys: [retired()], expected, currentDate: when })).rejects.toThrow(/retired key/);
    const { kid: _k, ...noKid } = retired();
    await expect(verifyProof(minted, { keys: [noKid], expected, currentDate: when })).rejects.toThrow(/retired key/);
    expect(() => createProofVerifier([{ ...trusted.publicJwk, exp: '2025-01-01' }])).toThrow(expect.objectContaining({ code: 'OPTIONS_INVALID', message: expect.stringContaining('NumericDate') }));
    expect(() => createProofVerifier([trusted.publicJwk], { retiredKeyGraceSec: -1 })).toThrow(expect.objectContaining({ code: 'OPTIONS_INVALID' }));
    const server = createServer((_req, res) => res.end(JSON.stringify({ keys: [retired()] })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const keys = await fetchJwks(`http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`);
      expect(keys[0]).toMatchObject({ kid: trusted.kid, exp: retiredAt });
      await expect(verifyProof(minted, { keys, expected, currentDate: when })).rejects.toThrow(/retired key/);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('proofs bound to the idempotency key', () => {
  const idem = 'tg1:run-a:#1:0123456789abcdef';
  const verifier = () => createProofVerifier([trusted.publicJwk]);

  it('signs tg.idk and accepts it only for the same idempotency key', async () => {
    const jws = await signAllow(signer, { idempotencyKey: idem, callId: undefined });
    const noCall = { tool: 'transfer', digest, verdict: 'allow' as const };
    await expect(verifier().verify(jws, { ...noCall, idempotencyKey: idem }, { currentDate: at(0) })).resolves.toMatchObject({ tg: { idk: idem } });
    await expect(verifier().verify(jws, { ...noCall, idempotencyKey: 'tg1:run-b:#1:0123456789abcdef' }, { currentDate: at(0) })).rejects.toMatchObject({
      code: 'PROOF_INVALID',
      message: expect.stringMatching(/^proof idempotency key mismatch/),
    });
  });

  it('a proof without idk is refused for a call without callId (replayable), accepted when bound to the callId', async () => {
    const noCallId = await signAllow(signer, { callId: undefined });
    await expect(verifier().verify(noCallId, { tool: 'transfer', digest, idempotencyKey: idem }, { currentDate: at(0) })).rejects.toThrow(/^proof not bound to this call/);
    const withCallId = await signAllow(signer);
    await expect(verifier().verify(withCallId, { ...expected, idempotencyKey: idem }, { currentDate: at(0) })).resolves.toBeTruthy();
    await expect(signAllow(signer, { idempotencyKey: '' })).rejects.toMatchObject({ code: 'OPTIONS_INVALID' });
  });
});

async function importPrivate(key: Key) {
  const { importJWK } = await import('jose');
  return importJWK(key.privateJwk, 'EdDSA');
}

describe('fetchJwks', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function serve(status: number, body: string): Promise<string> {
    server = createServer((_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  it('fetches Ed25519 public keys that verify proofs', async () => {
    const url = await serve(200, JSON.stringify({ keys: [trusted.publicJwk, { ...other.publicJwk, alg: undefined }] }));
    const keys = await fetchJwks(url);
    expect(keys).toEqual([trusted.publicJwk, { ...other.publicJwk }]);
    const verifier = createProofVerifier(keys);
    await expect(verifier.verify(await signAllow(), expected, { currentDate: at(0) })).resolves.toMatchObject({ jti: 'rv_1' });
  });

  it('rejects sets with private parts or non-Ed25519 keys, bad status and non-JWKS bodies', async () => {
    const rsa = await exportJWK((await generateKeyPair('RS256', { extractable: true })).publicKey);
    const cases: Array<[number, string, RegExp]> = [
      [200, JSON.stringify({ keys: [trusted.publicJwk, trusted.privateJwk] }), /private part/],
      [200, JSON.stringify({ keys: [rsa] }), /not an Ed25519 public key/],
      [200, JSON.stringify({ keys: [] }), /not a JWKS/],
      [200, 'hello', /did not return JSON/],
      [500, JSON.stringify({ keys: [trusted.publicJwk] }), /HTTP 500/],
    ];
    for (const [status, body, message] of cases) {
      const url = await serve(status, body);
      await expect(fetchJwks(url)).rejects.toMatchObject({ code: 'PROOF_INVALID', message: expect.stringMatching(message) });
      await new Promise<void>((resolve) => server!.close(() => resolve()));
      server = undefined;
    }
  });

  it('honours an abort signal and refuses non-http URLs', async () => {
    server = createServer(() => {
      // never answers
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    const controller = new AbortController();
    const p = fetchJwks(url, { signal: controller.signal });
    controller.abort();
    await expect(p).rejects.toMatchObject({ code: 'PROOF_INVALID' });
    await expect(fetchJwks('file:///etc/passwd')).rejects.toMatchObject({ code: 'OPTIONS_INVALID' });
    server.closeAllConnections();
  });
});
