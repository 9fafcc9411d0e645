// A real MCP server for the tests, run over stdio in its own process:
//   node --experimental-transform-types upstream-server.ts
// Every tool call appends one line `<tool> <json args>` to $COUNTER_FILE, so a test can count what
// reached the server. `crash` exits the process mid-call.
import { appendFileSync, writeFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const counterFile = process.env.COUNTER_FILE;
if (!counterFile) throw new Error('upstream-server: set COUNTER_FILE');
if (process.env.PID_FILE) writeFileSync(process.env.PID_FILE, String(process.pid));
const count = (tool: string, args: unknown) => appendFileSync(counterFile, `${tool} ${JSON.stringify(args)}\n`);

const server = new McpServer({ name: 'upstream-fixture', version: '1.0.0' }, { capabilities: { logging: {} }, instructions: 'fixture instructions' });

server.registerTool(
  'delete_repo',
  { description: 'Deletes a repository', inputSchema: { name: z.string() }, annotations: { destructiveHint: true } },
  async (args) => {
    count('delete_repo', args);
    return { content: [{ type: 'text', text: `deleted ${args.name}` }] };
  },
);
server.registerTool(
  'transfer',
  { description: 'Moves money', inputSchema: { amount: z.number(), to: z.string() } },
  async (args) => {
    count('transfer', args);
    return { content: [{ type: 'text', text: `sent ${args.amount} to ${args.to}` }] };
  },
);
server.registerTool(
  'lookup',
  { description: 'Reads a record', inputSchema: { id: z.string() }, annotations: { readOnlyHint: true } },
  async (args, extra) => {
    count('lookup', args);
    await server.server.sendLoggingMessage({ level: 'info', data: `looked up ${args.id}` }, extra.sessionId);
    return { content: [{ type: 'text', text: `record ${args.id}` }] };
  },
);
server.registerTool(
  'wipe_disk',
  { description: 'Destroys data; no name rule covers it, only its annotation', inputSchema: { disk: z.string() }, annotations: { destructiveHint: true } },
  async (args) => {
    count('wipe_disk', args);
    return { content: [{ type: 'text', text: `wiped ${args.disk}` }] };
  },
);
server.registerTool('garble', { description: 'Writes a malformed message, then answers', inputSchema: {} }, async () => {
  count('garble', {});
  process.stdout.write('this is not JSON-RPC\n{"jsonrpc":"2.0","id":"nope"\n');
  return { content: [{ type: 'text', text: 'garbled' }] };
});
server.registerTool('slow', { description: 'Reports progress, then runs until cancelled', inputSchema: {} }, async (_args, extra) => {
  count('slow', {});
  const token = extra._meta?.progressToken;
  if (token !== undefined) {
    await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: 1, total: 2, message: 'halfway' } });
  }
  await new Promise<void>((resolve) => {
    if (extra.signal.aborted) resolve();
    extra.signal.addEventListener('abort', () => resolve());
  });
  count('slow_cancelled', {});
  return { content: [{ type: 'text', text: 'cancelled' }] };
});
server.registerTool('crash', { description: 'Exits the server mid-call', inputSchema: {} }, async () => {
  count('crash', {});
  process.exit(3);
});

server.registerResource('greeting', 'memo://greeting', { mimeType: 'text/plain' }, async (uri) => ({
  contents: [{ uri: uri.href, text: 'hello from upstream' }],
}));
server.registerPrompt('greet', { description: 'Greets', argsSchema: { who: z.string() } }, ({ who }) => ({
  messages: [{ role: 'user', content: { type: 'text', text: `Say hello to ${who}` } }],
}));

await server.connect(new StdioServerTransport());
