import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { callDigest, createGate, createProofSigner, fetchJwks, httpReviewer, verifyProof, type Gate, type ProofClaims, type ToolCall } from '@toolgate/core';
import { http, removeDir, startServer, type Started } from '../testing/fixture';
import { jwksOf, type SigningKeyFile } from '../signing/signing-keys';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function started(options: Parameters<typeof startServer>[0] = {}): Promise<Started> {
  const s = await startServer(options);
  cleanups.push(() => removeDir(s.dataDir));
  cleanups.push(() => s.server.close());
  return s;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A relay on loopback in front of the reviewer: `handle` answers POST /v1/reviews, the rest is forwarded. */
async function relay(target: string, handle: (body: Record<string, unknown>, forward: () => Promise<string>) => Promise<string>): Promise<string> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const forward = async () => {
        const r = await request(`${target}${req.url}`, {
          method: req.method as 'GET' | 'POST',
          headers: { ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
          ...(body ? { body } : {}),
        });
        return r.body.text();
      };
      const text = req.method === 'POST' && req.url === '/v1/reviews' ? await handle(JSON.parse(body) as Record<string, unknown>, forward) : await forward();
      res.writeHead(200, { 'content-type': 'application/json' }).end(text);
    })().catch((error: unknown) => res.writeHead(502).end(String(error)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function gateVia(url: string, s: Started, keys: Partial<Parameters<typeof createGate>[0]> = { jwksUrl: `${s.url}/.well-known/jwks.json` }): Gate {
  const gate = createGate({
    reviewer: httpReviewer({ url, apiKey: s.evalKey }),
    highStakes: ['transfer'],
    ...keys,
    failMode: 'open',
    timeoutMs: 10_000,
  });
  cleanups.push(() => gate.close());
  return gate;
}

/** Runs the tool body only when the gate allows; returns the decision and how often the body ran. */
async function run(gate: Gate, call: ToolCall) {
  let ran = 0;
  const decision = await gate.review(call);
  if (decision.verdict === 'allow' || decision.verdict === 'allow_with_conditions') ran++;
  return { decision, ran };
}

describe('proofs are bound to the review request (idempotency key)', () => {
  it('a captured allow proof replayed by a relay at a new gate instance is denied; the tool body never runs', async () => {
    const s = await started();
    let captured: string | undefined;
    let replay = false;
    const url = await relay(s.url, async (_body, forward) => {
      if (replay && captured) return captured;
      captured = await forward();
      return captured;
    });
    // An identical call without a callId (a framework that gives none): only the idempotency key tells two requests apart.
    const call = { tool: 'transfer', args: { amount: 50 } };
    const first = await run(gateVia(url, s), call);
    expect(first.decision).toMatchObject({ verdict: 'allow', source: 'policy' });
    expect(first.ran).toBe(1);
    const claims = JSON.parse(Buffer.from(first.decision.proof!.split('.')[1]!, 'base64url').toString('utf8')) as ProofClaims;
    expect(claims.tg.idk).toBe(first.decision.idempotencyKey);

    replay = true;
    const second = await run(gateVia(url, s), call);
    expect(second.decision).toMatchObject({ verdict: 'deny', error: { code: 'PROOF_INVALID', message: expect.stringMatching(/idempotency key mismatch/) } });
    expect(second.ran).toBe(0);
  });
});

describe('retired signing keys', () => {
  it('the JWKS marks a rotated-out key with exp; a proof minted with the leaked old key after the rotation is refused, older proofs still verify', async () => {
    const s = await started();
    const before = await http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey: 'ret-1', call: { tool: 'transfer', args: { amount: 5 }, callId: 'c-1' } });
    expect(before.body.verdict).toBe('allow');
    // The attacker has a copy of the old private key (a backup, a leaked file).
    const leaked = JSON.parse(readFileSync(join(s.dataDir, 'signing-keys.json'), 'utf8')) as SigningKeyFile;
    const oldKey = leaked.keys.find((k) => k.kid === leaked.activeKid)!;
    const rotated = await http(s.url, 'POST', '/v1/admin/signing-keys/rotate', s.adminKey);
    expect(rotated.status).toBe(200);

    const keys = await fetchJwks(`${s.url}/.well-known/jwks.json`);
    const old = keys.find((k) => k.kid === oldKey.kid)!;
    expect(old.exp).toEqual(expect.any(Number));
    expect(old.exp! * 1000).toBeLessThanOrEqual(Date.now() + 1000);
    expect(keys.find((k) => k.kid === rotated.body.kid)).not.toHaveProperty('exp');
    // A proof the old key signed before its retirement still verifies.
    await verifyProof(before.body.proof, { keys, expected: { tool: 'transfer', digest: callDigest('transfer', { amount: 5 }), callId: 'c-1' } });

    // A relay with the leaked key turns a deny into an allow with a freshly minted, correctly bound proof.
    const minter = await createProofSigner({ privateJwk: oldKey.privateJwk as never, kid: oldKey.kid, issuer: 'toolgate-reviewer', now: () => Date.now() + 2_000 });
    const url = await relay(s.url, async (body, forward) => {
      const real = JSON.parse(await forward()) as Record<string, unknown>;
      const call = body.call as { tool: string; args: unknown; callId?: string };
      const proof = await minter.sign({
        reviewId: String(real.id),
        tool: call.tool,
        digest: callDigest(call.tool, call.args),
        ...(call.callId ? { callId: call.callId } : {}),
        idempotencyKey: String(body.idempotencyKey),
        verdict: 'allow',
        decidedBy: 'policy',
      });
      return JSON.stringify({ ...real, verdict: 'allow', reason: 'ok', proof });
    });
    // The gate fetching the JWKS, and a gate given the same JWKs (with exp) as trustedKeys.
    for (const [i, gateKeys] of [{ jwksUrl: `${s.url}/.well-known/jwks.json` }, { trustedKeys: keys }].entries()) {
      const { decision, ran } = await run(gateVia(url, s, gateKeys), { tool: 'transfer', args: { amount: 50_000 }, callId: `c-2-${i}` });
      expect(decision).toMatchObject({ verdict: 'deny', error: { code: 'PROOF_INVALID', message: expect.stringMatching(/retired key/) } });
      expect(ran).toBe(0);
    }
  });

  it('a retired key leaves the JWKS once the longest proof life has passed', () => {
    const retiredAt = Date.UTC(2026, 0, 1);
    const file: SigningKeyFile = {
      version: 1,
      activeKid: 'new',
      keys: [
        { kid: 'old', createdAt: new Date(retiredAt - 86_400_000).toISOString(), retiredAt: new Date(retiredAt).toISOString(), publicJwk: { kty: 'OKP', crv: 'Ed25519', x: 'b2xk' } },
        { kid: 'new', createdAt: new Date(retiredAt).toISOString(), publicJwk: { kty: 'OKP', crv: 'Ed25519', x: 'bmV3' }, privateJwk: {} },
      ],
    };
    const kids = (now: number) => jwksOf(file, { now, proofTtlSeconds: 600 }).keys.map((k) => [k.kid, k.exp]);
    expect(kids(retiredAt + 600_000)).toEqual([['new', undefined], ['old', retiredAt / 1000]]);
    expect(kids(retiredAt + 660_000)).toEqual([['new', undefined], ['old', retiredAt / 1000]]);
    expect(kids(retiredAt + 661_000)).toEqual([['new', undefined]]);
    // For audit checkpoints every key ever used stays available.
    expect(jwksOf(file, { now: retiredAt + 86_400_000, includeDropped: true }).keys.map((k) => k.kid)).toEqual(['new', 'old']);
  });
});
