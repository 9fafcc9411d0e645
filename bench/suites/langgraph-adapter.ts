/**
 * The LangGraph adapter per allowed in-process tool call (issue 13: ≤ 1.1× the same graph without
 * the gate). One `graph.invoke` of a StateGraph agent — a scripted model turn with one `transfer`
 * call, a ToolNode, a final model turn — on a MemorySaver thread:
 *
 * - raw: `MessagesAnnotation` + `ToolNode`, `agent → tools → agent` (what a user has before toolgate);
 * - governed: the same agent wired the way the README says (`addGovernance`), a gate with
 *   `policyReviewer` (one rule, it allows the call) and no audit sink, for each adapter build given
 *   (e.g. the commit before the change and HEAD, bundled from source: same core, same LangGraph);
 * - createAgent: `langchain`'s agent without and with `governanceMiddleware` (when `langchain`
 *   resolves; it is the adapter package's optional peer).
 *
 * The variants run in alternating batches in one process (raw, build 1, build 2, raw, …), so load
 * drift hits them alike; p50/p99 are per invoke, and the ratio is governed p50 / raw p50.
 */
import { createRequire } from 'node:module';
import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { tool } from '@langchain/core/tools';
import { Annotation, END, MemorySaver, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { ToolNode, toolsCondition } from '@langchain/langgraph/prebuilt';
import { createGate, policyReviewer, type Gate } from '@toolgate/core';
import * as current from '@toolgate/langgraph';
import { z } from 'zod';
import { ns, percentile, type Row } from '../lib/stats.ts';
import { ONE_RULE } from './micro.ts';

/** The parts of an adapter build the bench uses. */
export interface LangGraphAdapterUnderTest {
  label: string;
  addGovernance: typeof current.addGovernance;
  GovernanceAnnotation: typeof current.GovernanceAnnotation;
}

interface Variant {
  label: string;
  run: (i: number) => Promise<void>;
  /** Wall time of each invoke, ns. */
  samples: number[];
  /** Process CPU time (user + system) over the timed batches, µs, and the invokes it covers. */
  cpuUs: number;
  invokes: number;
  close?: () => Promise<void>;
}

const ROUNDS = Number(process.env.LG_BENCH_ROUNDS ?? 40);
const BATCH = Number(process.env.LG_BENCH_BATCH ?? 25);
const WARMUP = 200;

let ran = 0;
function transferTool() {
  return tool(async ({ amount }: { amount: number; currency: string }) => {
    ran++;
    return `sent ${amount}`;
  }, { name: 'transfer', description: 'Send money', schema: z.object({ amount: z.number(), currency: z.string() }) });
}

/**
 * A scripted chat model: before invoke `i`, `script(i)` queues one turn with a transfer call
 * (`call_<i>`) and a final answer. One model per variant (createAgent takes one instance).
 */
function scriptedModel() {
  const model = fakeModel();
  return { model, script: (i: number) => void model.respondWithTools([{ name: 'transfer', args: { amount: 500, currency: 'EUR' }, id: `call_${i}` }]).respond(new AIMessage('done')) };
}

function checkDone(messages: BaseMessage[], i: number): void {
  const answer = messages.find((m) => ToolMessage.isInstance(m)) as ToolMessage | undefined;
  if (answer?.status !== 'success' || answer.tool_call_id !== `call_${i}`) throw new Error(`bench: the call did not run (${String(answer?.content)})`);
}

function rawVariant(): Variant {
  const { model, script } = scriptedModel();
  const saver = new MemorySaver();
  const graph = new StateGraph(MessagesAnnotation)
    .addNode('agent', async (s: typeof MessagesAnnotation.State) => ({ messages: [await model.invoke(s.messages)] }))
    .addNode('tools', new ToolNode([transferTool()]))
    .addEdge(START, 'agent')
    .addConditionalEdges('agent', toolsCondition, ['tools', END])
    .addEdge('tools', 'agent')
    .compile({ checkpointer: saver });
  return {
    label: 'StateGraph, raw ToolNode (baseline)',
    samples: [], cpuUs: 0, invokes: 0,
    run: async (i) => {
      script(i);
      const thread = `raw-${i}`;
      const out = await graph.invoke({ messages: [new HumanMessage('send 500 EUR')] }, { configurable: { thread_id: thread } });
      checkDone(out.messages, i);
      await saver.deleteThread(thread);
    },
  };
}

function governedVariant(adapter: LangGraphAdapterUnderTest): Variant {
  const { model, script } = scriptedModel();
  const saver = new MemorySaver();
  const gate: Gate = createGate({ reviewer: policyReviewer(ONE_RULE), highStakes: ['transfer'], telemetry: false });
  const State = Annotation.Root({ ...MessagesAnnotation.spec, ...adapter.GovernanceAnnotation.spec });
  const builder = new StateGraph(State)
    .addNode('agent', async (s: typeof State.State) => ({ messages: [await model.invoke(s.messages)] }))
    .addEdge(START, 'agent');
  const graph = adapter.addGovernance(builder, { gate, tools: [transferTool()] }).compile({ checkpointer: saver });
  return {
    label: `StateGraph, addGovernance (${adapter.label}; policy 1 rule, no audit)`,
    samples: [], cpuUs: 0, invokes: 0,
    close: () => gate.close(),
    run: async (i) => {
      script(i);
      const thread = `gov-${i}`;
      const out = await graph.invoke({ messages: [new HumanMessage('send 500 EUR')] }, { configurable: { thread_id: thread } });
      checkDone(out.messages, i);
      await saver.deleteThread(thread);
    },
  };
}

/** createAgent without and with governanceMiddleware, when `langchain` resolves (from the adapter package). */
async function createAgentVariants(): Promise<Variant[]> {
  let createAgent: ((params: Record<string, unknown>) => { invoke: (input: unknown, config: unknown) => Promise<{ messages: BaseMessage[] }> }) | undefined;
  let governanceMiddleware: ((gate: Gate) => unknown) | undefined;
  try {
    const require = createRequire(new URL('../../packages/langgraph/package.json', import.meta.url));
    ({ createAgent } = (await import(require.resolve('langchain'))) as { createAgent: typeof createAgent });
    ({ governanceMiddleware } = (await import('@toolgate/langgraph/middleware')) as { governanceMiddleware: typeof governanceMiddleware });
  } catch {
    return [];
  }
  const make = (governed: boolean): Variant => {
    const { model, script } = scriptedModel();
    const saver = new MemorySaver();
    const gate = createGate({ reviewer: policyReviewer(ONE_RULE), highStakes: ['transfer'], telemetry: false });
    const agent = createAgent!({ model, tools: [transferTool()], checkpointer: saver, ...(governed ? { middleware: [governanceMiddleware!(gate)] } : {}) });
    return {
      label: governed ? 'createAgent + governanceMiddleware (current; policy 1 rule, no audit)' : 'createAgent, no middleware (baseline)',
      samples: [], cpuUs: 0, invokes: 0,
      close: () => gate.close(),
      run: async (i) => {
        script(i);
        const thread = `ca-${governed ? 'gov' : 'raw'}-${i}`;
        const out = await agent.invoke({ messages: [new HumanMessage('send 500 EUR')] }, { configurable: { thread_id: thread } });
        checkDone(out.messages, i);
        await saver.deleteThread(thread);
      },
    };
  };
  return [make(false), make(true)];
}

async function interleave(variants: Variant[]): Promise<void> {
  let i = 0;
  for (const v of variants) for (let k = 0; k < WARMUP; k++) await v.run(i++);
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round so no variant always runs right after the same one.
    for (let j = 0; j < variants.length; j++) {
      const v = variants[(round + j) % variants.length]!;
      const cpu = process.cpuUsage();
      for (let k = 0; k < BATCH; k++) {
        const t = performance.now();
        await v.run(i++);
        v.samples.push((performance.now() - t) * 1e6);
      }
      const used = process.cpuUsage(cpu);
      v.cpuUs += used.user + used.system;
      v.invokes += BATCH;
    }
  }
}

