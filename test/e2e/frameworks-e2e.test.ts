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
import { startApiHuman, type ApiHuman, type ScenarioRow } from '../../examples/demo/api-human.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as runAiSdk } from '../../examples/ai-sdk-tools/scenario.ts';
import { run as runLangGraph } from '../../examples/langgraph-interrupt/scenario.ts';
import { run as runOpenAI } from '../../examples/openai-agents-runner/scenario.ts';

type Row = ScenarioRow;

let dir: string;
let server: ReviewServer;
let url: string;
let approverKey: string;
let human: ApiHuman;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'toolgate-e2e-'));
  server = createReviewServer({ dataDir: dir, policy: join(import.meta.dirname, '../../examples/demo/policy.yaml'), port: 0 });
  approverKey = server.keys.create('approve', 'e2e-human');
  url = await server.listen();
  // The human: approves transfers up to 10 000 through the API, rejects everything else.
  human = startApiHuman({
    url,
    apiKey: approverKey,
    intervalMs: 15,
    decide: (r) => {
      const approved = r.tool === 'transfer' && Number(r.args.amount ?? Infinity) <= 10_000;
      return { approved, reason: approved ? 'ok by e2e human' : 'no' };
    },
  });
});

afterAll(async () => {
  await human.stop();
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
    await human.stop();
    await server.close();
    const mirror = await verifyAuditLog(join(dir, 'audit.jsonl'));
    expect(mirror.ok).toBe(true);
    expect(human.decisions.filter((h) => h.approved)).toHaveLength(1);
    expect(human.decisions.filter((h) => !h.approved)).toHaveLength(2);
  });
});
