/**
 * The AI SDK adapter per allowed in-process tool call (issue 13: ≤ +30 µs): one `generateText`
 * with a scripted model (a tool call, then text) with the raw tool vs the same tool governed by
 * `withGovernance` (policy with one rule, no audit sink; then with `memoryAudit`), interleaved in
 * one run. The difference of the medians is what the adapter and the gate add per allowed call.
 */
import { withGovernance } from '@toolgate/ai-sdk';
import { createGate, memoryAudit, policyReviewer, type Gate } from '@toolgate/core';
import { generateText, isStepCount, tool, type ToolSet } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { do_not_optimize, measure } from 'mitata';
import { z } from 'zod';
import { ns, type Row } from '../lib/stats.ts';
import { ONE_RULE } from './micro.ts';

const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 1, text: 1, reasoning: undefined } };
const opts = { min_cpu_time: 1_000 * 1e6 } as const;

function scriptedModel() {
  let n = 0;
  return new MockLanguageModelV4({
    doGenerate: async ({ prompt }) =>
      prompt.at(-1)?.role === 'tool'
        ? { content: [{ type: 'text', text: 'done' }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] }
        : { content: [{ type: 'tool-call', toolCallId: `call_${++n}`, toolName: 'transfer', input: '{"amount":500,"currency":"EUR"}' }], finishReason: { unified: 'tool-calls', raw: undefined }, usage, warnings: [] },
  });
}

function rawTools(): ToolSet {
  return {
    transfer: tool({
      description: 'transfer',
      inputSchema: z.object({ amount: z.number(), currency: z.string() }),
      execute: async ({ amount }) => ({ sent: amount }),
    }),
  };
}

export interface AdapterUnderTest {
  label: string;
  withGovernance: (tools: ToolSet, gate: Gate) => ToolSet;
}

/** Median cost of one generateText with one allowed tool call, raw and governed by each adapter build. */
export async function aiSdkAdapterSuite(adapters: AdapterUnderTest[] = [{ label: 'current', withGovernance: (t, g) => withGovernance(t, g) }]): Promise<Row[]> {
  const rows: Row[] = [];
  const model = scriptedModel();
  const run = (tools: ToolSet) => generateText({ model, tools, stopWhen: isStepCount(3), prompt: 'send 500 EUR' });
  const raw = rawTools();
  const raw0 = await measure(async () => do_not_optimize(await run(raw)), opts);
  rows.push({ group: 'ai-sdk adapter', name: 'generateText, 1 tool call, raw tool (baseline)', p50: ns(raw0.p50), p99: ns(raw0.p99), extra: '', target: '', met: null });
  for (const a of adapters) {
    for (const audited of [false, true]) {
      const audit = memoryAudit();
      const gate = createGate({ reviewer: policyReviewer(ONE_RULE), highStakes: ['transfer'], telemetry: false, ...(audited ? { audit } : {}) });
      const governed = a.withGovernance(rawTools(), gate);
      // Interleave: the baseline again right before, so drift between the two is small.
      const base = await measure(async () => do_not_optimize(await run(raw)), opts);
      const s = await measure(async () => {
        if (audit.records.length > 20_000) audit.records.length = 0;
        do_not_optimize(await run(governed));
      }, opts);
      const added = s.p50 - base.p50;
      rows.push({
        group: 'ai-sdk adapter',
        name: `generateText, 1 allowed call, governed (${a.label}; policy 1 rule${audited ? ' + memoryAudit' : ', no audit'})`,
        p50: ns(s.p50),
        p99: ns(s.p99),
        extra: `${added >= 0 ? "+" : "-"}${ns(Math.abs(added))} over raw (${ns(base.p50)}, measured right before)`,
        target: audited ? '' : '≤ +30 µs',
        met: audited ? null : added <= 30_000,
      });
      await gate.close();
    }
  }
  return rows;
}

/**
 * The adapter's source at a git commit, bundled with esbuild (`@toolgate/core` and `ai` stay
 * external, so both builds run against the same core and SDK): before/after in one run.
 */
export async function adapterAt(commit: string): Promise<AdapterUnderTest> {
  const { execFileSync } = await import('node:child_process');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { fileURLToPath, pathToFileURL } = await import('node:url');
  const esbuild = await import('esbuild');
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const sha = execFileSync('git', ['rev-parse', '--short', commit], { cwd: root }).toString().trim();
  // Under bench/node_modules (ignored by git), so the bundle resolves @toolgate/core and ai from bench/node_modules.
  const dir = join(root, 'bench', 'node_modules', '.toolgate-adapters', sha);
  mkdirSync(dir, { recursive: true });
  const files = execFileSync('git', ['ls-tree', '--name-only', sha, 'packages/ai-sdk/src/'], { cwd: root }).toString().split('\n');
  for (const f of files.filter((x) => x.endsWith('.ts') && !/\.test(-d)?\.ts$/.test(x) && !x.endsWith('test-harness.ts'))) {
    writeFileSync(join(dir, f.slice('packages/ai-sdk/src/'.length)), execFileSync('git', ['show', `${sha}:${f}`], { cwd: root }));
  }
  const out = join(dir, 'adapter.mjs');
  await esbuild.build({ entryPoints: [join(dir, 'index.ts')], bundle: true, format: 'esm', platform: 'node', target: 'node22', outfile: out, external: ['@toolgate/core', 'ai'], logLevel: 'error' });
  const mod = (await import(pathToFileURL(out).href)) as { withGovernance: (t: ToolSet, g: Gate) => ToolSet };
  return { label: sha, withGovernance: (t, g) => mod.withGovernance(t, g) };
}

// node bench/suites/ai-sdk-adapter.ts [--before=<commit>]: the current build, or <commit> vs HEAD.
if (process.argv[1]?.endsWith('ai-sdk-adapter.ts')) {
  const { renderTable } = await import('../lib/stats.ts');
  const { loadavg } = await import('node:os');
  const before = process.argv.find((a) => a.startsWith('--before='))?.slice(9);
  const adapters = before ? [await adapterAt(before), await adapterAt('HEAD')] : undefined;
  console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(renderTable(await aiSdkAdapterSuite(adapters)));
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}
