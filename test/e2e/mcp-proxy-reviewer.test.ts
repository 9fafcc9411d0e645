// toolgate-mcp end to end against the reference review server: a real MCP client (with no
// elicitation capability) spawns the proxy from source as a desktop assistant would; the proxy
// asks the server (proofs verified against its JWKS), waits (`--on-review wait`) while a human
// decides over the API, and forwards to the upstream MCP server only what was allowed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { callDigest, fetchJwks, verifyAuditLog, verifyProof, type Policy } from '@toolgate/core';
import { createReviewServer, type ReviewServer } from '@toolgate/reviewer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiHuman, type ApiHuman } from '../../examples/demo/api-human.ts';
import { countCalls, proxyCommandArgs, tempDir, upstreamCalls } from '../../packages/mcp/src/testing/fixture.ts';

const POLICY: Policy = {
  version: 1,
  default: 'review',
  rules: [
    { id: 'small-transfers', tools: ['transfer'], when: [{ field: 'args.amount', op: 'lte', value: 100 }], verdict: 'allow' },
    { id: 'no-deletes', tools: ['delete_*'], verdict: 'deny', reason: 'repositories are not deleted by agents' },
  ],
};

let dir: string;
let server: ReviewServer;
let url: string;
let evalKey: string;
let human: ApiHuman;
let client: Client;
let counter: string;

beforeAll(async () => {
  dir = tempDir();
  server = createReviewServer({ dataDir: join(dir, 'data'), policy: POLICY, port: 0, defaultMetrics: false });
  evalKey = server.keys.create('eval', 'mcp-proxy');
  const approveKey = server.keys.create('approve', 'alice');
  url = await server.listen();
  human = startApiHuman({
    url,
    apiKey: approveKey,
    intervalMs: 15,
    decide: (r) => ({ approved: Number(r.args.amount) <= 10_000, reason: 'e2e human' }),
  });
  counter = join(dir, 'calls.log');
  client = new Client({ name: 'desktop-assistant', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: proxyCommandArgs(['--reviewer-url', url, '--api-key', evalKey, '--high-stakes', 'transfer,delete_*', '--on-review', 'wait', '--review-timeout-ms', '20000', '--audit', join(dir, 'audit.jsonl')]),
      env: { ...(process.env as Record<string, string>), COUNTER_FILE: counter },
      stderr: 'pipe',
    }),
  );
});

afterAll(async () => {
  await client?.close();
  await human?.stop();
  await server?.close();
});

const meta = (r: { _meta?: Record<string, unknown> }) => r._meta?.['toolgate/decision'] as { verdict: string; source: string; proof?: string; reviewId?: string };

describe('toolgate-mcp with --reviewer-url and --on-review wait', () => {
  it('allowed by the server with a proof that verifies against its JWKS; denied never reaches the upstream', async () => {
    const ok = await client.callTool({ name: 'transfer', arguments: { amount: 40, to: 'bob' } });
    expect(ok.isError).toBeFalsy();
    const m = meta(ok);
    expect(m).toMatchObject({ verdict: 'allow', source: 'policy' });
    const keys = await fetchJwks(`${url}/.well-known/jwks.json`);
    const claims = await verifyProof(m.proof!, { keys, expected: { tool: 'transfer', digest: callDigest('transfer', { amount: 40, to: 'bob' }), verdict: 'allow' } });
    expect(claims.jti).toBe(m.reviewId);

    const denied = await client.callTool({ name: 'delete_repo', arguments: { name: 'prod' } });
    expect(denied.isError).toBe(true);
    expect(meta(denied)).toMatchObject({ verdict: 'deny' });
    expect(countCalls(counter, 'delete_repo')).toBe(0);
    expect(upstreamCalls(counter, 'transfer')).toEqual([{ amount: 40, to: 'bob' }]);
  });

  it('a review waits for the human on the server: approved runs once, rejected never', async () => {
    const approved = await client.callTool({ name: 'transfer', arguments: { amount: 500, to: 'carol' } });
    expect(meta(approved)).toMatchObject({ verdict: 'allow' });
    const rejected = await client.callTool({ name: 'transfer', arguments: { amount: 50_000, to: 'mallory' } });
    expect(rejected.isError).toBe(true);
    expect(meta(rejected)).toMatchObject({ verdict: 'deny' });
    expect(human.decisions.map((d) => [d.args.amount, d.approved])).toEqual([
      [500, true],
      [50_000, false],
    ]);
    expect(upstreamCalls(counter, 'transfer')).toEqual([
      { amount: 40, to: 'bob' },
      { amount: 500, to: 'carol' },
    ]);
  });

  it("the proxy's audit file is a complete, intact chain", async () => {
    await client.close();
    const audit = join(dir, 'audit.jsonl');
    // 4 reviews + 2 outcomes (the two allowed transfers)
    await expect.poll(() => readFileSync(audit, 'utf8').trim().split('\n').length, { timeout: 10_000 }).toBe(6);
    expect(await verifyAuditLog(audit)).toMatchObject({ ok: true, records: 6 });
  });
});
