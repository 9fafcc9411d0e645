/**
 * Policy at scale: per-rule evaluation cost at 1,000 and 10,000 rules that all apply to the call
 * (a third match: 2 checks each), their ratio (no cliff: ≤ 1.5×), compiled memory per rule, and
 * the size of `evaluated[]`. Sizes are measured interleaved, rounds alternating; with
 * `BENCH_BASELINE_CORE` (see peer.ts) an older core build is measured in the same rounds. Also the
 * call digest of ~1 MB of object-heavy arguments against `JSON.stringify` of the same (≤ 3×).
 */
import { pathToFileURL } from 'node:url';
import * as current from '@toolgate/core';
import { do_not_optimize, measure } from 'mitata';
import { ns, type Row } from '../lib/stats.ts';

type Core = typeof current;
const ROUNDS = Number(process.env.BENCH_PEER_ROUNDS ?? 3);
const SIZES = [1_000, 10_000] as const;
const ARGS = { amount: 500, currency: 'EUR' };

function doc(n: number): unknown {
  return {
    version: 1,
    default: 'deny',
    rules: Array.from({ length: n }, (_, i) => ({
      id: `rule-${i}`,
      tools: ['transfer'],
      when: [
        { field: 'args.amount', op: i % 3 === 0 ? 'lte' : 'gt', value: 1000 + i },
        { field: 'args.currency', op: 'in', value: ['EUR', 'USD'] },
      ],
      verdict: i % 3 === 0 ? 'allow' : 'review',
    })),
  };
}

/** Heap bytes per rule held by a compiled policy (its validated copy included), after forced GC. */
function bytesPerRule(core: Core, n: number): number | undefined {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return undefined;
  const parsed = core.parsePolicy(doc(n));
  gc();
  const before = process.memoryUsage().heapUsed;
  const compiled = core.compilePolicy(parsed);
  gc();
  const after = process.memoryUsage().heapUsed;
  do_not_optimize(compiled);
  return (after - before) / n;
}

export async function policyScaleSuite(): Promise<Row[]> {
  const cores: Record<string, Core> = { toolgate: process.env.BENCH_CORE ? ((await import(pathToFileURL(process.env.BENCH_CORE).href)) as Core) : current };
  if (process.env.BENCH_BASELINE_CORE) cores['before'] = (await import(pathToFileURL(process.env.BENCH_BASELINE_CORE).href)) as Core;
  const p50s: Record<string, number[]> = {};
  const p99s: Record<string, number[]> = {};
  const sizes: Record<string, { evaluated: number; omitted: number; json: number }> = {};
  const compiled = new Map<string, ReturnType<Core['compilePolicy']>>();
  for (const [side, core] of Object.entries(cores)) for (const n of SIZES) compiled.set(`${side} ${n}`, core.compilePolicy(core.parsePolicy(doc(n))));
  for (let r = 0; r < ROUNDS; r++) {
    const sides = Object.entries(cores);
    if (r % 2 === 1) sides.reverse();
    for (const n of SIZES) {
      for (const [side, core] of sides) {
        const c = compiled.get(`${side} ${n}`)!;
        const input = { tool: 'transfer', args: ARGS, digest: core.callDigest('transfer', ARGS) };
        const s = await measure(() => do_not_optimize(core.evaluatePolicy(c, input)), { min_cpu_time: 200 * 1e6 });
        (p50s[`${side} ${n}`] ??= []).push(s.p50);
        (p99s[`${side} ${n}`] ??= []).push(s.p99);
        const res = core.evaluatePolicy(c, input) as { evaluated: unknown[]; evaluatedOmitted?: number };
        sizes[`${side} ${n}`] = { evaluated: res.evaluated.length, omitted: res.evaluatedOmitted ?? 0, json: JSON.stringify(res).length };
      }
    }
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const rows: Row[] = [];
  for (const side of Object.keys(cores)) {
    const per = SIZES.map((n) => med(p50s[`${side} ${n}`]!) / n);
    const ratio = per[1]! / per[0]!;
    for (const [i, n] of SIZES.entries()) {
      const z = sizes[`${side} ${n}`]!;
      const mem = bytesPerRule(cores[side]!, n);
      rows.push({
        group: 'policy scale',
        name: `evaluatePolicy, ${n.toLocaleString('en-US')} rules that all apply — ${side}; evaluated ${z.evaluated} kept + ${z.omitted} counted, result ${(z.json / 1024).toFixed(0)} KiB; compiled ${mem === undefined ? 'n/a (run node with --expose-gc)' : `${Math.round(mem)} B/rule`}`,
        p50: ns(med(p50s[`${side} ${n}`]!)),
        p99: ns(med(p99s[`${side} ${n}`]!)),
        extra: `${ns(per[i]!)}/rule${i === 1 ? `; ${ratio.toFixed(2)}× the per-rule cost at 1,000` : ''}`,
        target: side === 'toolgate' ? (i === 1 ? '≤ 1.5× per rule; ≤ 500 B/rule' : '≤ 500 B/rule') : '',
        met: side === 'toolgate' ? (i === 1 ? ratio <= 1.5 && (mem ?? Infinity) <= 500 : (mem ?? Infinity) <= 500) : null,
      });
    }
  }
  rows.push(...(await digestRows(cores)));
  return rows;
}

/**
 * The call digest of ~1 MB of object-heavy arguments (10,000 small objects) against
 * `JSON.stringify` of the same value, interleaved: the goal is ≤ 3× (the digest is canonical
 * JSON — sorted keys, checked values — plus SHA-256 of it).
 */
async function digestRows(cores: Record<string, Core>): Promise<Row[]> {
  const args = { items: Array.from({ length: 10_000 }, (_, i) => ({ sku: `sku-${i}`, qty: i % 7, price: i * 1.25, tags: ['a', 'bb'], meta: { ok: i % 2 === 0, note: null } })) };
  const bytes = JSON.stringify(args).length;
  const p50s: Record<string, number[]> = {};
  for (let r = 0; r < ROUNDS; r++) {
    const sides: Array<[string, () => unknown]> = [['JSON.stringify', () => JSON.stringify(args)], ...Object.entries(cores).map(([side, core]) => [side, () => core.callDigest('bulk', args)] as [string, () => unknown])];
    if (r % 2 === 1) sides.reverse();
    for (const [side, fn] of sides) (p50s[side] ??= []).push((await measure(() => do_not_optimize(fn()), { min_cpu_time: 300 * 1e6 })).p50);
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = med(p50s['JSON.stringify']!);
  const rows: Row[] = [{ group: 'digest', name: `JSON.stringify of ${(bytes / 2 ** 20).toFixed(2)} MiB of object-heavy args (10,000 objects)`, p50: ns(base), p99: '', extra: `${(base / bytes).toFixed(1)} ns/B`, target: '', met: null }];
  for (const side of Object.keys(cores)) {
    const p = med(p50s[side]!);
    rows.push({ group: 'digest', name: `callDigest of the same args — ${side}`, p50: ns(p), p99: '', extra: `${(p / base).toFixed(2)}× JSON.stringify; ${(p / bytes).toFixed(1)} ns/B`, target: side === 'toolgate' ? '≤ 3× JSON.stringify' : '', met: side === 'toolgate' ? p / base <= 3 : null });
  }
  return rows;
}
