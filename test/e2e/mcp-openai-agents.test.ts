// MCP tools gated in the OpenAI Agents SDK: a real stdio MCP server (packages/mcp's fixture, which
// counts every call that reaches it in a file) started by the SDK's own `MCPServerStdio`; the SDK
// lists its tools and turns them into function tools; `GovernanceHooks` gates them like any other
// tool. Scripted model only. The decisive assertion is the upstream's counter.
import { join } from 'node:path';
import { Agent, MCPServerStdio, Runner } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { callbackReviewer, createGate, memoryAudit, type Gate } from '@toolgate/core';
import { getDecisions, GovernanceHooks } from '@toolgate/openai-agents';
import { afterEach, describe, expect, it } from 'vitest';
import { countCalls, TS_FLAGS, tempDir, UPSTREAM_SERVER } from '../../packages/mcp/src/testing/fixture.ts';

let server: MCPServerStdio | undefined;
let gate: Gate | undefined;

afterEach(async () => {
  await server?.close();
  await gate?.close();
  server = undefined;
  gate = undefined;
});

async function startUpstream(counter: string): Promise<MCPServerStdio> {
  server = new MCPServerStdio({
    name: 'repos',
    command: process.execPath,
    args: [...TS_FLAGS, UPSTREAM_SERVER],
    env: { ...(process.env as Record<string, string>), COUNTER_FILE: counter },
    cacheToolsList: true,
  });
  await server.connect();
  return server;
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

function toolOutputs(model: ScriptedModel): Map<string, string> {
  const input = model.lastCall!.request.input as Array<{ type?: string; callId?: string; output?: unknown }>;
  // The SDK passes a tool's output as text or as content parts: the text of either is what the model reads.
  return new Map(input.filter((i) => i.type === 'function_call_result').map((i) => [i.callId!, JSON.stringify(i.output)]));
}

describe('OpenAI Agents MCPServerStdio tools through GovernanceHooks', () => {
  it('a denied high-stakes MCP tool never reaches the MCP server', async () => {
    const counter = join(tempDir(), 'calls.log');
    const mcp = await startUpstream(counter);
    const model = new ScriptedModel([[functionCall('delete_repo', { name: 'prod' }, { callId: 'd1' })], [assistantMessage('could not delete')]]);
    const agent = new Agent({ name: 'maintainer', model, mcpServers: [mcp] });
    const runner = new GovernanceHooks(makeGate()).attach(new Runner({ tracingDisabled: true }));

    const result = await runner.run(agent, 'delete prod');

    expect(countCalls(counter, 'delete_repo')).toBe(0);
    expect(toolOutputs(model).get('d1')).toContain('repositories are not deleted by agents');
    expect(getDecisions(result).get('d1')).toMatchObject({ verdict: 'deny' });
    expect(result.finalOutput).toBe('could not delete');
  });

  it('an allowed high-stakes MCP tool reaches the MCP server exactly once, with the reviewed arguments', async () => {
    const counter = join(tempDir(), 'calls.log');
    const mcp = await startUpstream(counter);
    const model = new ScriptedModel([[functionCall('transfer', { amount: 40, to: 'acme' }, { callId: 't1' })], [assistantMessage('sent')]]);
    const agent = new Agent({ name: 'bank', model, mcpServers: [mcp] });
    const runner = new GovernanceHooks(makeGate()).attach(new Runner({ tracingDisabled: true }));

    const result = await runner.run(agent, 'send 40 to acme');

    expect(countCalls(counter, 'transfer')).toBe(1);
    expect(countCalls(counter)).toBe(1);
    expect(toolOutputs(model).get('t1')).toContain('sent 40 to acme');
    expect(getDecisions(result).get('t1')).toMatchObject({ verdict: 'allow' });
  });
});
