/**
 * The OpenAI Agents adapter per allowed in-process tool call (issue 13: ≤ +50 µs): one
 * `runner.run` with a model that answers at once (a function call, then text) with the raw tool
 * vs the same agent under `GovernanceHooks(gate).attach(runner)` (policy with one rule that allows,
 * no audit sink; then with `memoryAudit`). Every subject runs in batches, round-robin and in a
 * rotating order, in one process, so load drift hits them alike; `gate.review` of the same call
 * is measured in the same rounds, and so is the least any integration through the SDK's own hooks
 * does (the "floor": a dynamic needsApproval that calls gate.review, an input guardrail that claims
 * the execution, an output guardrail that reports the outcome — no scope, no names, no edits, no
 * human answers), to tell what the gate costs in a run from what the adapter adds.
 * The difference of the medians (per-run wall time, and CPU time per run) is what the adapter
 * and the gate add per allowed call.
 *
 *   pnpm bench --only=openai
 *   pnpm exec node bench/suites/openai-agents-adapter.ts [label=path/to/dist/index.js …]
 *
 * Extra builds of the adapter (e.g. the code before a change, copied to
 * bench/.builds/<label>/openai-agents/index.js) are measured in the same rounds as the current one.
 */
import {
  Agent,
  defineToolInputGuardrail,
  defineToolOutputGuardrail,
  Runner,
  tool,
  ToolGuardrailFunctionOutputFactory as Guard,
  Usage,
  type FunctionTool,
  type Model,
  type ModelRequest,
  type ModelResponse,
} from '@openai/agents';
import { GovernanceHooks } from '@toolgate/openai-agents';
import { claimExecution, createGate, memoryAudit, policyReviewer, type Decision, type Gate } from '@toolgate/core';
import { z } from 'zod';
import { interleave } from '../lib/interleave.ts';
import { ns, percentile, type Row } from '../lib/stats.ts';
import { ONE_RULE } from './micro.ts';

type Attach = (gate: Gate, runner: Runner) => Runner;
export interface OpenAiBuild {
  label: string;
  attach: Attach;
}

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

function bankAgent(): Agent {
  const transfer = tool({
    name: 'transfer',
    description: 'transfer',
    parameters: z.object({ amount: z.number(), currency: z.string() }),
    execute: async ({ amount }) => `sent ${amount}`,
  });
  return new Agent({ name: 'bank', model: new InstantModel(), tools: [transfer] });
}

/**
 * The floor: the gate's three calls per allowed call (review, claim, outcome) through the SDK's
 * dynamic needsApproval and tool guardrails, and nothing else. Not a usable integration (no
 * human answers, edits, names, scope or fail-safes): what any adapter built on these hooks pays.
 */
function floorAgent(gate: Gate): Agent {
  const a = bankAgent();
  const t = a.tools[0] as FunctionTool;
  const byCall = new Map<string, Decision>();
  t.needsApproval = async (_ctx, input, callId) => {
    const d = await gate.review({ tool: 'transfer', args: input, ...(callId ? { callId } : {}), agent: a.name });
    if (callId) byCall.set(callId, d);
    return d.verdict === 'review';
  };
  t.inputGuardrails = [
    defineToolInputGuardrail({
      name: 'floor',
      run: async ({ toolCall }) => {
        const d = byCall.get(toolCall.callId);
        if (!d || d.verdict !== 'allow') return Guard.rejectContent('denied');
        JSON.parse(toolCall.arguments); // what the body runs with must be what was reviewed
        return (await claimExecution(gate, d)) ? Guard.rejectContent('already ran') : Guard.allow();
      },
    }),
  ];
  t.outputGuardrails = [
    defineToolOutputGuardrail({
      name: 'floor_outcome',
      run: async ({ toolCall }) => {
        const d = byCall.get(toolCall.callId);
        byCall.delete(toolCall.callId);
        if (d) await gate.reportOutcome(d, { status: 'success', durationMs: 0 });
        return Guard.allow();
      },
    }),
  ];
  return a;
}

interface Subject {
  label: string;
  once: () => Promise<void>;
  samples: number[];
  cpu: number[];
  close?: () => Promise<void>;
  audited?: boolean;
  build?: string;
}

const median = (xs: number[]) => percentile(xs, 50);
const signed = (v: number) => `${v >= 0 ? '+' : '-'}${ns(Math.abs(v))}`;

