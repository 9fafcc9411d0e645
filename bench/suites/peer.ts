/**
 * toolgate against `@microsoft/agent-governance-sdk` (the TypeScript SDK of the Agent Governance
 * Toolkit) on the same workloads, measured interleaved in one process: for each workload the two
 * sides alternate for ROUNDS rounds (mitata), and a row reports the median of the rounds' p50 and
 * p99. Workloads: no rule, 1 rule, 100 rules over 50 tools, 100 rules that all apply, and a policy
 * decision plus an audit record in memory and in a file.
 *
 * With `BENCH_BASELINE_CORE=/path/to/core.mjs` (an older build of @toolgate/core, e.g. bundled
 * from a previous commit) the toolgate side is measured with both builds, interleaved too, so the
 * before/after ratio comes from one run under the same load. `BENCH_CORE=/path/to/core.mjs` replaces
 * the current build the same way (bundle both with the same tool for a like-for-like comparison).
 *
 * What each side does per decision (see docs/benchmarks.md):
 * - toolgate `evaluatePolicy`: the compiled policy's rules for the call's tool, every condition
 *   recorded in `evaluated[]` (bounded), a reason; `gate.review` adds the canonical args digest,
 *   idempotency key, decision cache and, with a sink, a redacted hash-chained record that hashes
 *   the whole record (tool, args, digest, decision with reason and checks, ids, time).
 * - peer `PolicyEngine.evaluatePolicy`: each rule's condition string parsed by regular
 *   expressions on every call, conflict resolution over the matching rules; `AuditLogger.log`
 *   hashes `{ timestamp, agentId, action, decision, previousHash }` (no args, no reason).
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AuditLogger, PolicyEngine } from '@microsoft/agent-governance-sdk';
import * as current from '@toolgate/core';
import { do_not_optimize, measure } from 'mitata';
import { ns, type Row } from '../lib/stats.ts';

type Core = typeof current;
type Stats = Awaited<ReturnType<typeof measure>>;
type Fn = () => unknown;

const ROUNDS = Number(process.env.BENCH_PEER_ROUNDS ?? 3);
const opts = { min_cpu_time: 150 * 1e6 } as const;

const ARGS = { amount: 500, currency: 'EUR', to: 'acct_42', memo: 'invoice 2026-118' };

/** toolgate policies, as documents (parsed by each core build). */
function documents(): Record<string, unknown> {
  return {
    none: { version: 1, default: 'deny', rules: [] },
    one: { version: 1, default: 'deny', rules: [{ id: 'small-transfer', tools: ['transfer'], when: [{ field: 'args.amount', op: 'lte', value: 1000 }], verdict: 'allow' }] },
    spread: {
      version: 1,
      default: 'deny',
      rules: Array.from({ length: 100 }, (_, i) => ({
        id: `rule-${i}`,
        tools: [i < 2 ? 'transfer' : `tool_${Math.floor(i / 2)}`],
        when: [{ field: 'args.amount', op: i % 2 === 0 ? 'lte' : 'gt', value: 1000 }],
        verdict: i % 2 === 0 ? 'allow' : 'review',
      })),
    },
    all: {
      version: 1,
      default: 'deny',
      rules: Array.from({ length: 100 }, (_, i) => ({
        id: `rule-${i}`,
        tools: ['transfer'],
        when: [
          { field: 'args.amount', op: i % 3 === 0 ? 'lte' : 'gt', value: 1000 + i * 10 },
          { field: 'args.currency', op: 'in', value: ['EUR', 'USD', 'GBP'] },
        ],
        verdict: i % 3 === 0 ? 'allow' : i === 99 ? 'deny' : 'review',
      })),
    },
  };
}