const cpuPerInvoke = (v: Variant) => ns((v.cpuUs / v.invokes) * 1_000);
const cpuRatio = (v: Variant, base: Variant) => (v.cpuUs / v.invokes / (base.cpuUs / base.invokes)).toFixed(2);

/** Median per invoke of each variant, and governed / raw. */
export async function langGraphAdapterSuite(adapters: LangGraphAdapterUnderTest[] = [{ label: 'current', addGovernance: current.addGovernance, GovernanceAnnotation: current.GovernanceAnnotation }]): Promise<Row[]> {
  const rows: Row[] = [];
  const raw = rawVariant();
  const governed = adapters.map(governedVariant);
  const before = ran;
  await interleave([raw, ...governed]);
  if (ran - before !== (1 + governed.length) * (WARMUP + ROUNDS * BATCH)) throw new Error(`bench: ${ran - before} tool runs, expected one per invoke`);
  const base = percentile(raw.samples, 50);
  rows.push({ group: 'langgraph adapter', name: `${raw.label}, 1 tool call`, p50: ns(base), p99: ns(percentile(raw.samples, 99)), extra: `${raw.samples.length} invokes; CPU ${cpuPerInvoke(raw)}/invoke`, target: '', met: null });
  for (const g of governed) {
    const p50 = percentile(g.samples, 50);
    const ratio = p50 / base;
    rows.push({
      group: 'langgraph adapter',
      name: `${g.label}, 1 allowed call`,
      p50: ns(p50),
      p99: ns(percentile(g.samples, 99)),
      extra: `${ratio.toFixed(2)}× raw (+${ns(p50 - base)}); CPU ${cpuPerInvoke(g)}/invoke, ${cpuRatio(g, raw)}× raw`,
      target: '≤ 1.1× raw',
      met: ratio <= 1.1,
    });
    await g.close?.();
  }

  const agents = await createAgentVariants();
  if (agents.length === 2) {
    await interleave(agents);
    const [a, b] = agents as [Variant, Variant];
    const ab = percentile(a.samples, 50);
    const bb = percentile(b.samples, 50);
    rows.push({ group: 'langgraph adapter', name: `${a.label}, 1 tool call`, p50: ns(ab), p99: ns(percentile(a.samples, 99)), extra: `${a.samples.length} invokes; CPU ${cpuPerInvoke(a)}/invoke`, target: '', met: null });
    rows.push({ group: 'langgraph adapter', name: `${b.label}, 1 allowed call`, p50: ns(bb), p99: ns(percentile(b.samples, 99)), extra: `${(bb / ab).toFixed(2)}× raw (+${ns(bb - ab)}); CPU ${cpuPerInvoke(b)}/invoke, ${cpuRatio(b, a)}× raw`, target: '', met: null });
    for (const v of agents) await v.close?.();
  }
  return rows;
}

