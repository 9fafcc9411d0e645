// A stdio MCP server for mcp.mjs: every tool call appends a line to $COUNTER_FILE, so the check
// counts what reached the server through the proxy.
import { appendFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const counter = process.env.COUNTER_FILE;
if (!counter) throw new Error('mcp-upstream: set COUNTER_FILE');
const server = new McpServer({ name: 'consumer-upstream', version: '1.0.0' });
server.registerTool('transfer', { inputSchema: { amount: z.number() } }, async ({ amount }) => {
  appendFileSync(counter, `transfer ${amount}\n`);
  return { content: [{ type: 'text', text: `sent ${amount}` }] };
});
await server.connect(new StdioServerTransport());