/** The same rules for the peer's rich policy engine (conditions are expression strings). */
function peerEngines(): Record<string, PolicyEngine> {
  const make = (rules: ConstructorParameters<typeof PolicyEngine>[0]): PolicyEngine => {
    const e = new PolicyEngine();
    e.loadPolicy({ name: 'bench', rules: rules ?? [], default_action: 'deny' });
    return e;
  };
  return {
    none: make([]),
    one: make([{ name: 'small-transfer', condition: "tool == 'transfer' and args.amount <= 1000", ruleAction: 'allow' }]),
    spread: make(
      Array.from({ length: 100 }, (_, i) => ({
        name: `rule-${i}`,
        condition: `tool == '${i < 2 ? 'transfer' : `tool_${Math.floor(i / 2)}`}' and args.amount ${i % 2 === 0 ? '<=' : '>'} 1000`,
        ruleAction: i % 2 === 0 ? ('allow' as const) : ('require_approval' as const),
      })),
    ),
    all: make(
      Array.from({ length: 100 }, (_, i) => ({
        name: `rule-${i}`,
        condition: `tool == 'transfer' and args.amount ${i % 3 === 0 ? '<=' : '>'} ${1000 + i * 10} and args.currency in ['EUR', 'USD', 'GBP']`,
        ruleAction: i % 3 === 0 ? ('allow' as const) : i === 99 ? ('deny' as const) : ('require_approval' as const),
      })),
    ),
  };
}

/** Alternates the sides for ROUNDS rounds; returns each side's median p50/p99 over the rounds. */
async function interleaved(sides: Record<string, Fn>): Promise<Record<string, { p50: number; p99: number; avg: number }>> {
  const got: Record<string, Stats[]> = {};
  for (let r = 0; r < ROUNDS; r++) {
    const names = Object.keys(sides);
    // Alternate who goes first, so neither side always runs right after the other's warm-up.
    if (r % 2 === 1) names.reverse();
    for (const name of names) {
      const fn = sides[name]!;
      (got[name] ??= []).push(await measure(fn as () => void, opts));
    }
  }
  const med = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const out: Record<string, { p50: number; p99: number; avg: number }> = {};
  for (const [name, list] of Object.entries(got)) {
    out[name] = { p50: med(list.map((s) => s.p50)), p99: med(list.map((s) => s.p99)), avg: med(list.map((s) => s.avg)) };
  }
  return out;
}

