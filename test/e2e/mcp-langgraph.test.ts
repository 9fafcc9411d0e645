// MCP tools gated in LangGraph: LangChain's MCP adapters (`MultiServerMCPClient`) start a real
// stdio MCP server (packages/mcp's fixture, which counts every call that reaches it in a file)
// and turn its tools into LangChain tools; `addGovernance` puts the governance nodes in front of
// them. Scripted model (fakeModel). The decisive assertion is the upstream's counter.
import { join } from 'node:path';
import { AIMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { Annotation, MemorySaver, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { MultiServerMCPClient } from '@langchain/mcp-adapters';
import { callbackReviewer, createGate, memoryAudit, type Gate } from '@toolgate/core';
import { addGovernance, GovernanceAnnotation } from '@toolgate/langgraph';
import { afterEach, describe, expect, it } from 'vitest';
import { countCalls, TS_FLAGS, tempDir, UPSTREAM_SERVER } from '../../packages/mcp/src/testing/fixture.ts';

let client: MultiServerMCPClient | undefined;
let gate: Gate | undefined;

afterEach(async () => {
  await client?.close();
  await gate?.close();
  client = undefined;
  gate = undefined;
});

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

async function runGraph(counter: string, call: { name: string; args: Record<string, unknown> }) {
  client = new MultiServerMCPClient({
    mcpServers: {
      repos: { transport: 'stdio', command: process.execPath, args: [...TS_FLAGS, UPSTREAM_SERVER], env: { ...(process.env as Record<string, string>), COUNTER_FILE: counter }, stderr: 'pipe' },
    },
  });
  const tools = await client.getTools();
  const model = fakeModel()
    .respondWithTools([{ ...call, id: 'call_1' }])
    .respond(new AIMessage('done'));
  const State = Annotation.Root({ ...MessagesAnnotation.spec, ...GovernanceAnnotation.spec });
  const builder = new StateGraph(State)
    .addNode('agent', async (state: typeof State.State) => ({ messages: [await model.invoke(state.messages)] }))
    .addEdge(START, 'agent');
  const graph = addGovernance(builder, { gate: makeGate(), tools }).compile({ checkpointer: new MemorySaver() });
  const final = await graph.invoke({ messages: [new HumanMessage('go')] }, { configurable: { thread_id: 't1' } });
  const toolMessage = final.messages.find((m): m is ToolMessage => ToolMessage.isInstance(m) && m.tool_call_id === 'call_1');
  return { final, toolMessage };
}

describe('LangChain MCP adapters tools through the LangGraph governance nodes', () => {
  it('a denied high-stakes MCP tool never reaches the MCP server', async () => {
    const counter = join(tempDir(), 'calls.log');
    const { final, toolMessage } = await runGraph(counter, { name: 'delete_repo', args: { name: 'prod' } });

    expect(countCalls(counter, 'delete_repo')).toBe(0);
    expect(toolMessage?.status).toBe('error');
    expect(String(toolMessage?.content)).toContain('repositories are not deleted by agents');
    expect(final.toolgateDecisions.call_1).toMatchObject({ verdict: 'deny' });
    expect(final.messages.at(-1)?.content).toBe('done');
  });

  it('an allowed high-stakes MCP tool reaches the MCP server exactly once', async () => {
    const counter = join(tempDir(), 'calls.log');
    const { final, toolMessage } = await runGraph(counter, { name: 'transfer', args: { amount: 40, to: 'acme' } });

    expect(countCalls(counter, 'transfer')).toBe(1);
    expect(countCalls(counter)).toBe(1);
    expect(JSON.stringify(toolMessage?.content)).toContain('sent 40 to acme');
    expect(final.toolgateDecisions.call_1).toMatchObject({ verdict: 'allow' });
  });
});
