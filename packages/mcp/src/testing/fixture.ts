import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Policy } from '@toolgate/core';

export const UPSTREAM_SERVER = fileURLToPath(new URL('./upstream-server.ts', import.meta.url));
/** `node` flags that run a TypeScript file of this repo from source. */
export const TS_FLAGS = ['--disable-warning=ExperimentalWarning', '--experimental-transform-types'];

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'toolgate-mcp-'));
}

/** How many calls of `tool` reached the upstream server (lines in its counter file). */
export function countCalls(counterFile: string, tool?: string): number {
  if (!existsSync(counterFile)) return 0;
  return readFileSync(counterFile, 'utf8')
    .split('\n')
    .filter((l) => l !== '' && (tool === undefined || l.split(' ')[0] === tool)).length;
}

export function upstreamCalls(counterFile: string, tool: string): unknown[] {
  if (!existsSync(counterFile)) return [];
  return readFileSync(counterFile, 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[0] === tool)
    .map((l) => JSON.parse(l.slice(tool.length + 1)));
}

/** A real MCP client connected over stdio to the fixture server in a child process. */
export async function connectToUpstream(counterFile: string): Promise<Client> {
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [...TS_FLAGS, UPSTREAM_SERVER],
      env: { ...(process.env as Record<string, string>), COUNTER_FILE: counterFile },
      stderr: 'pipe',
    }),
  );
  return client;
}

/** A 127.0.0.1 port where nothing listens (a reviewer that is down). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const testPolicy: Policy = {
  version: 1,
  default: 'review',
  rules: [
    { id: 'no-deletes', tools: ['delete_*'], verdict: 'deny', reason: 'repositories are not deleted by agents' },
    { id: 'small-transfers', tools: ['transfer'], when: [{ field: 'args.amount', op: 'lte', value: 100 }], verdict: 'allow_with_conditions', conditions: ['tell the account owner'] },
  ],
} as Policy;

const SOURCE_HOOKS = fileURLToPath(new URL('./source-hooks.ts', import.meta.url));
const PROXY_CLI = fileURLToPath(new URL('../proxy-cli.ts', import.meta.url));

/**
 * `node` arguments that run `toolgate-mcp <proxyArgs> -- node upstream-server.ts` from the sources,
 * the way a desktop assistant's MCP configuration runs the published bin.
 */
export function proxyCommandArgs(proxyArgs: string[]): string[] {
  return [...proxyCliArgs(proxyArgs), '--', process.execPath, ...TS_FLAGS, UPSTREAM_SERVER];
}

/** `node` arguments that run `toolgate-mcp <proxyArgs>` from the sources. */
export function proxyCliArgs(proxyArgs: string[]): string[] {
  return [...TS_FLAGS, '--import', SOURCE_HOOKS, PROXY_CLI, ...proxyArgs];
}
