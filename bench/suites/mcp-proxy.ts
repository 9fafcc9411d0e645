/**
 * The cost of the `toolgate-mcp` proxy per tool call, against calling the same upstream MCP server
 * directly, in one run: three real MCP clients over stdio — one straight to the upstream server,
 * one through the built proxy (`packages/mcp/bin/toolgate-mcp.js`) where the tool is high-stakes
 * and a policy allows it (the gate runs, and the audit is appended to a file), one through the
 * proxy where the tool is not high-stakes (pass-through). Interleaved rounds, so drift hits all
 * alike. Every call is a real `tools/call` of the fixture server's `transfer`, which appends a line
 * to its counter file on each call; the suite checks the counts at the end.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ms, percentile, type Row } from '../lib/stats.ts';

const CALLS = 2_000;
const ROUND = 250;
const WARMUP = 200;

const UPSTREAM = fileURLToPath(new URL('../../packages/mcp/src/testing/upstream-server.ts', import.meta.url));
const TS_FLAGS = ['--disable-warning=ExperimentalWarning', '--experimental-transform-types'];
const PROXY_BIN = join(dirname(createRequire(import.meta.url).resolve('@toolgate/mcp/package.json')), 'bin', 'toolgate-mcp.js');

async function connect(command: string, args: string[], env: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command, args, env: { ...(process.env as Record<string, string>), ...env }, stderr: 'pipe' }));
  return client;
}

function lines(file: string): number {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').length;
  } catch {
    return 0;
  }
}

export async function mcpProxySuite(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-bench-mcp-'));
  const policy = join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify({ version: 1, default: 'deny', rules: [{ id: 'small-transfers', tools: ['transfer'], when: [{ field: 'args.amount', op: 'lte', value: 100 }], verdict: 'allow' }] }));
  const counters = { direct: join(dir, 'direct.log'), gated: join(dir, 'gated.log'), passthrough: join(dir, 'passthrough.log') };
  const upstream = [process.execPath, ...TS_FLAGS, UPSTREAM];
  const audit = join(dir, 'audit.jsonl');

  const direct = await connect(process.execPath, [...TS_FLAGS, UPSTREAM], { COUNTER_FILE: counters.direct });
  const gated = await connect(process.execPath, [PROXY_BIN, '--policy', policy, '--high-stakes', 'transfer', '--audit', audit, '--', ...upstream], { COUNTER_FILE: counters.gated });
  const passthrough = await connect(process.execPath, [PROXY_BIN, '--policy', policy, '--high-stakes', 'delete_*', '--', ...upstream], { COUNTER_FILE: counters.passthrough });
  try {
    const args = { amount: 10, to: 'acct_42' };
    const call = async (client: Client) => {
      const result = await client.callTool({ name: 'transfer', arguments: args });
      if (result.isError) throw new Error(`mcp-proxy bench: transfer failed: ${JSON.stringify(result.content)}`);
    };
    for (let w = 0; w < WARMUP; w++) {
      await call(direct);
      await call(gated);
      await call(passthrough);
    }
    const samples = { direct: [] as number[], gated: [] as number[], passthrough: [] as number[] };
    for (let done = 0; done < CALLS; done += ROUND) {
      for (const [name, client] of [['direct', direct], ['gated', gated], ['passthrough', passthrough]] as const) {
        for (let j = 0; j < ROUND; j++) {
          const t = performance.now();
          await call(client);
          samples[name].push(performance.now() - t);
        }
      }
    }
    for (const name of ['direct', 'gated', 'passthrough'] as const) {
      if (lines(counters[name]) !== WARMUP + CALLS) throw new Error(`mcp-proxy bench: ${name}: ${lines(counters[name])} calls reached the upstream, expected ${WARMUP + CALLS}`);
    }
    if (lines(audit) === 0) throw new Error('mcp-proxy bench: the gated proxy wrote no audit');

    const G = `MCP proxy (stdio, ${CALLS.toLocaleString('en-US')} calls each way)`;
    const d50 = percentile(samples.direct, 50);
    const row = (name: string, s: number[], extra: string): Row => ({ group: G, name, p50: ms(percentile(s, 50)), p99: ms(percentile(s, 99)), extra, target: '', met: null });
    const ratio = (s: number[]) => `p50 ${(percentile(s, 50) / d50).toFixed(2)}× direct, +${ms(percentile(s, 50) - d50)}`;
    return [
      row('client → upstream server directly', samples.direct, ''),
      row('client → toolgate-mcp → upstream, tool high-stakes (policy allows, audit to file)', samples.gated, ratio(samples.gated)),
      row('client → toolgate-mcp → upstream, tool not high-stakes (pass-through)', samples.passthrough, ratio(samples.passthrough)),
    ];
  } finally {
    await Promise.allSettled([direct.close(), gated.close(), passthrough.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
