/**
 * The AI SDK adapter per allowed in-process tool call (issue 13: ≤ +30 µs): one `generateText`
 * with a scripted model (a tool call, then text) with the raw tool vs the same tool governed by
 * `withGovernance` (policy with one rule, no audit sink; then with `memoryAudit`). Every subject
 * runs in batches, round-robin and in a rotating order, in one process, so load drift hits them
 * alike; `gate.review` of the same call alone, and the "floor" (an `execute` that calls
 * `gate.review` then `runGoverned`, nothing else), run in the same rounds, to tell what the gate
 * costs in a run from what the adapter adds. The difference of the medians (per-run wall time,
 * and CPU time per run) is what the adapter and the gate add per allowed call.
 *
 *   pnpm bench --only=aisdk
 *   pnpm exec node bench/suites/ai-sdk-adapter.ts [--before=<commit>] [label=path/to/dist/index.js …]
 */
import { withGovernance } from '@toolgate/ai-sdk';
import { createGate, memoryAudit, policyReviewer, runGoverned, type Gate } from '@toolgate/core';
import { generateText, isStepCount, tool, type ToolSet } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { z } from 'zod';
import { interleave } from '../lib/interleave.ts';
import { ns, percentile, type Row } from '../lib/stats.ts';
import { ONE_RULE } from './micro.ts';

const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 1, text: 1, reasoning: undefined } };

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

/**
 * The floor: the gate's calls per allowed call (review, then claim + body + outcome through
 * runGoverned) in the tool's `execute`, and nothing else. Not a usable integration (no human
 * approvals, no per-step sharing, no denial output): what any adapter on `execute` pays.
 */
function floorTools(gate: Gate): ToolSet {
  const t = rawTools().transfer!;
  const execute = t.execute!;
  return {
    transfer: {
      ...t,
      execute: async (input: unknown, options: Parameters<typeof execute>[1]) => {
        const d = await gate.review({ tool: 'transfer', args: input, callId: options.toolCallId });
        return runGoverned(gate, d, (args) => execute(args as { amount: number; currency: string }, options), input);
      },
    } as typeof t,
  };
}

export interface AdapterUnderTest {
  label: string;
  withGovernance: (tools: ToolSet, gate: Gate) => ToolSet;
}

interface Subject {
  label: string;
  once: () => Promise<void>;
  samples: number[];
  cpu: number[];
  audited?: boolean;
  close?: () => Promise<void>;
}

const median = (xs: number[]) => percentile(xs, 50);
const signed = (v: number) => `${v >= 0 ? '+' : '-'}${ns(Math.abs(v))}`;

