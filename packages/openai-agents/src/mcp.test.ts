import { Agent, Runner, type MCPServer } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { callbackReviewer, createGate, type ReviewRequest } from '@toolgate/core';
import { describe, expect, it } from 'vitest';
import { getDecisions, GovernanceHooks } from './index';

/** A local MCP server in-process: the SDK converts its tools to FunctionTools on every turn. */
function fakeServer(calls: string[]): MCPServer {
  return {
    name: 'ops',
    cacheToolsList: false,
    async connect() {},
    async close() {},
    async invalidateToolsCache() {},
    async listTools() {
      return [
        { name: 'db_drop', description: 'drop a table', inputSchema: { type: 'object', properties: { table: { type: 'string' } }, required: ['table'], additionalProperties: false } },
        { name: 'db_read', description: 'read a table', inputSchema: { type: 'object', properties: { table: { type: 'string' } }, required: ['table'], additionalProperties: false } },
      ];
    },
    async callTool(name, args) {
      calls.push(`${name}:${JSON.stringify(args)}`);
      return [{ type: 'text', text: `${name} ok` }];
    },
  };
}

describe('local MCP tools', () => {
  it('a high-stakes MCP tool is gated; a low-stakes one runs', async () => {
    const asked: ReviewRequest[] = [];
    const gate = createGate({
      reviewer: callbackReviewer((req) => {
        asked.push(req);
        return { verdict: 'deny', reason: 'no drops in business hours' };
      }),
      highStakes: ['db_drop'],
      telemetry: false,
    });
    const calls: string[] = [];
    const model = new ScriptedModel([
      [functionCall('db_read', { table: 'users' }, { callId: 'r1' }), functionCall('db_drop', { table: 'users' }, { callId: 'd1' })],
      [assistantMessage('done')],
    ]);
    const agent = new Agent({ name: 'dba', model, mcpServers: [fakeServer(calls)] });
    const runner = new GovernanceHooks(gate).attach(new Runner({ tracingDisabled: true }));

    const result = await runner.run(agent, 'clean up');

    expect(calls).toEqual(['db_read:{"table":"users"}']);
    expect(asked.map((r) => r.call.tool)).toEqual(['db_drop']);
    const results = (model.lastCall!.request.input as Array<{ type?: string; callId?: string; output?: { text?: string } }>).filter((i) => i.type === 'function_call_result');
    expect(results.find((r) => r.callId === 'd1')?.output?.text).toContain('toolgate denied');
    expect(getDecisions(result).get('d1')).toMatchObject({ verdict: 'deny' });
    expect(result.finalOutput).toBe('done');
  });
});
