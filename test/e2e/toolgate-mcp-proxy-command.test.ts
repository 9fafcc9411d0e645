// `toolgate mcp-proxy … -- <upstream>` exactly as a desktop assistant's MCP config spawns it:
// command `toolgate`, args ['mcp-proxy', …, '--', 'node', 'upstream.js']. The `toolgate` CLI (from
// its sources) hands the command to @toolgate/mcp; the upstream counts the calls it receives.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { countCalls, tempDir, testPolicy, TS_FLAGS, UPSTREAM_SERVER, upstreamCalls } from '../../packages/mcp/src/testing/fixture.ts';
import { runSourceCli, sourceCliArgs } from '../../packages/reviewer/src/testing/source-cli.ts';

const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => {});
});

describe('toolgate mcp-proxy (the reviewer CLI hands the command to @toolgate/mcp)', () => {
  it('a denied call never reaches the upstream, an allowed one reaches it once', async () => {
    const dir = tempDir();
    const counter = join(dir, 'calls.log');
    const policy = join(dir, 'policy.json');
    writeFileSync(policy, JSON.stringify(testPolicy));
    const client = new Client({ name: 'desktop-assistant', version: '1.0.0' });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: sourceCliArgs('mcp-proxy', '--policy', policy, '--high-stakes', 'delete_*,transfer', '--', process.execPath, ...TS_FLAGS, UPSTREAM_SERVER),
      env: { ...(process.env as Record<string, string>), COUNTER_FILE: counter },
      stderr: 'pipe',
    });
    await client.connect(transport);
    clients.push(client);
    expect(client.getServerVersion()).toMatchObject({ name: 'upstream-fixture' });
    const denied = await client.callTool({ name: 'delete_repo', arguments: { name: 'prod' } });
    expect(denied.isError).toBe(true);
    const allowed = await client.callTool({ name: 'transfer', arguments: { amount: 40, to: 'bob' } });
    expect(allowed.isError).toBeFalsy();
    expect(countCalls(counter, 'delete_repo')).toBe(0);
    expect(upstreamCalls(counter, 'transfer')).toEqual([{ amount: 40, to: 'bob' }]);
  });

  it('--help answers on stderr and exits 0; stdout (the MCP channel) stays empty', () => {
    const r = runSourceCli(['mcp-proxy', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/--high-stakes/);
  });
});
