// Issue 9: @toolgate/core and @toolgate/ai-sdk bundle and run in a web-standard runtime. The
// bundles are made from the SOURCES with the edge conditions and core's edge swap (the plugin its
// tsup edge build uses) and run inside `edge-runtime`'s EdgeRuntime (web APIs only: no Buffer,
// no process, no require).
import { EdgeRuntime } from 'edge-runtime';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { callDigest, createProofSigner, generateSigningKey, sha256 } from '@toolgate/core';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sha256 as edgeSha256 } from '../../packages/core/src/platform/sha256.edge';
import { startStub } from '../support/stub-server';
import { AI_SDK_ENTRY, bundleForEdge, CORE_ENTRY, EDGE_ENTRY, type EdgeBundle } from './edge-bundle';

const CALLS = [
  { tool: 'transfer', args: { amount: 5, to: 'acme', note: 'café ☕ 😀', nested: { list: [1, 2.5, -0, 1e21, null, true] } }, callId: 'call_a' },
  { tool: 'transfer', args: { amount: 5000, to: 'eve' }, callId: 'call_b' },
];

let bundle: EdgeBundle;
let stub: Awaited<ReturnType<typeof startStub>> | undefined;

beforeAll(async () => {
  bundle = await bundleForEdge(EDGE_ENTRY, 'iife');
});

afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

/** A fresh EdgeRuntime with the bundle loaded; `run` evaluates an async body and returns its JSON. */
function edge() {
  const runtime = new EdgeRuntime();
  runtime.evaluate(bundle.code);
  return {
    runtime,
    async run<T>(body: string): Promise<T> {
      const json = await runtime.evaluate<Promise<string>>(`(async () => { const { core, aiSdk, tool, z } = __toolgate; const out = await (async () => { ${body} })(); return JSON.stringify(out); })()`);
      return JSON.parse(json) as T;
    },
  };
}

describe('edge bundles of @toolgate/core and @toolgate/ai-sdk', () => {
  it.each([
    ['@toolgate/core', CORE_ENTRY],
    ['@toolgate/ai-sdk', AI_SDK_ENTRY],
  ])('%s bundles with the edge conditions and imports nothing from node: (no undici, no fs)', async (_name, entry) => {
    const b = await bundleForEdge(entry, 'esm');
    expect(b.externalImports.filter((p) => p.startsWith('node:'))).toEqual([]);
    expect(b.externalImports.filter((p) => p !== '@opentelemetry/api')).toEqual([]);
    expect(b.inputs.filter((p) => /node_modules\/(\.pnpm\/)?undici/.test(p))).toEqual([]);
    expect(b.code).not.toMatch(/\bfrom\s*["']node:|\brequire\(["']node:|\bimport\(["']node:/);
    // The swapped modules are the ones bundled; their Node twins are not.
    expect(b.inputs.some((p) => p.endsWith('platform/sha256.edge.ts'))).toBe(true);
    expect(b.inputs.some((p) => p.endsWith('platform/sha256.ts') || p.endsWith('audit/jsonl-audit.ts') || p.endsWith('platform/http-client.ts'))).toBe(false);
  });

  it('core package.json routes the edge conditions to dist/edge before import/require (first match wins)', () => {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../packages/core/package.json', import.meta.url)), 'utf8')) as {
      exports: Record<string, Record<string, { types: string; default: string }>>;
    };
    const keys = Object.keys(pkg.exports['.']!);
    for (const condition of ['edge-light', 'workerd', 'worker', 'browser']) {
      expect(pkg.exports['.']![condition]).toEqual({ types: './dist/index.d.ts', default: './dist/edge/index.js' });
      expect(keys.indexOf(condition)).toBeLessThan(keys.indexOf('import'));
    }
  });

  it('the edge SHA-256 (pure JS, synchronous) equals node:crypto for any string, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        expect(edgeSha256(text)).toBe(sha256(text));
      }),
      { numRuns: 500 },
    );
    expect(edgeSha256('\ud800x')).toBe(sha256('\ud800x'));
  });
});

