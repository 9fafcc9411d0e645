// MCP tools gated in the AI SDK: `@ai-sdk/mcp`'s client starts a real stdio MCP server
// (packages/mcp's fixture, which counts every call that reaches it in a file); its `tools()` are an
// ordinary AI SDK tool set, so `withGovernance` gates them. generateText with MockLanguageModelV4
// (ai 7). The decisive assertion is the upstream's counter.
import { join } from 'node:path';
import { createMCPClient, type MCPClient } from '@ai-sdk/mcp';
import { StdioMCPTransport } from '@ai-sdk/mcp/mcp-stdio';
import { decisionsOf, isGovernanceDenial, withGovernance } from '@toolgate/ai-sdk';
import { callbackReviewer, createGate, memoryAudit, type Gate } from '@toolgate/core';
import { generateText, isStepCount } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { afterEach, describe, expect, it } from 'vitest';
import { countCalls, TS_FLAGS, tempDir, UPSTREAM_SERVER } from '../../packages/mcp/src/testing/fixture.ts';

let client: MCPClient | undefined;
let gate: Gate | undefined;

afterEach(async () => {
  await client?.close();
  await gate?.close();
  client = undefined;
  gate = undefined;
});

async function startUpstream(counter: string): Promise<MCPClient> {
  client = await createMCPClient({
    transport: new StdioMCPTransport({
      command: process.execPath,
      args: [...TS_FLAGS, UPSTREAM_SERVER],
      env: { ...(process.env as Record<string, string>), COUNTER_FILE: counter },
      stderr: 'pipe',
    }),
  });
  return client;
}

function makeGate(): Gate {
  gate = createGate({
    reviewer: callbackReviewer(({ call }) =>
      call.tool === 'delete_repo' ? { verdict: 'deny', reason: 'repositories are not deleted by agents' } : { verdict: 'allow', reason: 'small transfer' },
    ),
    highStakes: ['delete_repo', 'transfer'],
    audit: memoryAudit(),
    telemetry: false,
  });
  return gate;
}

const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 1, text: 1, reasoning: undefined } };
function scripted(toolName: string, input: unknown): MockLanguageModelV4 {
  return new MockLanguageModelV4({
    doGenerate: [
      { content: [{ type: 'tool-call', toolCallId: 'call_1', toolName, input: JSON.stringify(input) }], finishReason: { unified: 'tool-calls', raw: undefined }, usage, warnings: [] },
      { content: [{ type: 'text', text: 'done' }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] },
    ],
  });
}

describe('@ai-sdk/mcp client tools through withGovernance', () => {
  it('a denied high-stakes MCP tool never reaches the MCP server', async () => {
    const counter = join(tempDir(), 'calls.log');
    const mcp = await startUpstream(counter);
    const tools = withGovernance(await mcp.tools(), makeGate());

    const result = await generateText({ model: scripted('delete_repo', { name: 'prod' }), tools, stopWhen: isStepCount(3), prompt: 'delete prod' });

    expect(countCalls(counter, 'delete_repo')).toBe(0);
    const output = result.steps[0]!.toolResults[0]!.output;
    expect(isGovernanceDenial(output)).toBe(true);
    expect(JSON.stringify(output)).toContain('repositories are not deleted by agents');
    expect(decisionsOf(tools).get('call_1')).toMatchObject({ verdict: 'deny' });
    expect(result.text).toBe('done');
  });

  it('an allowed high-stakes MCP tool reaches the MCP server exactly once', async () => {
    const counter = join(tempDir(), 'calls.log');
    const mcp = await startUpstream(counter);
    const tools = withGovernance(await mcp.tools(), makeGate());

    const result = await generateText({ model: scripted('transfer', { amount: 40, to: 'acme' }), tools, stopWhen: isStepCount(3), prompt: 'send 40 to acme' });

    expect(countCalls(counter, 'transfer')).toBe(1);
    expect(countCalls(counter)).toBe(1);
    expect(JSON.stringify(result.steps[0]!.toolResults[0]!.output)).toContain('sent 40 to acme');
    expect(decisionsOf(tools).get('call_1')).toMatchObject({ verdict: 'allow' });
  });
});
