/**
 * In-process costs, measured with mitata: passthrough of an unmatched tool, an AI SDK tool
 * wrapped by withGovernance vs the raw tool, local policy evaluation (1 and 100 rules), and a full
 * in-process review with a memory audit sink.
 */
import { withGovernance } from '@toolgate/ai-sdk';
import {
  callbackReviewer,
  callDigest,
  compilePolicy,
  createGate,
  evaluatePolicy,
  memoryAudit,
  parsePolicy,
  policyReviewer,
  type Policy,
} from '@toolgate/core';
import { do_not_optimize, measure } from 'mitata';
import { ns, type Row } from '../lib/stats.ts';

const TARGET_US = 1_000;

/** One rule: what a small app starts with. */
export const ONE_RULE: Policy = parsePolicy({
  version: 1,
  default: 'deny',
  rules: [{ id: 'small-transfer', tools: ['transfer'], when: [{ field: 'args.amount', op: 'lte', value: 1000 }], verdict: 'allow' }],
});

/** 100 rules that ALL apply to the tool being decided (the worst case: every rule is evaluated). */
export const HUNDRED_RULES: Policy = parsePolicy({
  version: 1,
  default: 'deny',
  rules: Array.from({ length: 100 }, (_, i) => ({
    id: `rule-${i}`,
    tools: i % 2 === 0 ? ['transfer'] : ['trans*'],
    when: [
      { field: 'args.amount', op: i % 3 === 0 ? 'lte' : 'gt', value: 1000 + i * 10 },
      { field: 'args.currency', op: 'in', value: ['EUR', 'USD', 'GBP'] },
    ],
    verdict: i % 3 === 0 ? 'allow' : i === 99 ? 'deny' : 'review',
  })),
});

/** 100 rules spread over 50 tools (2 per tool): the usual shape; only the tool's own rules are evaluated. */
export const HUNDRED_RULES_SPREAD: Policy = parsePolicy({
  version: 1,
  default: 'deny',
  rules: Array.from({ length: 100 }, (_, i) => ({
    id: `rule-${i}`,
    tools: [i < 2 ? 'transfer' : `tool_${Math.floor(i / 2)}`],
    when: [{ field: 'args.amount', op: i % 2 === 0 ? 'lte' : 'gt', value: 1000 }],
    verdict: i % 2 === 0 ? 'allow' : 'review',
  })),
});

type Stats = Awaited<ReturnType<typeof measure>>;
const opts = { min_cpu_time: 400 * 1e6 } as const;

function row(group: string, name: string, s: Stats, target: string, met: boolean | null, extra = ''): Row {
  return { group, name, p50: ns(s.p50), p99: ns(s.p99), extra: extra || `${Math.round(1e9 / s.avg).toLocaleString('en-US')}/s`, target, met };
}