export async function openAiAgentsAdapterSuite(
  builds: OpenAiBuild[] = [{ label: 'current', attach: (g, r) => new GovernanceHooks(g).attach(r) }],
  opts = { rounds: 30, perBatch: 100, warmup: 500 },
): Promise<Row[]> {
  const { loadavg } = await import('node:os');
  const load0 = loadavg()[0]!;
  const rawRunner = new Runner({ tracingDisabled: true });
  const rawAgent = bankAgent();
  const run = async (runner: Runner, agent: Agent) => {
    const r = await runner.run(agent, 'send 500 EUR');
    if (r.finalOutput !== 'done') throw new Error('unexpected run');
  };
  const subjects: Subject[] = [{ label: 'raw', once: () => run(rawRunner, rawAgent), samples: [], cpu: [] }];
  // gate.review of the call the model makes, alone: how much of the added time is the gate's.
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
  const floorRunner = new Runner({ tracingDisabled: true });
  const floor = floorAgent(floorGate);
  subjects.push({ label: 'floor', once: () => run(floorRunner, floor), samples: [], cpu: [], close: () => floorGate.close() });
  for (const b of builds) {
    for (const audited of [false, true]) {
      const audit = memoryAudit();
      const gate = createGate({ reviewer: policyReviewer(ONE_RULE), highStakes: ['transfer'], telemetry: false, ...(audited ? { audit } : {}) });
      const runner = b.attach(gate, new Runner({ tracingDisabled: true }));
      const agent = bankAgent();
      subjects.push({
        label: b.label,
        build: b.label,
        audited,
        once: async () => {
          if (audit.records.length > 20_000) audit.records.length = 0;
          await run(runner, agent);
        },
        samples: [],
        cpu: [],
        close: () => gate.close(),
      });
    }
  }
  for (let i = 0; i < opts.warmup; i++) for (const s of subjects) await s.once();
  await interleave(subjects, opts.rounds, opts.perBatch);
  const load1 = loadavg()[0]!;
  const load = `load ${load0.toFixed(2)}→${load1.toFixed(2)}`;
  const [raw, review, fl] = [subjects[0]!, subjects[1]!, subjects[2]!];
  const rows: Row[] = [
    { group: 'openai-agents adapter', name: 'runner.run, 1 tool call, raw tool (baseline)', p50: ns(median(raw.samples)), p99: ns(percentile(raw.samples, 99)), extra: `CPU ${ns(median(raw.cpu))}/run; ${load}`, target: '', met: null },
    { group: 'openai-agents adapter', name: 'gate.review alone (same call, policy 1 rule, no audit)', p50: ns(median(review.samples)), p99: ns(percentile(review.samples, 99)), extra: `CPU ${ns(median(review.cpu))}/review`, target: '', met: null },
    {
      group: 'openai-agents adapter',
      name: 'runner.run, floor: needsApproval → gate.review, guardrails → claim + outcome, nothing else',
      p50: ns(median(fl.samples)),
      p99: ns(percentile(fl.samples, 99)),
      extra: `${signed(median(fl.samples) - median(raw.samples))} wall, ${signed(median(fl.cpu) - median(raw.cpu))} CPU over raw`,
      target: '',
      met: null,
    },
  ];
  const first = subjects.find((s) => s.build !== undefined && !s.audited);
  for (const s of subjects.slice(3)) {
    const added = median(s.samples) - median(raw.samples);
    const addedCpu = median(s.cpu) - median(raw.cpu);
    const vsFirst = first && s !== first && !s.audited ? `; ${(median(s.cpu) / median(first.cpu)).toFixed(3)}× the CPU of ${first.label}` : '';
    rows.push({
      group: 'openai-agents adapter',
      name: `runner.run, 1 allowed call, governed (${s.label}; policy 1 rule${s.audited ? ' + memoryAudit' : ', no audit'})`,
      p50: ns(median(s.samples)),
      p99: ns(percentile(s.samples, 99)),
      extra: `${signed(added)} wall, ${signed(addedCpu)} CPU over raw${s.audited ? '' : `, ${signed(median(s.samples) - median(fl.samples))} over the floor`}${vsFirst}`,
      target: s.audited ? '' : '≤ +50 µs',
      met: s.audited ? null : added <= 50_000,
    });
  }
  for (const s of subjects) await s.close?.();
  return rows;
}

// pnpm exec node bench/suites/openai-agents-adapter.ts [label=path/to/index.js …]: those builds, then the current one.
if (process.argv[1]?.endsWith('openai-agents-adapter.ts')) {
  const { renderTable } = await import('../lib/stats.ts');
  const { loadavg } = await import('node:os');
  const builds: OpenAiBuild[] = [];
  for (const arg of process.argv.slice(2).filter((a) => a.includes('='))) {
    const [label, path] = arg.split('=');
    const mod = (await import(new URL(path!, `file://${process.cwd()}/`).href)) as { GovernanceHooks: typeof GovernanceHooks };
    builds.push({ label: label!, attach: (g, r) => new mod.GovernanceHooks(g).attach(r) });
  }
  builds.push({ label: 'current', attach: (g, r) => new GovernanceHooks(g).attach(r) });
  console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(renderTable(await openAiAgentsAdapterSuite(builds)));
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}
