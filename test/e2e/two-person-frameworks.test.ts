// The two-person rule over HTTP, per framework (issue 11): the real framework (scripted model only;
// OpenAI Agents, LangGraph via addGovernance and via createAgent + governanceMiddleware, AI SDK)
// → adapter → gate (httpReviewer, onReview 'wait') → the reference review server on 127.0.0.1 with
// a real SQLite data dir, whose policy says a transfer needs two distinct approvers. Three keys:
// the gate's `eval` key (the submitter) and two `approve` keys, alice and bob. The framework's
// tool call blocks while the humans decide through `POST /v1/reviews/{id}/decision`; the decisive
// assertion is the transfer body's run counter (0 after one approval, 1 after two, 0 on a reject).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, Runner, tool as agentsTool } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { tool as langchainTool } from '@langchain/core/tools';
import { Annotation, MemorySaver, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { withGovernance } from '@toolgate/ai-sdk';
import {
  callDigest,
  createGate,
  fetchJwks,
  httpReviewer,
  memoryAudit,
  verifyAuditRecords,
  verifyProof,
  type Decision,
  type Gate,
  type MemoryAuditSink,
  type Policy,
} from '@toolgate/core';
import { addGovernance, GovernanceAnnotation } from '@toolgate/langgraph';
import { governanceMiddleware } from '@toolgate/langgraph/middleware';
import { GovernanceHooks } from '@toolgate/openai-agents';
import { createReviewServer, type ReviewServer } from '@toolgate/reviewer';
import { generateText, isStepCount, tool as aiTool } from 'ai';
import { createAgent } from 'langchain';
import { MockLanguageModelV4 } from 'ai/test';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

/** Every transfer needs two distinct approvers; nothing else is gated. */
const POLICY: Policy = {
  version: 1,
  default: 'allow',
  rules: [{ id: 'two-person-transfers', tools: ['transfer'], verdict: 'review', approvals: 2, reason: 'transfers need two approvers' }],
};

const CALL_ID = 'call_transfer';

let dir: string;
let server: ReviewServer;
let url: string;
let evalKey: string;
let alice: string;
let bob: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'toolgate-e2e-2p-'));
  server = createReviewServer({ dataDir: dir, policy: POLICY, port: 0, defaultMetrics: false });
  evalKey = server.keys.create('eval', 'gate');
  alice = server.keys.create('approve', 'alice');
  bob = server.keys.create('approve', 'bob');
  url = await server.listen();
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function http(method: 'GET' | 'POST', path: string, key: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await request(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.statusCode, body: await res.body.json() };
}

const decide = (key: string, id: string, body: Record<string, unknown>) => http('POST', `/v1/reviews/${id}/decision`, key, body);

