import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { createGate, GovernanceDeniedError, httpReviewer, memoryAudit, policyReviewer, type Gate } from '@toolgate/core';
import { afterEach, describe, expect, it } from 'vitest';
import { CallCancelledError } from './errors';
import { governMcpClient } from './govern-mcp-client';
import { DECISION_META_KEY } from './tool-result';
import { closedPort, connectToUpstream, countCalls, tempDir, testPolicy, upstreamCalls } from './testing/fixture';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.close().catch(() => {});
});

async function setup(gate: Gate, options?: Parameters<typeof governMcpClient>[2]) {
  const counter = join(tempDir(), 'calls.log');
  const client: Client = await connectToUpstream(counter);
  open.push(client, gate);
  return { client: governMcpClient(client, gate, options), counter };
}

const text = (r: unknown) => ((r as { content: Array<{ text: string }> }).content[0]?.text ?? '');

describe('governMcpClient against a real MCP server over stdio', () => {
  it('a denied call never reaches the server and comes back as an isError tool result with reason and Decision', async () => {
    const audit = memoryAudit();
    const gate = createGate({ reviewer: policyReviewer(testPolicy), highStakes: ['delete_*', 'transfer'], audit });
    const { client, counter } = await setup(gate);
    const result = await client.callTool({ name: 'delete_repo', arguments: { name: 'prod' } });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain('repositories are not deleted by agents');
    expect((result._meta?.[DECISION_META_KEY] as { verdict: string }).verdict).toBe('deny');
    expect(countCalls(counter, 'delete_repo')).toBe(0);
    expect(audit.records.filter((r) => r.kind === 'review')).toHaveLength(1);
  });

  it('an allowed call reaches the server exactly once, with the conditions in _meta', async () => {
    const gate = createGate({ reviewer: policyReviewer(testPolicy), highStakes: ['delete_*', 'transfer'] });
    const { client, counter } = await setup(gate);
    const result = await client.callTool({ name: 'transfer', arguments: { amount: 50, to: 'bob' } });
    expect(result.isError).toBeFalsy();
    expect(text(result)).toBe('sent 50 to bob');
    expect(result._meta?.[DECISION_META_KEY]).toMatchObject({ verdict: 'allow_with_conditions', conditions: ['tell the account owner'] });
    expect(countCalls(counter, 'transfer')).toBe(1);
  });

  it('the server receives the reviewed copy of the arguments, not an object that changes after the review', async () => {
    const gate = createGate({ reviewer: policyReviewer(testPolicy), highStakes: ['transfer'] });
    const { client, counter } = await setup(gate);
    let reads = 0;
    const args = {
      to: 'bob',
      get amount() {
        reads += 1;
        return reads === 1 ? 50 : 5000;
      },
    };
    await client.callTool({ name: 'transfer', arguments: args });
    expect(upstreamCalls(counter, 'transfer')).toEqual([{ amount: 50, to: 'bob' }]);
  });

  it('tools that are not high-stakes pass through untouched', async () => {
    const gate = createGate({ reviewer: policyReviewer(testPolicy), highStakes: ['delete_*'] });
    const { client, counter } = await setup(gate);
    const result = await client.callTool({ name: 'lookup', arguments: { id: '7' } });
    expect(text(result)).toBe('record 7');
    expect(result._meta?.[DECISION_META_KEY]).toBeUndefined();
    expect(countCalls(counter, 'lookup')).toBe(1);
  });

  it('a raw request({ method: "tools/call" }) is gated too', async () => {
    const gate = createGate({ reviewer: policyReviewer(testPolicy), highStakes: ['delete_*'] });
    const { client, counter } = await setup(gate);
    const { CallToolResultSchema } = await import('@modelcontextprotocol/sdk/types.js');
    const result = await client.request({ method: 'tools/call', params: { name: 'delete_repo', arguments: { name: 'x' } } }, CallToolResultSchema);
    expect(result.isError).toBe(true);
    expect(countCalls(counter, 'delete_repo')).toBe(0);
  });

  it('reviewer down: fail-closed denies (counter 0), fail-open forwards (counter 1)', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const closed = await setup(createGate({ reviewer: httpReviewer({ url, apiKey: 'k', retry: { maxAttempts: 1 } }), highStakes: ['transfer'], timeoutMs: 2000 }));
    const denied = await closed.client.callTool({ name: 'transfer', arguments: { amount: 5, to: 'a' } });
    expect(denied.isError).toBe(true);
    expect(text(denied)).toContain('fail_closed');
    expect(countCalls(closed.counter, 'transfer')).toBe(0);

    const openGate = createGate({ reviewer: httpReviewer({ url, apiKey: 'k', retry: { maxAttempts: 1 } }), highStakes: ['transfer'], failMode: 'open', timeoutMs: 2000 });
    const opened = await setup(openGate);
    const allowed = await opened.client.callTool({ name: 'transfer', arguments: { amount: 5, to: 'a' } });
    expect(allowed.isError).toBeFalsy();
    expect(allowed._meta?.[DECISION_META_KEY]).toMatchObject({ source: 'fail_open' });
    expect(countCalls(opened.counter, 'transfer')).toBe(1);
  });

  it('a review verdict asks approve(): approved runs once and is audited as human; rejected never runs', async () => {
    const audit = memoryAudit();
    const asked: string[] = [];
    const gate = createGate({ reviewer: policyReviewer(testPolicy), highStakes: ['transfer'], audit });
    const { client, counter } = await setup(gate, {
      approve: (req) => {
        asked.push(`${req.tool} ${JSON.stringify(req.args)}`);
        return (req.args as { amount: number }).amount === 500;
      },
    });
    const ok = await client.callTool({ name: 'transfer', arguments: { amount: 500, to: 'carol' } });
    expect(ok.isError).toBeFalsy();
    expect(ok._meta?.[DECISION_META_KEY]).toMatchObject({ source: 'human', verdict: 'allow' });
    const no = await client.callTool({ name: 'transfer', arguments: { amount: 900, to: 'dave' } });
    expect(no.isError).toBe(true);
    expect(asked).toEqual(['transfer {"amount":500,"to":"carol"}', 'transfer {"amount":900,"to":"dave"}']);
    expect(upstreamCalls(counter, 'transfer')).toEqual([{ amount: 500, to: 'carol' }]);
    expect(audit.records.filter((r) => r.kind === 'human_decision')).toHaveLength(2);
  });

  it('without approve, a review verdict is not sent; onDeny "throw" throws GovernanceDeniedError', async () => {
    const gate = createGate({ reviewer: policyReviewer(testPolicy), highStakes: ['transfer', 'delete_*'] });
    const { client, counter } = await setup(gate, { onDeny: 'throw' });
    await expect(client.callTool({ name: 'transfer', arguments: { amount: 900, to: 'x' } })).rejects.toBeInstanceOf(GovernanceDeniedError);
    await expect(client.callTool({ name: 'delete_repo', arguments: { name: 'x' } })).rejects.toMatchObject({ code: 'DENIED' });
    expect(countCalls(counter)).toBe(0);
  });

  it('a call cancelled while the human approves it is not sent (and no outcome is recorded)', async () => {
    const audit = memoryAudit();
    const controller = new AbortController();
    const gate = createGate({ reviewer: policyReviewer(testPolicy), highStakes: ['transfer'], audit });
    const { client, counter } = await setup(gate, {
      approve: () => {
        controller.abort(new Error('user pressed stop'));
        return true;
      },
    });
    await expect(client.callTool({ name: 'transfer', arguments: { amount: 500, to: 'a' } }, undefined, { signal: controller.signal })).rejects.toBeInstanceOf(CallCancelledError);
    expect(countCalls(counter)).toBe(0);
    expect(audit.records.filter((r) => r.kind === 'outcome')).toHaveLength(0);
  });

  it('refuses a client that is not one, and a client governed twice', async () => {
    const gate = createGate({ reviewer: policyReviewer(testPolicy), highStakes: ['transfer'] });
    open.push(gate);
    expect(() => governMcpClient({} as never, gate)).toThrow(/MCP SDK Client/);
    const fake = { request: async () => ({}) };
    governMcpClient(fake, gate);
    expect(() => governMcpClient(fake, gate)).toThrow(/already governed/);
  });
});
