// `pnpm demo`: the zero-LLM tour of toolgate. Starts the reference review server embedded on a free
// loopback port with the demo policy, runs a scripted agent in each of the three frameworks through
// it, approves or rejects the pending reviews as a human would (through the API), prints what was
// decided and what ran, then verifies the audit chains. No model, no key, no network.
import { rmSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGate, httpReviewer, jsonlAudit, verifyAuditLog, type Gate } from '@toolgate/core';
import { createReviewServer } from '@toolgate/reviewer';
import { run as runAiSdk } from '../ai-sdk-tools/scenario.ts';
import { startApiHuman, type ScenarioRow } from './api-human.ts';
import { run as runLangGraph } from '../langgraph-interrupt/scenario.ts';
import { run as runOpenAI } from '../openai-agents-runner/scenario.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const dataDir = resolve(process.cwd(), '.toolgate', 'demo');
rmSync(dataDir, { recursive: true, force: true });
mkdirSync(dataDir, { recursive: true });

const server = createReviewServer({ dataDir, policy: join(here, 'policy.yaml'), port: 0 });
const approverKey = server.keys.create('approve', 'demo-human');
const url = await server.listen();
console.log(`reviewer  ${url}  (dashboard at ${url}/, policy examples/demo/policy.yaml)\n`);

// The human: answers each pending review through the API, the way the dashboard would.
// Transfers up to 10 000 are approved; anything else that reaches a human is rejected.
const human = startApiHuman({
  url,
  apiKey: approverKey,
  decide: (r) => {
    const approve = r.tool === 'transfer' && Number(r.args.amount ?? Infinity) <= 10_000;
    return { approved: approve, reason: approve ? 'ops-lead: known supplier, approved' : 'ops-lead: not on the approved list' };
  },
});

/** One gate per framework: its own agent key, signed proofs required, its own audit file. */
function gateFor(framework: string, highStakes: string[]): Gate {
  return createGate({
    reviewer: httpReviewer({ url, apiKey: server.keys.create('eval', `${framework}-agent`) }),
    highStakes,
    failMode: 'closed',
    onReview: 'wait',
    reviewTimeoutMs: 20_000,
    jwksUrl: `${url}/.well-known/jwks.json`,
    requireProof: true,
    agent: `${framework}-agent`,
    audit: jsonlAudit(join(dataDir, `gate-${framework}.jsonl`)),
  });
}

const rows: ScenarioRow[] = [];
const scenarios: Array<[string, string[], (gate: Gate) => Promise<ScenarioRow[]>]> = [
  ['openai-agents', ['transfer', 'deploy_*'], (gate) => runOpenAI({ gate })],
  ['langgraph', ['transfer', 'shell'], (gate) => runLangGraph({ gate })],
  ['ai-sdk', ['transfer', 'shell'], (gate) => runAiSdk({ gate })],
];
try {
  for (const [framework, highStakes, runScenario] of scenarios) {
    const gate = gateFor(framework, highStakes);
    rows.push(...(await runScenario(gate)));
    await gate.close();
  }
} finally {
  await human.stop();
}

printTable(rows);
console.log();
for (const d of human.decisions) console.log(`human ${d.approved ? 'approved' : 'rejected'} ${d.tool} ${JSON.stringify(d.args)} (review ${d.id})`);

// Every row must hold the gate's promise: it ran if and only if it was allowed.
const broken = rows.filter((r) => r.executed !== (r.verdict === 'allow' || r.verdict === 'allow_with_conditions'));

await server.close();
console.log('\naudit');
let chainsOk = true;
for (const file of ['audit.jsonl', 'gate-openai-agents.jsonl', 'gate-langgraph.jsonl', 'gate-ai-sdk.jsonl']) {
  const path = join(dataDir, file);
  const v = await verifyAuditLog(path);
  chainsOk &&= v.ok;
  console.log(`  ${v.ok ? 'ok    ' : 'BROKEN'} ${String(v.records).padStart(3)} records  ${relative(process.cwd(), path)}`);
}
console.log(`\nfiles in ${relative(process.cwd(), dataDir)}/: toolgate.db (SQLite), audit.jsonl (server trail), gate-*.jsonl (each gate's trail), signing-keys.json`);
console.log(`verify any trail again with: pnpm exec toolgate audit verify ${relative(process.cwd(), join(dataDir, 'audit.jsonl'))}`);

if (broken.length > 0 || !chainsOk) {
  console.error(`\nFAILED: ${broken.length} row(s) where "executed" disagrees with the verdict; audit chains ${chainsOk ? 'ok' : 'broken'}`);
  process.exit(1);
}

function printTable(list: ScenarioRow[]): void {
  const head = ['framework', 'tool', 'args', 'verdict', 'source', 'executed'];
  const cells = list.map((r) => [r.framework, r.tool, short(JSON.stringify(r.args)), r.verdict, r.source, r.executed ? 'yes' : 'no']);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i]!)).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
}

function short(s: string): string {
  return s.length > 42 ? `${s.slice(0, 41)}…` : s;
}