/** The id of the pending transfer review for `to`, as an approver sees it (bounded poll, no clock). */
async function pendingReviewFor(to: string): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const { body } = await http('GET', '/v1/reviews?status=pending', alice);
    const found = (body.reviews as Array<{ id: string; tool: string; args: { to?: string } }>).find((r) => r.tool === 'transfer' && r.args?.to === to);
    if (found) return found.id;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no pending transfer review for ${to} appeared`);
}

function gateFor(framework: string): { gate: Gate; audit: MemoryAuditSink } {
  const audit = memoryAudit();
  const gate = createGate({
    reviewer: httpReviewer({ url, apiKey: evalKey, pollWaitMs: 10_000 }),
    highStakes: ['transfer'],
    onReview: 'wait',
    reviewTimeoutMs: 25_000,
    timeoutMs: 25_000,
    jwksUrl: `${url}/.well-known/jwks.json`,
    requireProof: true,
    agent: `${framework}-2p`,
    audit,
    telemetry: false,
  });
  return { gate, audit };
}

type Transfer = {
  to: string;
  amount: number;
};

/** What one framework run left behind: the final model text and what the model was told the tool returned. */
interface Ran {
  finalText: string;
  modelSaw: string;
}

/** Runs the framework once: the scripted model calls transfer(args), then answers "done". */
type Drive = (gate: Gate, args: Transfer, ran: Transfer[]) => Promise<Ran>;

const openAiAgents: Drive = async (gate, args, ran) => {
  const transfer = agentsTool({
    name: 'transfer',
    description: 'Transfer money to an account',
    parameters: z.object({ to: z.string(), amount: z.number() }),
    execute: async (a) => {
      ran.push(a);
      return `sent ${a.amount} to ${a.to}`;
    },
  });
  const model = new ScriptedModel([[functionCall('transfer', args, { callId: CALL_ID })], [assistantMessage('done')]]);
  const agent = new Agent({ name: 'bank', model, tools: [transfer] });
  const runner = new GovernanceHooks(gate).attach(new Runner({ tracingDisabled: true }));
  const result = await runner.run(agent, `send ${args.amount} to ${args.to}`);
  expect(result.interruptions, 'onReview wait decides inside the run: no SDK interruption').toHaveLength(0);
  const last = model.calls.at(-1)!;
  const items = (Array.isArray(last.request.input) ? last.request.input : []) as Array<{ type?: string; output?: unknown }>;
  return { finalText: String(result.finalOutput), modelSaw: JSON.stringify(items.filter((i) => i.type === 'function_call_result').map((i) => i.output)) };
};

const langchainTransfer = (ran: Transfer[]) =>
  langchainTool(
    async (a: Transfer) => {
      ran.push(a);
      return `sent ${a.amount} to ${a.to}`;
    },
    { name: 'transfer', description: 'Transfer money to an account', schema: z.object({ to: z.string(), amount: z.number() }) },
  );

const GovernedState = Annotation.Root({ ...MessagesAnnotation.spec, ...GovernanceAnnotation.spec });
const langGraph: Drive = async (gate, args, ran) => {
  const transfer = langchainTransfer(ran);
  const model = fakeModel().respondWithTools([{ name: 'transfer', args, id: CALL_ID }]).respond(new AIMessage('done'));
  const prompts: BaseMessage[][] = [];
  const builder = new StateGraph(GovernedState)
    .addNode('agent', async (state: typeof GovernedState.State) => {
      prompts.push([...state.messages]);
      return { messages: [await model.invoke(state.messages)] };
    })
    .addEdge(START, 'agent');
  const graph = addGovernance(builder, { gate, tools: [transfer] }).compile({ checkpointer: new MemorySaver() });
  const result = await graph.invoke({ messages: [new HumanMessage(`send ${args.amount} to ${args.to}`)] }, { configurable: { thread_id: `2p-${args.to}` } });
  const toolMessages = prompts.at(-1)!.filter((m) => ToolMessage.isInstance(m));
  return { finalText: String(result.messages.at(-1)!.content), modelSaw: JSON.stringify(toolMessages.map((m) => m.content)) };
};

const langChainAgent: Drive = async (gate, args, ran) => {
  const model = fakeModel().respondWithTools([{ name: 'transfer', args, id: CALL_ID }]).respond(new AIMessage('done'));
  const agent = createAgent({ model, tools: [langchainTransfer(ran)], middleware: [governanceMiddleware(gate)], checkpointer: new MemorySaver() });
  const result = await agent.invoke({ messages: [new HumanMessage(`send ${args.amount} to ${args.to}`)] }, { configurable: { thread_id: `2p-mw-${args.to}` } });
  const toolMessages = (model.calls.at(-1)?.messages ?? []).filter((m) => ToolMessage.isInstance(m));
  return { finalText: String(result.messages.at(-1)!.content), modelSaw: JSON.stringify(toolMessages.map((m) => m.content)) };
};

const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 1, text: 1, reasoning: undefined } };
const aiSdk: Drive = async (gate, args, ran) => {
  const model = new MockLanguageModelV4({
    doGenerate: [
      { content: [{ type: 'tool-call', toolCallId: CALL_ID, toolName: 'transfer', input: JSON.stringify(args) }], finishReason: { unified: 'tool-calls', raw: undefined }, usage, warnings: [] },
      { content: [{ type: 'text', text: 'done' }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] },
    ],
  });
  const tools = withGovernance(
    {
      transfer: aiTool({
        description: 'Transfer money to an account',
        inputSchema: z.object({ to: z.string(), amount: z.number() }),
        execute: async (a) => {
          ran.push(a);
          return `sent ${a.amount} to ${a.to}`;
        },
      }),
    },
    gate,
    { call: { runId: `2p-${args.to}`, agent: 'ai-sdk-2p' } },
  );
  const result = await generateText({ model, tools, stopWhen: isStepCount(3), prompt: `send ${args.amount} to ${args.to}` });
  const lastPrompt = model.doGenerateCalls.at(-1)!.prompt as Array<{ role: string; content: unknown }>;
  return { finalText: result.text, modelSaw: JSON.stringify(lastPrompt.filter((m) => m.role === 'tool').map((m) => m.content)) };
};

/** The review Decision the gate recorded for the transfer call. */
function reviewDecision(audit: MemoryAuditSink): Decision {
  const records = audit.records.filter((r) => r.kind === 'review' && r.call?.tool === 'transfer');
  expect(records.length).toBeGreaterThan(0);
  return records.at(-1)!.decision as Decision;
}

const FRAMEWORKS: Array<{ name: string; drive: Drive }> = [
  { name: 'OpenAI Agents JS (GovernanceHooks on a Runner)', drive: openAiAgents },
  { name: 'LangGraph (addGovernance)', drive: langGraph },
  { name: 'LangChain createAgent (governanceMiddleware)', drive: langChainAgent },
  { name: 'AI SDK (withGovernance + generateText)', drive: aiSdk },
];

describe.each(FRAMEWORKS.map((f, i) => ({ ...f, i })))('two-person rule over HTTP: $name', ({ name, drive, i }) => {
  it('alice alone is not enough (body 0 runs, still waiting); alice twice is 409, the submitter is 403; bob decides — the body runs once and the proof names both', async () => {
    const { gate, audit } = gateFor(`fw${i}`);
    const args: Transfer = { to: `acme-${i}`, amount: 5000 };
    const ran: Transfer[] = [];
    let settled = false;
    const run = drive(gate, args, ran).finally(() => {
      settled = true;
    });
    run.catch(() => {}); // inspected below; keeps an early failure from being unhandled

    const id = await pendingReviewFor(args.to);

    const first = await decide(alice, id, { verdict: 'allow' });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ id, status: 'pending', approvals: { required: 2, approvers: ['alice'] } });

    const twice = await decide(alice, id, { verdict: 'allow' });
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('ALREADY_APPROVED');

    // The key that asked (the gate's eval key) can never approve its own call.
    const submitter = await decide(evalKey, id, { verdict: 'allow' });
    expect(submitter.status).toBe(403);
    expect(submitter.body.error.code).toBe('FORBIDDEN');

    // Three round trips after the first approval: the run is still blocked on the pending review.
    expect((await http('GET', `/v1/reviews/${id}`, alice)).body).toMatchObject({ status: 'pending', approvals: { required: 2, approvers: ['alice'] } });
    expect(ran).toHaveLength(0);
    expect(settled, `${name}: the run must still be waiting after one approval`).toBe(false);

    const second = await decide(bob, id, { verdict: 'allow' });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ status: 'decided', verdict: 'allow', approvals: { required: 2, approvers: ['alice', 'bob'] } });

    const out = await run;
    expect(ran).toEqual([args]);
    expect(out.modelSaw).toContain(`sent 5000 to acme-${i}`);
    expect(out.finalText).toBe('done');

    const d = reviewDecision(audit);
    expect(d).toMatchObject({ verdict: 'allow', source: 'human', reviewId: id, callId: CALL_ID });
    const claims = await verifyProof(d.proof!, {
      keys: await fetchJwks(`${url}/.well-known/jwks.json`),
      expected: { tool: 'transfer', digest: callDigest('transfer', args), callId: CALL_ID, verdict: 'allow' },
    });
    expect([...(claims.tg.approvers ?? [])].sort()).toEqual(['alice', 'bob']);

    expect(verifyAuditRecords(audit.records).ok).toBe(true);
    expect((await http('GET', '/v1/audit/verify', alice)).body).toMatchObject({ ok: true });
    await gate.close();
  });

  it('bob rejects after alice approved: the body never runs and the model sees the reason', async () => {
    const { gate, audit } = gateFor(`fw${i}-reject`);
    const args: Transfer = { to: `offshore-${i}`, amount: 7000 };
    const ran: Transfer[] = [];
    const run = drive(gate, args, ran);
    run.catch(() => {});

    const id = await pendingReviewFor(args.to);
    expect((await decide(alice, id, { verdict: 'allow' })).status).toBe(202);
    const no = await decide(bob, id, { verdict: 'deny', reason: 'not this week, says bob' });
    expect(no.status).toBe(200);
    expect(no.body).toMatchObject({ status: 'decided', verdict: 'deny' });

    const out = await run;
    expect(ran).toHaveLength(0);
    expect(out.modelSaw).toContain('not this week, says bob');
    expect(out.finalText).toBe('done');
    expect(reviewDecision(audit)).toMatchObject({ verdict: 'deny', source: 'human', reviewId: id });
    expect(verifyAuditRecords(audit.records).ok).toBe(true);
    expect((await http('GET', '/v1/audit/verify', alice)).body).toMatchObject({ ok: true });
    await gate.close();
  });
});