/**
 * The adapter's source at a git commit, bundled with esbuild (`@toolgate/core`, `@langchain/*` and
 * `zod` stay external, so every build runs against the same core and LangGraph): before/after in one run.
 */
export async function langGraphAdapterAt(commit: string): Promise<LangGraphAdapterUnderTest> {
  const { execFileSync } = await import('node:child_process');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const { dirname, join } = await import('node:path');
  const { fileURLToPath, pathToFileURL } = await import('node:url');
  const esbuild = await import('esbuild');
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const sha = execFileSync('git', ['rev-parse', '--short', commit], { cwd: root }).toString().trim();
  // Under bench/node_modules (ignored by git), so the bundle resolves its externals from bench/node_modules.
  const dir = join(root, 'bench', 'node_modules', '.toolgate-adapters', `langgraph-${sha}`);
  const files = execFileSync('git', ['ls-tree', '-r', '--name-only', sha, 'packages/langgraph/src/'], { cwd: root }).toString().split('\n');
  for (const f of files.filter((x) => x.endsWith('.ts') && !/\.test(-d)?\.ts$/.test(x) && !/test-(harness|support)\.ts$/.test(x))) {
    const target = join(dir, f.slice('packages/langgraph/src/'.length));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, execFileSync('git', ['show', `${sha}:${f}`], { cwd: root }));
  }
  const out = join(dir, 'adapter.mjs');
  await esbuild.build({
    entryPoints: [join(dir, 'index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    outfile: out,
    external: ['@toolgate/core', '@langchain/*', 'zod', 'zod/*', 'langchain'],
    logLevel: 'error',
  });
  const mod = (await import(pathToFileURL(out).href)) as typeof current;
  return { label: sha, addGovernance: mod.addGovernance, GovernanceAnnotation: mod.GovernanceAnnotation };
}

// node bench/suites/langgraph-adapter.ts [--before=<commit> | --builds=<commit>,…]: the current build,
// <commit> vs HEAD, or the listed commits (one alone against raw: no other adapter build in the process).
if (process.argv[1]?.endsWith('langgraph-adapter.ts')) {
  const { renderTable } = await import('../lib/stats.ts');
  const { loadavg } = await import('node:os');
  const before = process.argv.find((a) => a.startsWith('--before='))?.slice(9);
  const builds = process.argv.find((a) => a.startsWith('--builds='))?.slice(9).split(',');
  const commits = builds ?? (before ? [before, 'HEAD'] : undefined);
  const adapters = commits ? await Promise.all(commits.map((c) => langGraphAdapterAt(c))) : undefined;
  console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(renderTable(await langGraphAdapterSuite(adapters)));
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}
