/**
 * What the OpenAI Agents adapter adds per allowed in-process tool call (issue 13: ≤ +50 µs):
 * one `runner.run` with a model that answers at once (a function call, then text) with the raw tool
 * vs the same agent under `GovernanceHooks(gate).attach(runner)` (policy with one rule, no audit
 * sink), interleaved batches in one process. Extra builds of the adapter (e.g. the code before a
 * change, copied to bench/.builds/<label>/index.js) are measured in the same run:
 *
 *   pnpm --filter @toolgate/openai-agents build
 *   pnpm exec node packages/openai-agents/bench/adapter-overhead.ts [label=path/to/index.js …]
 */
import { Agent, Runner, tool, Usage, type Model, type ModelRequest, type ModelResponse } from '@openai/agents';
import { createGate, policyReviewer, type Gate } from '@toolgate/core';
import { z } from 'zod';

type Attach = (gate: Gate, runner: Runner) => Runner;

class InstantModel implements Model {
  #n = 0;
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    const input = Array.isArray(request.input) ? request.input : [];
    const last = input.at(-1) as { type?: string } | undefined;
    const output: ModelResponse['output'] =
      last?.type === 'function_call_result'
        ? [{ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'done' }] }]
        : [{ type: 'function_call', callId: `call_${++this.#n}`, name: 'transfer', arguments: '{"amount":500,"currency":"EUR"}', status: 'completed' }];
    return { usage: new Usage(), output, responseId: `r_${this.#n}` };
  }
  // eslint-disable-next-line require-yield
  async *getStreamedResponse(): AsyncIterable<never> {
    throw new Error('not streamed');
  }
}

export const ONE_RULE = { default: 'allow' as const, rules: [{ name: 'big', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt' as const, value: 10_000 }], verdict: 'review' as const }] };

export function agent(): Agent {
  const transfer = tool({
    name: 'transfer',
    description: 'transfer',
    parameters: z.object({ amount: z.number(), currency: z.string() }),
    execute: async ({ amount }) => `sent ${amount}`,
  });
  return new Agent({ name: 'bank', model: new InstantModel(), tools: [transfer] });
}

async function batch(runner: Runner, a: Agent, n: number, samples: number[]): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    const r = await runner.run(a, 'send 500 EUR');
    if (r.finalOutput !== 'done') throw new Error('unexpected run');
    samples.push((performance.now() - s) * 1_000);
  }
  const c = process.cpuUsage(c0);
  return { wall: ((performance.now() - t0) * 1_000) / n, cpu: (c.user + c.system) / n };
}

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
const p99 = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.99) - 1)]!;

export async function measureAdapters(builds: Array<{ label: string; attach: Attach }>, opts = { batches: 25, perBatch: 100 }) {
  const rawRunner = new Runner({ tracingDisabled: true });
  const rawAgent = agent();
  const subjects = builds.map((b) => {
    const gate = createGate({ reviewer: policyReviewer(ONE_RULE), highStakes: ['transfer'], telemetry: false });
    return { label: b.label, gate, runner: b.attach(gate, new Runner({ tracingDisabled: true })), agent: agent() };
  });
  // Warm up every path.
  for (let i = 0; i < 300; i++) {
    await rawRunner.run(rawAgent, 'w');
    for (const s of subjects) await s.runner.run(s.agent, 'w');
  }
  const raw = { wall: [] as number[], cpu: [] as number[], samples: [] as number[] };
  const got = subjects.map(() => ({ wall: [] as number[], cpu: [] as number[], samples: [] as number[] }));
  for (let b = 0; b < opts.batches; b++) {
    const r = await batch(rawRunner, rawAgent, opts.perBatch, raw.samples);
    raw.wall.push(r.wall);
    raw.cpu.push(r.cpu);
    for (const [i, s] of subjects.entries()) {
      const x = await batch(s.runner, s.agent, opts.perBatch, got[i]!.samples);
      got[i]!.wall.push(x.wall);
      got[i]!.cpu.push(x.cpu);
    }
  }
  const rows = [{ label: 'raw tool (baseline)', p50: median(raw.samples), p99: p99(raw.samples), cpu: median(raw.cpu), added: 0, addedCpu: 0 }];
  for (const [i, s] of subjects.entries()) {
    const g = got[i]!;
    rows.push({ label: `governed (${s.label})`, p50: median(g.samples), p99: p99(g.samples), cpu: median(g.cpu), added: median(g.samples) - median(raw.samples), addedCpu: median(g.cpu) - median(raw.cpu) });
    await s.gate.close();
  }
  return rows;
}

if (process.argv[1]?.endsWith('adapter-overhead.ts')) {
  const { cpus, loadavg } = await import('node:os');
  const builds: Array<{ label: string; attach: Attach }> = [];
  for (const arg of process.argv.slice(2)) {
    const [label, path] = arg.split('=');
    const mod = (await import(new URL(path!, `file://${process.cwd()}/`).href)) as { GovernanceHooks: new (g: Gate) => { attach: (r: Runner) => Runner } };
    builds.push({ label: label!, attach: (g, r) => new mod.GovernanceHooks(g).attach(r) });
  }
  const current = (await import('@toolgate/openai-agents')) as unknown as { GovernanceHooks: new (g: Gate) => { attach: (r: Runner) => Runner } };
  builds.push({ label: 'current dist', attach: (g, r) => new current.GovernanceHooks(g).attach(r) });
  const rows = await measureAdapters(builds);
  console.log(`node ${process.version}, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('| run | p50 | p99 | CPU/run (median of batches) | added p50 | added CPU | target |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const us = (v: number) => `${v.toFixed(1)} µs`;
    console.log(`| ${r.label} | ${us(r.p50)} | ${us(r.p99)} | ${us(r.cpu)} | ${r.label.startsWith('raw') ? '' : `+${us(r.added)}`} | ${r.label.startsWith('raw') ? '' : `+${us(r.addedCpu)}`} | ${r.label.startsWith('raw') ? '' : `≤ +50 µs: ${r.added <= 50 ? 'yes' : 'NO'}`} |`);
  }
}