describe('inside EdgeRuntime (web APIs only)', () => {
  it('has no Node globals: the test would catch a Buffer or process use', async () => {
    const { runtime } = edge();
    expect(runtime.evaluate('[typeof Buffer, typeof process, typeof require].join()')).toBe('undefined,undefined,undefined');
  });

  it('a gate with an inline policy reviewer and memoryAudit allows and denies, with the digests Node computes', async () => {
    const { run } = edge();
    const out = await run<{ decisions: Array<{ verdict: string; digest: string; reason?: string }>; digests: string[]; records: number; ran: number[] }>(`
      const audit = core.memoryAudit();
      const gate = core.createGate({
        reviewer: core.policyReviewer({ rules: [{ name: 'large-transfers', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 1000 }], verdict: 'deny' }], default: 'allow' }),
        highStakes: ['transfer'],
        audit,
      });
      const calls = ${JSON.stringify(CALLS)};
      const ran = [];
      const decisions = [];
      for (const call of calls) {
        const d = await gate.review(call);
        decisions.push({ verdict: d.verdict, digest: d.digest, reason: d.reason });
        if (core.isAllowed(d)) ran.push(call.args.amount);
      }
      await gate.close();
      return { decisions, digests: calls.map((c) => core.callDigest(c.tool, c.args)), records: audit.records.length, ran };
    `);
    expect(out.decisions.map((d) => d.verdict)).toEqual(['allow', 'deny']);
    const nodeDigests = CALLS.map((c) => callDigest(c.tool, c.args));
    expect(out.decisions.map((d) => d.digest)).toEqual(nodeDigests);
    expect(out.digests).toEqual(nodeDigests);
    expect(out.ran).toEqual([5]);
    expect(out.records).toBeGreaterThanOrEqual(2);
  });

  it('withGovernance (ai-sdk) runs an allowed body once and a denied body never, called directly', async () => {
    const { run } = edge();
    const out = await run<{ ran: number[]; allowed: unknown; denied: unknown }>(`
      const gate = core.createGate({
        reviewer: core.policyReviewer({ rules: [{ name: 'large', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 1000 }], verdict: 'deny' }], default: 'allow' }),
        highStakes: ['transfer'],
      });
      const ran = [];
      const tools = aiSdk.withGovernance({
        transfer: tool({
          description: 'Move money',
          inputSchema: z.object({ amount: z.number(), to: z.string() }),
          execute: async ({ amount }) => { ran.push(amount); return { sent: amount }; },
        }),
      }, gate);
      const denied = await tools.transfer.execute({ amount: 5000, to: 'eve' }, { toolCallId: 'call-denied', messages: [] });
      const deniedRan = ran.length;
      const allowed = await tools.transfer.execute({ amount: 5, to: 'acme' }, { toolCallId: 'call-allowed', messages: [] });
      await gate.close();
      return { ran, deniedRan, allowed, denied };
    `);
    expect(out).toMatchObject({ deniedRan: 0, ran: [5], allowed: { sent: 5 } });
    expect(JSON.stringify(out.denied)).toMatch(/large/);
  });

  it('httpReviewer speaks protocol v1 over the runtime fetch to a real server on 127.0.0.1, proofs checked against its JWKS', async () => {
    const key = await generateSigningKey();
    const signer = await createProofSigner({ privateJwk: key.privateJwk });
    const proofs = new Map<string, string>();
    for (const c of CALLS) {
      const digest = callDigest(c.tool, c.args);
      const verdict = c.args.amount > 1000 ? 'deny' : 'allow';
      proofs.set(digest, await signer.sign({ reviewId: `rv_${c.args.amount}`, tool: c.tool, digest, callId: c.callId, verdict, decidedBy: 'policy' }));
    }
    stub = await startStub((r) => {
      if (r.method === 'GET' && r.path === '/.well-known/jwks.json') return { kind: 'json', body: { keys: [key.publicJwk] } };
      const body = r.body as { digest: string; call: { args: { amount: number } } };
      const deny = body.call.args.amount > 1000;
      return {
        kind: 'json',
        body: { id: `rv_${body.call.args.amount}`, status: 'decided', verdict: deny ? 'deny' : 'allow', reason: deny ? 'too large' : 'ok', decidedBy: 'policy', digest: body.digest, proof: proofs.get(body.digest) },
      };
    });
    const { run } = edge();
    const out = await run<{ verdicts: string[]; ran: number[]; codes: Array<string | null>; proven: boolean[] }>(`
      const url = ${JSON.stringify(stub.url)};
      const gate = core.createGate({ reviewer: core.httpReviewer({ url, apiKey: 'k_edge' }), highStakes: ['transfer'], failMode: 'closed', jwksUrl: url + '/.well-known/jwks.json' });
      const ran = [];
      const verdicts = [];
      const codes = [];
      const proven = [];
      for (const call of ${JSON.stringify(CALLS)}) {
        const d = await gate.review(call);
        verdicts.push(d.verdict);
        codes.push(d.error?.code ?? null);
        proven.push(typeof d.proof === 'string');
        if (core.isAllowed(d)) ran.push(call.args.amount);
      }
      await gate.close();
      return { verdicts, ran, codes, proven };
    `);
    expect(out).toEqual({ verdicts: ['allow', 'deny'], ran: [5], codes: [null, null], proven: [true, true] });
    const posts = stub.requests.filter((r) => r.method === 'POST' && r.path === '/v1/reviews');
    expect(posts).toHaveLength(2);
    expect(posts[0]!.headers.authorization).toBe('Bearer k_edge');
    expect(posts.map((p) => (p.body as { digest: string }).digest)).toEqual(CALLS.map((c) => callDigest(c.tool, c.args)));
    expect(stub.requests.filter((r) => r.path === '/.well-known/jwks.json')).toHaveLength(1);
  });

  it('a reviewer that is down is a fail-closed deny in the edge build too (fetch errors are typed)', async () => {
    stub = await startStub(() => ({ kind: 'json', body: {} }));
    const url = stub.url;
    await stub.close();
    stub = undefined;
    const { run } = edge();
    const out = await run<{ verdict: string; code?: string }>(`
      const gate = core.createGate({ reviewer: core.httpReviewer({ url: ${JSON.stringify(url)}, apiKey: 'k', retry: { maxAttempts: 1 } }), highStakes: ['transfer'], failMode: 'closed', timeoutMs: 2000 });
      const d = await gate.review({ tool: 'transfer', args: { amount: 5 } });
      await gate.close();
      return { verdict: d.verdict, code: d.error?.code };
    `);
    expect(out).toEqual({ verdict: 'deny', code: 'REVIEWER_UNREACHABLE' });
  });

  it('proofs signed on Node verify in the edge build: a gate with trustedKeys allows the proven call only; retired keys keep their grace', async () => {
    const key = await generateSigningKey();
    const other = await generateSigningKey();
    const call = { tool: 'transfer', args: { amount: 5, to: 'acme' }, callId: 'call_1' };
    const digest = callDigest(call.tool, call.args);
    const input = { reviewId: 'rv_1', tool: call.tool, digest, callId: call.callId, verdict: 'allow' as const, decidedBy: 'policy' };
    const good = await (await createProofSigner({ privateJwk: key.privateJwk })).sign(input);
    const forged = await (await createProofSigner({ privateJwk: other.privateJwk })).sign(input);
    const otherCall = await (await createProofSigner({ privateJwk: key.privateJwk })).sign({ ...input, digest: callDigest('transfer', { amount: 5000, to: 'eve' }) });
    const T = Math.floor(Date.now() / 1000);
    const before = await (await createProofSigner({ privateJwk: key.privateJwk, now: () => (T - 100) * 1000 })).sign(input);
    const after = await (await createProofSigner({ privateJwk: key.privateJwk, now: () => (T - 10) * 1000 })).sign(input);
    const { run } = edge();
    const out = await run<{ gate: Array<{ verdict: string; code: string | null }>; ran: number; retired: Array<string> }>(`
      const proofs = ${JSON.stringify({ good, forged, otherCall })};
      const call = ${JSON.stringify(call)};
      const gateResults = [];
      let ran = 0;
      for (const name of ['good', 'forged', 'otherCall']) {
        const gate = core.createGate({ reviewer: core.callbackReviewer(() => ({ verdict: 'allow', reason: 'ok', proof: proofs[name] })), highStakes: ['transfer'], trustedKeys: [${JSON.stringify(key.publicJwk)}] });
        const d = await gate.review(call);
        gateResults.push({ verdict: d.verdict, code: d.error?.code ?? null });
        if (core.isAllowed(d)) ran += 1;
        await gate.close();
      }
      const verifier = core.createProofVerifier([{ ...${JSON.stringify(key.publicJwk)}, exp: ${T - 50} }]);
      const expected = { tool: call.tool, digest: ${JSON.stringify(digest)}, callId: call.callId, verdict: 'allow' };
      const retired = [];
      for (const token of ${JSON.stringify([before, after])}) {
        try { retired.push((await verifier.verify(token, expected)).jti); } catch (e) { retired.push(e.code + ': ' + e.message); }
      }
      return { gate: gateResults, ran, retired };
    `);
    expect(out.gate).toEqual([
      { verdict: 'allow', code: null },
      { verdict: 'deny', code: 'PROOF_INVALID' },
      { verdict: 'deny', code: 'PROOF_INVALID' },
    ]);
    expect(out.ran).toBe(1);
    expect(out.retired[0]).toBe('rv_1');
    expect(out.retired[1]).toMatch(/^PROOF_INVALID: proof signed by a retired key/);
  });

  it('the Node-only APIs throw typed errors naming the web alternative', async () => {
    const { run } = edge();
    const out = await run<Record<string, { code?: string; message: string }>>(`
      const err = async (fn) => { try { await fn(); return { message: 'no error' }; } catch (e) { return { code: e.code, message: e.message }; } };
      return {
        jsonlAudit: await err(() => core.jsonlAudit('./audit.jsonl')),
        verifyAuditLog: await err(() => core.verifyAuditLog('./audit.jsonl')),
        loadPolicy: await err(() => core.loadPolicy('./policy.yaml')),
        policyFile: await err(() => core.policyReviewer('./policy.yaml')),
        yamlText: await err(() => core.parsePolicyText('default: allow\\nrules: []\\n', 'yaml')),
        signer: await err(() => core.createProofSigner({ privateJwk: { kty: 'OKP', crv: 'Ed25519', x: 'AAAA', d: 'AAAA' } })),
      };
    `);
    expect(out.jsonlAudit).toMatchObject({ code: 'OPTIONS_INVALID', message: expect.stringMatching(/memoryAudit/) });
    expect(out.verifyAuditLog).toMatchObject({ code: 'OPTIONS_INVALID', message: expect.stringMatching(/verifyAuditRecords/) });
    expect(out.loadPolicy).toMatchObject({ code: 'POLICY_INVALID', message: expect.stringMatching(/as an object or as text/) });
    expect(out.policyFile).toMatchObject({ code: 'POLICY_INVALID' });
    expect(out.yamlText).toMatchObject({ code: 'POLICY_INVALID', message: expect.stringMatching(/JSON/) });
    expect(out.signer).toMatchObject({ code: 'OPTIONS_INVALID', message: expect.stringMatching(/needs Node/) });
  });
});