/** Median cost of one generateText with one allowed tool call, raw and governed by each adapter build. */
export async function aiSdkAdapterSuite(
  adapters: AdapterUnderTest[] = [{ label: 'current', withGovernance: (t, g) => withGovernance(t, g) }],
  opts = { rounds: 30, perBatch: 100, warmup: 500 },
): Promise<Row[]> {
  const { loadavg } = await import('node:os');
  const load0 = loadavg()[0]!;
  const model = scriptedModel();
  const run = async (tools: ToolSet) => {
    const r = await generateText({ model, tools, stopWhen: isStepCount(3), prompt: 'send 500 EUR' });
    if (r.text !== 'done') throw new Error('unexpected run');
  };
  const raw = rawTools();
  const subjects: Subject[] = [{ label: 'raw', once: () => run(raw), samples: [], cpu: [] }];
  const reviewGate = createGate({ reviewer: policyReviewer(ONE_RULE), highStakes: ['transfer'], telemetry: false });
  let n = 0;
  subjects.push({
    label: 'gate.review only',
    once: async () => void (await reviewGate.review({ tool: 'transfer', args: { amount: 500, currency: 'EUR' }, callId: `call_${++n}` })),
    samples: [],
    cpu: [],
    close: () => reviewGate.close(),
  });
  const floorGate = createGate({ reviewer: policyReviewer(ONE_RULE), highStakes: ['transfer'], telemetry: false });
  const floor = floorTools(floorGate);
  subjects.push({ label: 'floor', once: () => run(floor), samples: [], cpu: [], close: () => floorGate.close() });
  for (const a of adapters) {
    for (const audited of [false, true]) {
      const audit = memoryAudit();
      const gate = createGate({ reviewer: policyReviewer(ONE_RULE), highStakes: ['transfer'], telemetry: false, ...(audited ? { audit } : {}) });
      const governed = a.withGovernance(rawTools(), gate);
      subjects.push({
        label: a.label,
        audited,
        once: async () => {
          if (audit.records.length > 20_000) audit.records.length = 0;
          await run(governed);
        },
        samples: [],
        cpu: [],
        close: () => gate.close(),
      });
    }
  }
  for (let i = 0; i < opts.warmup; i++) for (const s of subjects) await s.once();
  await interleave(subjects, opts.rounds, opts.perBatch);
  const load = `load ${load0.toFixed(2)}→${loadavg()[0]!.toFixed(2)}`;
  const [r0, review, fl] = [subjects[0]!, subjects[1]!, subjects[2]!];
  const rows: Row[] = [
    { group: 'ai-sdk adapter', name: 'generateText, 1 tool call, raw tool (baseline)', p50: ns(median(r0.samples)), p99: ns(percentile(r0.samples, 99)), extra: `CPU ${ns(median(r0.cpu))}/run; ${load}`, target: '', met: null },
    { group: 'ai-sdk adapter', name: 'gate.review alone (same call, policy 1 rule, no audit)', p50: ns(median(review.samples)), p99: ns(percentile(review.samples, 99)), extra: `CPU ${ns(median(review.cpu))}/review`, target: '', met: null },
    {
      group: 'ai-sdk adapter',
      name: 'generateText, floor: execute → gate.review → runGoverned, nothing else',
      p50: ns(median(fl.samples)),
      p99: ns(percentile(fl.samples, 99)),
      extra: `${signed(median(fl.samples) - median(r0.samples))} wall, ${signed(median(fl.cpu) - median(r0.cpu))} CPU over raw`,
      target: '',
      met: null,
    },
  ];
  const first = subjects.find((s) => s.audited === false);
  for (const s of subjects.slice(3)) {
    const added = median(s.samples) - median(r0.samples);
    const vsFirst = first && s !== first && !s.audited ? `; ${(median(s.cpu) / median(first.cpu)).toFixed(3)}× the CPU of ${first.label}` : '';
    rows.push({
      group: 'ai-sdk adapter',
      name: `generateText, 1 allowed call, governed (${s.label}; policy 1 rule${s.audited ? ' + memoryAudit' : ', no audit'})`,
      p50: ns(median(s.samples)),
      p99: ns(percentile(s.samples, 99)),
      extra: `${signed(added)} wall, ${signed(median(s.cpu) - median(r0.cpu))} CPU over raw${s.audited ? '' : `, ${signed(median(s.samples) - median(fl.samples))} over the floor`}${vsFirst}`,
      target: s.audited ? '' : '≤ +30 µs',
      met: s.audited ? null : added <= 30_000,
    });
  }
  for (const s of subjects) await s.close?.();
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

// pnpm exec node bench/suites/ai-sdk-adapter.ts [--before=<commit>] [label=path/to/index.js …]:
// those builds (the adapter at <commit>, bundled from git; built dists by path), then the current one.
if (process.argv[1]?.endsWith('ai-sdk-adapter.ts')) {
  const { renderTable } = await import('../lib/stats.ts');
  const { loadavg } = await import('node:os');
  const adapters: AdapterUnderTest[] = [];
  const before = process.argv.find((a) => a.startsWith('--before='))?.slice(9);
  if (before) adapters.push(await adapterAt(before));
  for (const arg of process.argv.slice(2).filter((a) => !a.startsWith('--') && a.includes('='))) {
    const [label, path] = arg.split('=');
    const mod = (await import(new URL(path!, `file://${process.cwd()}/`).href)) as { withGovernance: (t: ToolSet, g: Gate) => ToolSet };
    adapters.push({ label: label!, withGovernance: (t, g) => mod.withGovernance(t, g) });
  }
  adapters.push({ label: 'current', withGovernance: (t, g) => withGovernance(t, g) });
  console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(renderTable(await aiSdkAdapterSuite(adapters)));
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}
