// End to end, per framework: the real framework (scripted model only) → adapter → gate →
// httpReviewer → the reference review server on 127.0.0.1 with a real SQLite file. Every decision
// the server makes is signed; the gate requires and verifies the proofs; a human decides the
// pending reviews through the API. Assertions are what a user checks: what ran, what the model was
// told, the proofs, the audit chains.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createGate,
  fetchJwks,
  httpReviewer,
  memoryAudit,
  verifyAuditLog,
  verifyProof,
  type Decision,
  type Gate,
  type MemoryAuditSink,
} from '@toolgate/core';
import { createReviewServer, type ReviewServer } from '@toolgate/reviewer';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as runAiSdk } from '../../examples/ai-sdk-tools/scenario.ts';
import { run as runLangGraph } from '../../examples/langgraph-interrupt/scenario.ts';
import { run as runOpenAI } from '../../examples/openai-agents-runner/scenario.ts';

interface Row {
  framework: string;
  tool: string;
  args: unknown;
  verdict: string;
  source: string;
  executed: boolean;
}

let dir: string;
let server: ReviewServer;
let url: string;
let approverKey: string;
let stopHuman: () => Promise<void>;
const humanSaw: Array<{ tool: string; args: unknown; approved: boolean }> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'toolgate-e2e-'));
  server = createReviewServer({ dataDir: dir, policy: join(import.meta.dirname, '../../examples/demo/policy.yaml'), port: 0 });
  approverKey = server.keys.create('approve', 'e2e-human');
  url = await server.listen();
  // The human: approves transfers up to 10 000 through the API, rejects everything else.
  let running = true;
  const seen = new Set<string>();
  const loop = (async () => {
    while (running) {
      const res = await request(`${url}/v1/reviews?status=pending`, { headers: { authorization: `Bearer ${approverKey}` } });
      const { reviews } = (await res.body.json()) as { reviews: Array<{ id: string; tool: string; args: { amount?: number } }> };
      for (const r of reviews) {
        if (seen.has(r.id)) continue;
        seen.add(r.id);
        const approved = r.tool === 'transfer' && (r.args.amount ?? Infinity) <= 10_000;
        humanSaw.push({ tool: r.tool, args: r.args, approved });
        const d = await request(`${url}/v1/reviews/${r.id}/decision`, {
          method: 'POST',
          headers: { authorization: `Bearer ${approverKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ verdict: approved ? 'allow' : 'deny', reason: approved ? 'ok by e2e human' : 'no' }),
        });
        await d.body.dump();
      }
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  let stopped: Promise<void> | undefined;
  stopHuman = () => {
    running = false;
    stopped ??= loop;
    return stopped;
  };
});

afterAll(async () => {
  await stopHuman();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function gateFor(framework: string, highStakes: string[]): { gate: Gate; audit: MemoryAuditSink } {
  const audit = memoryAudit();
  const gate = createGate({
    reviewer: httpReviewer({ url, apiKey: server.keys.create('eval', `${framework}-e2e`) }),
    highStakes,
    onReview: 'wait',
    reviewTimeoutMs: 20_000,
    jwksUrl: `${url}/.well-known/jwks.json`,
    requireProof: true,
    agent: `${framework}-e2e`,
    audit,
  });
  return { gate, audit };
}

/** Every review Decision the gate recorded, proof re-verified here against the server's JWKS. */
async function verifiedDecisions(audit: MemoryAuditSink): Promise<Decision[]> {
  const keys = await fetchJwks(`${url}/.well-known/jwks.json`);
  const decisions = audit.records.filter((r) => r.kind === 'review').map((r) => r.decision as Decision);
  for (const d of decisions) {
    expect(d.proof, `${d.tool} ${d.callId} carries a proof`).toBeTruthy();
    const claims = await verifyProof(d.proof!, { keys, expected: { tool: d.tool, digest: d.digest, ...(d.callId ? { callId: d.callId } : {}), verdict: d.verdict } });
    expect(claims.tg.verdict).toBe(d.verdict);
  }
  return decisions;
}

function expectPromiseKept(rows: Row[]) {
  for (const r of rows) {
    const allowed = r.verdict === 'allow' || r.verdict === 'allow_with_conditions';
    expect(r.executed, `${r.framework} ${r.tool} ${JSON.stringify(r.args)} ran iff allowed`).toBe(allowed);
  }
}

const pick = (rows: Row[], tool: string, amount?: number) =>
  rows.find((r) => r.tool === tool && (amount === undefined || (r.args as { amount?: number }).amount === amount));

describe('end to end against the reference review server (signed proofs verified)', () => {
  it('OpenAI Agents JS: policy allow, human approval, conditions — each ran once with a verified proof', async () => {
    const { gate, audit } = gateFor('openai-agents', ['transfer', 'deploy_*']);
    const rows = (await runOpenAI({ gate })) as Row[];
    expectPromiseKept(rows);
    expect(pick(rows, 'transfer', 50)).toMatchObject({ verdict: 'allow', source: 'policy', executed: true });
    expect(pick(rows, 'transfer', 5000)).toMatchObject({ verdict: 'allow', source: 'human', executed: true });
    expect(pick(rows, 'deploy_prod')).toMatchObject({ verdict: 'allow_with_conditions', executed: true });
    const decisions = await verifiedDecisions(audit);
    expect(decisions).toHaveLength(3);
    expect(audit.records.filter((r) => r.kind === 'outcome')).toHaveLength(3);
  });

  it('LangGraph: policy deny never runs, a human rejection never runs, the allowed call runs', async () => {
    const { gate, audit } = gateFor('langgraph', ['transfer', 'shell']);
    const rows = (await runLangGraph({ gate })) as Row[];
    expectPromiseKept(rows);
    expect(pick(rows, 'get_balance')).toMatchObject({ source: 'not_high_stakes', executed: true });
    expect(pick(rows, 'transfer', 250)).toMatchObject({ verdict: 'allow', source: 'policy', executed: true });
    expect(pick(rows, 'shell')).toMatchObject({ verdict: 'deny', source: 'policy', executed: false });
    expect(pick(rows, 'transfer', 25_000)).toMatchObject({ verdict: 'deny', source: 'human', executed: false });
    expect(await verifiedDecisions(audit)).toHaveLength(3);
    await gate.close();
  });

  it('Vercel AI SDK: the same calls through withGovernance, proofs verified', async () => {
    const { gate, audit } = gateFor('ai-sdk', ['transfer', 'shell']);
    const rows = (await runAiSdk({ gate })) as Row[];
    expectPromiseKept(rows);
    expect(pick(rows, 'transfer', 250)).toMatchObject({ verdict: 'allow', source: 'policy', executed: true });
    expect(pick(rows, 'shell')).toMatchObject({ verdict: 'deny', source: 'policy', executed: false });
    expect(pick(rows, 'transfer', 25_000)).toMatchObject({ verdict: 'deny', source: 'human', executed: false });
    expect(await verifiedDecisions(audit)).toHaveLength(3);
    await gate.close();
  });

  it("the server's own trail verifies, and records outcomes only for what ran", async () => {
    const res = await request(`${url}/v1/audit/verify`, { headers: { authorization: `Bearer ${approverKey}` } });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toMatchObject({ ok: true });
    await stopHuman();
    await server.close();
    const mirror = await verifyAuditLog(join(dir, 'audit.jsonl'));
    expect(mirror.ok).toBe(true);
    expect(humanSaw.filter((h) => h.approved)).toHaveLength(1);
    expect(humanSaw.filter((h) => !h.approved)).toHaveLength(2);
  });
});