export async function peerSuite(): Promise<Row[]> {
  const baselinePath = process.env.BENCH_BASELINE_CORE;
  const currentPath = process.env.BENCH_CORE;
  const cores: Record<string, Core> = { toolgate: currentPath ? ((await import(pathToFileURL(currentPath).href)) as Core) : current };
  if (baselinePath) cores['toolgate (before)'] = (await import(pathToFileURL(baselinePath).href)) as Core;
  const docs = documents();
  const peer = peerEngines();
  const rows: Row[] = [];
  const G = 'peer';
  const ctx = { tool: 'transfer', args: ARGS, agent: 'bot' };

  const push = (name: string, target: { key: string; goal?: number } | null, res: Record<string, { p50: number; p99: number; avg: number }>): void => {
    const p = res.peer!;
    for (const [side, s] of Object.entries(res)) {
      if (side === 'peer') continue;
      const before = res['toolgate (before)'];
      const vsBefore = before && side === 'toolgate' ? `; ${(s.p50 / before.p50).toFixed(2)}× before` : '';
      const met = target?.goal !== undefined && side === 'toolgate' ? s.p50 <= target.goal && s.p50 < p.p50 : side === 'toolgate' ? s.p50 < p.p50 : null;
      rows.push({
        group: G,
        name: `${name} — ${side}`,
        p50: ns(s.p50),
        p99: ns(s.p99),
        extra: `${(s.p50 / p.p50).toFixed(3)}× peer p50${vsBefore}`,
        target: side === 'toolgate' ? `< peer${target?.goal !== undefined ? `, ≤ ${ns(target.goal)} p50` : ''}` : '',
        met,
      });
    }
    rows.push({ group: G, name: `${name} — @microsoft/agent-governance-sdk`, p50: ns(p.p50), p99: ns(p.p99), extra: `${Math.round(1e9 / p.avg).toLocaleString('en-US')}/s`, target: '', met: null });
  };

  // --- policy alone ------------------------------------------------------------------------------
  const labels: Record<string, [string, number | undefined]> = {
    none: ['policy, no rule', undefined],
    one: ['policy, 1 rule', 1_000],
    spread: ['policy, 100 rules over 50 tools (2 apply)', 5_000],
    all: ['policy, 100 rules that all apply', 5_000],
  };
  for (const key of Object.keys(labels)) {
    const sides: Record<string, Fn> = {};
    for (const [side, core] of Object.entries(cores)) {
      const compiled = core.compilePolicy(core.parsePolicy(docs[key]));
      const digest = core.callDigest('transfer', ARGS);
      const input = { tool: 'transfer', args: ARGS, digest, agent: { id: 'bot' } };
      sides[side] = () => do_not_optimize(core.evaluatePolicy(compiled, input));
    }
    const engine = peer[key]!;
    sides.peer = () => do_not_optimize(engine.evaluatePolicy('did:bench:bot', ctx));
    const [label, goal] = labels[key]!;
    push(label, { key, goal }, await interleaved(sides));
  }

  // --- policy + audit record: in memory, then to a file ------------------------------------------
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-peer-bench-'));
  const closers: Array<() => Promise<void> | void> = [];
  try {
    for (const sink of ['memory', 'file'] as const) {
      const sides: Record<string, Fn> = {};
      for (const [side, core] of Object.entries(cores)) {
        const audit = sink === 'memory' ? core.memoryAudit() : core.jsonlAudit(join(dir, `${side.replace(/\W/g, '')}.jsonl`), { fsync: 'batch' });
        const gate = core.createGate({ reviewer: core.policyReviewer(core.parsePolicy(docs.one)), highStakes: ['transfer'], audit, telemetry: false });
        closers.push(() => gate.close());
        let n = 0;
        sides[side] = async () => {
          if (sink === 'memory') {
            const records = (audit as { records: unknown[] }).records;
            if (records.length > 50_000) records.length = 0; // keep memory flat; the chain head lives in the sink
          }
          do_not_optimize(await gate.review({ tool: 'transfer', args: ARGS, callId: `c${++n}`, runId: 'bench', agent: { id: 'bot' } }));
        };
      }
      const engine = peer.one!;
      if (sink === 'memory') {
        // The peer's default logger keeps the last 10,000 entries (it slices the array on every
        // append past that); uncapped, it is trimmed like toolgate's memory sink.
        const capped = new AuditLogger();
        let uncapped = new AuditLogger({ maxEntries: Number.MAX_SAFE_INTEGER });
        sides.peer = async () => {
          const d = engine.evaluatePolicy('did:bench:bot', ctx);
          if (uncapped.length > 50_000) uncapped = new AuditLogger({ maxEntries: Number.MAX_SAFE_INTEGER });
          do_not_optimize(uncapped.log({ agentId: 'did:bench:bot', action: 'transfer', decision: d.allowed ? 'allow' : 'deny' }));
        };
        const res = await interleaved(sides);
        push('policy (1 rule) + audit in memory', { key: 'memory', goal: 10_000 }, res);
        const cappedRes = await interleaved({
          peer: async () => {
            const d = engine.evaluatePolicy('did:bench:bot', ctx);
            do_not_optimize(capped.log({ agentId: 'did:bench:bot', action: 'transfer', decision: d.allowed ? 'allow' : 'deny' }));
          },
        });
        rows.push({ group: G, name: 'policy (1 rule) + audit in memory — peer, default AuditLogger (keeps 10,000)', p50: ns(cappedRes.peer!.p50), p99: ns(cappedRes.peer!.p99), extra: `toolgate ${(res.toolgate!.p50 / cappedRes.peer!.p50).toFixed(3)}× this`, target: '', met: null });
      } else {
        // The peer has no file sink: its entry, as JSON, one line per decision, written with
        // writeSync like toolgate's jsonlAudit (which also fsyncs every 50 ms).
        const fd = openSync(join(dir, 'peer.jsonl'), 'a');
        closers.push(() => closeSync(fd));
        let logger = new AuditLogger({ maxEntries: Number.MAX_SAFE_INTEGER });
        sides.peer = async () => {
          const d = engine.evaluatePolicy('did:bench:bot', ctx);
          if (logger.length > 50_000) logger = new AuditLogger({ maxEntries: Number.MAX_SAFE_INTEGER });
          const e = logger.log({ agentId: 'did:bench:bot', action: 'transfer', decision: d.allowed ? 'allow' : 'deny' });
          writeSync(fd, `${JSON.stringify(e)}\n`);
        };
        push('policy (1 rule) + audit to a JSONL file', { key: 'file', goal: 15_000 }, await interleaved(sides));
      }
    }
  } finally {
    for (const c of closers) await c();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
