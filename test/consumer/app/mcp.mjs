// @toolgate/mcp as a desktop assistant uses it: an MCP client starts the installed `toolgate-mcp`
// bin (found on PATH, run by the app's Node) in front of a stdio MCP server; the policy allows a
// small transfer and denies a large one, which never reaches the server.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { governMcpClient, startMcpProxy } from '@toolgate/mcp';

assert.equal(typeof governMcpClient, 'function');
assert.equal(typeof startMcpProxy, 'function');
const dir = mkdtempSync(join(tmpdir(), 'toolgate-consumer-mcp-'));
const counter = join(dir, 'calls.log');
const calls = () => readFileSync(counter, { encoding: 'utf8', flag: 'a+' }).split('\n').filter(Boolean);
const client = new Client({ name: 'consumer-check', version: '1.0.0' });
await client.connect(
  new StdioClientTransport({
    command: 'toolgate-mcp',
    args: ['--policy', './policy.yaml', '--high-stakes', 'transfer', '--', process.execPath, 'mcp-upstream.mjs'],
    env: { ...process.env, COUNTER_FILE: counter },
    stderr: 'inherit',
  }),
);
try {
  const denied = await client.callTool({ name: 'transfer', arguments: { amount: 5000 } });
  assert.equal(denied.isError, true);
  assert.deepEqual(calls(), []);
  const allowed = await client.callTool({ name: 'transfer', arguments: { amount: 50 } });
  assert.notEqual(allowed.isError, true);
  assert.equal(allowed._meta?.['toolgate/decision']?.verdict, 'allow');
  assert.deepEqual(calls(), ['transfer 50']);
} finally {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log('mcp: toolgate-mcp proxy allowed 1, denied 1 (the denied call never reached the server)');