export async function microSuite(): Promise<Row[]> {
  const rows: Row[] = [];
  const G = 'in-process';

  // --- passthrough ---------------------------------------------------------------------------
  const allow = callbackReviewer(() => ({ verdict: 'allow', decidedBy: 'bench' }));
  const gate = createGate({ reviewer: allow, highStakes: ['transfer', 'shell', 'db.*', '*_delete'], telemetry: false });
  const lookupCall = { tool: 'lookup', args: { q: 'weather' }, callId: 'c1' };
  const baseline = await measure(async () => do_not_optimize(await Promise.resolve(lookupCall)), opts);
  const review = await measure(async () => do_not_optimize(await gate.review(lookupCall)), opts);
  const match = await measure(() => do_not_optimize(gate.isHighStakes('lookup')), opts);
  const added = review.p50 - baseline.p50;
  rows.push(row(G, 'isHighStakes(unmatched) (sync)', match, '< 1 µs', match.p50 < TARGET_US));
  rows.push(row(G, 'await Promise.resolve() (baseline)', baseline, '', null));
  rows.push(row(G, 'await gate.review(unmatched)', review, '< 1 µs added', added < TARGET_US, `+${ns(added)} over baseline`));

  // --- AI SDK: withGovernance vs raw tool --------------------------------------------------------
  const rawLookup = { description: 'lookup', inputSchema: undefined as never, execute: async (input: { q: string }) => input.q.length };
  const rawTransfer = { description: 'transfer', inputSchema: undefined as never, execute: async (input: { amount: number }) => input.amount };
  const aiGate = createGate({ reviewer: allow, highStakes: ['transfer'], telemetry: false });
  const governed = withGovernance({ lookup: rawLookup, transfer: rawTransfer } as never, aiGate) as unknown as {
    lookup: typeof rawLookup;
    transfer: { execute: (input: { amount: number }, options: { toolCallId: string; messages: never[] }) => Promise<unknown> };
  };
  const execOpts = { toolCallId: 't', messages: [] as never[] };
  const rawExec = await measure(async () => do_not_optimize(await rawLookup.execute({ q: 'x' })), opts);
  const wrappedExec = await measure(async () => do_not_optimize(await governed.lookup.execute({ q: 'x' })), opts);
  rows.push(row('ai-sdk', 'raw tool execute (baseline)', rawExec, '', null));
  rows.push(
    row('ai-sdk', `withGovernance unmatched execute (same object: ${governed.lookup === rawLookup})`, wrappedExec, '< 1 µs added', wrappedExec.p50 - rawExec.p50 < TARGET_US, `+${ns(wrappedExec.p50 - rawExec.p50)}`),
  );
  let n = 0;
  const rawHigh = await measure(async () => do_not_optimize(await rawTransfer.execute({ amount: 5 })), opts);
  const wrappedHigh = await measure(async () => do_not_optimize(await governed.transfer.execute({ amount: 5 }, { ...execOpts, toolCallId: `t${++n}` })), opts);
  rows.push(
    row('ai-sdk', 'withGovernance high-stakes, allowed (callback reviewer, no audit)', wrappedHigh, 'reported', null, `+${ns(wrappedHigh.p50 - rawHigh.p50)} over raw`),
  );

  // --- policy ------------------------------------------------------------------------------------
  const digest = callDigest('transfer', { amount: 500, currency: 'EUR' });
  const input = { tool: 'transfer', args: { amount: 500, currency: 'EUR' }, digest, agent: { id: 'bot' } };
  const one = compilePolicy(ONE_RULE);
  const hundred = compilePolicy(HUNDRED_RULES);
  const e1 = await measure(() => do_not_optimize(evaluatePolicy(one, input)), opts);
  const e100 = await measure(() => do_not_optimize(evaluatePolicy(hundred, input)), opts);
  const spread = compilePolicy(HUNDRED_RULES_SPREAD);
  const e100s = await measure(() => do_not_optimize(evaluatePolicy(spread, input)), opts);
  rows.push(row('policy', 'evaluatePolicy, 1 rule', e1, '≤ 1 µs p50', e1.p50 <= 1_000));
  rows.push(row('policy', 'evaluatePolicy, 100 rules over 50 tools (2 apply)', e100s, '≤ 5 µs p50', e100s.p50 <= 5_000));
  rows.push(row('policy', 'evaluatePolicy, 100 rules that ALL apply (worst case)', e100, '≤ 5 µs p50', e100.p50 <= 5_000));

  // --- full in-process review: without audit, then with a memory audit sink ----------------------
  const noAudit = createGate({ reviewer: policyReviewer(ONE_RULE), highStakes: ['transfer'], telemetry: false });
  let m = 0;
  const noAuditStats = await measure(async () => {
    do_not_optimize(await noAudit.review({ tool: 'transfer', args: { amount: 500, currency: 'EUR' }, callId: `c${++m}`, runId: 'bench' }));
  }, opts);
  rows.push(row('policy', 'gate.review: policy (1 rule), no audit sink', noAuditStats, '', null));
  await noAudit.close();
  const audit = memoryAudit();
  const full = createGate({ reviewer: policyReviewer(ONE_RULE), highStakes: ['transfer'], audit, telemetry: false });
  let k = 0;
  const fullStats = await measure(async () => {
    if (audit.records.length > 50_000) audit.records.length = 0; // keep memory flat; the chain head lives in the sink
    do_not_optimize(await full.review({ tool: 'transfer', args: { amount: 500, currency: 'EUR' }, callId: `c${++k}`, runId: 'bench' }));
  }, opts);
  rows.push(row('policy', 'gate.review: policy (1 rule) + memoryAudit', fullStats, '≤ 10 µs p50', fullStats.p50 <= 10_000));
  await gate.close();
  await aiGate.close();
  await full.close();
  return rows;
}
