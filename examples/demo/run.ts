// `pnpm demo`: the zero-LLM tour of toolgate. Starts the reference review server embedded on a free
// loopback port with the demo policy, runs a scripted agent in each of the three frameworks through
// it, approves or rejects the pending reviews as a human would (through the API), prints what was
// decided and what ran, then verifies the audit chains. No model, no key, no network.
//
// `pnpm demo -- --replicas 2`: the same tour against two review servers on one embedded PostgreSQL
// (started and stopped here, like the tests do). The gates alternate between the replicas and the human
// always answers through another replica than the one the gate submitted to, so every human approval
// crosses replicas: submitted on A, decided on B, and the gate's long-poll on A is woken by B's decision.
import { rmSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createGate, httpReviewer, jsonlAudit, verifyAuditLog, type Gate } from '@toolgate/core';
import { createReviewServer, type ReviewServer } from '@toolgate/reviewer';
import { request } from 'undici';
import { startPostgres, type StartedPostgres } from '../../test/support/embedded-postgres.ts';
import { run as runAiSdk } from '../ai-sdk-tools/scenario.ts';
import { startApiHuman, type ApiHuman, type ScenarioRow } from './api-human.ts';
import { run as runLangGraph } from '../langgraph-interrupt/scenario.ts';
import { run as runOpenAI } from '../openai-agents-runner/scenario.ts';

// pnpm may hand the script a literal `--` before the flags: ignore it.
const { values: flags } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: { replicas: { type: 'string', default: '1' } },
});
const replicaCount = Number(flags.replicas);
if (!Number.isInteger(replicaCount) || replicaCount < 1 || replicaCount > 8) {
  console.error('usage: pnpm demo [-- --replicas N]   (N from 1 to 8; N > 1 runs N replicas on an embedded PostgreSQL)');
  process.exit(2);
}

const here = fileURLToPath(new URL('.', import.meta.url));
const dataDir = resolve(process.cwd(), '.toolgate', 'demo');
rmSync(dataDir, { recursive: true, force: true });
mkdirSync(dataDir, { recursive: true });
const policy = join(here, 'policy.yaml');
const letter = (i: number): string => String.fromCharCode(65 + i);

let postgres: StartedPostgres | undefined;
const servers: ReviewServer[] = [];
let exitCode = 0;
try {
  exitCode = await main();
} finally {
  for (const s of servers) await s.close().catch(() => undefined);
  if (postgres) await postgres.stop();
}
process.exit(exitCode);

async function main(): Promise<number> {
  if (replicaCount > 1) {
    console.log('starting an embedded PostgreSQL on 127.0.0.1 …');
    postgres = await startPostgres();
    for (let i = 0; i < replicaCount; i++) servers.push(createReviewServer({ database: postgres.url, policy, port: 0 }));
  } else {
    servers.push(createReviewServer({ dataDir, policy, port: 0 }));
  }
  // Keys live in the store: on PostgreSQL a key created through one replica is valid on all of them.
  const approverKey = servers[0]!.keys.create('approve', 'demo-human');
  const urls: string[] = [];
  for (const s of servers) urls.push(await s.listen());
  if (replicaCount > 1) {
    urls.forEach((u, i) => console.log(`replica ${letter(i)} ${u}  (dashboard at ${u}/)`));
    console.log('one PostgreSQL, policy examples/demo/policy.yaml\n');
  } else {
    console.log(`reviewer  ${urls[0]}  (dashboard at ${urls[0]}/, policy examples/demo/policy.yaml)\n`);
  }

  // The human: answers each pending review through the API, the way the dashboard would.
  // Transfers up to 10 000 are approved; anything else that reaches a human is rejected.
  const decisions: ApiHuman['decisions'] = [];
  const humanAt = (url: string): ApiHuman =>
    startApiHuman({
      url,
      apiKey: approverKey,
      decide: (r) => {
        const approve = r.tool === 'transfer' && Number(r.args.amount ?? Infinity) <= 10_000;
        return { approved: approve, reason: approve ? 'ops-lead: known supplier, approved' : 'ops-lead: not on the approved list' };
      },
    });

  /** One gate per framework: its own agent key, signed proofs required, its own audit file. */
  function gateFor(framework: string, highStakes: string[], at: number): Gate {
    const url = urls[at]!;
    // The key is created through the replica the gate talks to: `keys.create` is synchronous and on
    // PostgreSQL its insert is queued; that replica waits for it, another one may not have seen it yet.
    return createGate({
      reviewer: httpReviewer({ url, apiKey: servers[at]!.keys.create('eval', `${framework}-agent`) }),
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

  const rows: Array<ScenarioRow & { replica: string }> = [];
  const scenarios: Array<[string, string[], (gate: Gate) => Promise<ScenarioRow[]>]> = [
    ['openai-agents', ['transfer', 'deploy_*'], (gate) => runOpenAI({ gate })],
    ['langgraph', ['transfer', 'shell'], (gate) => runLangGraph({ gate })],
    ['ai-sdk', ['transfer', 'shell'], (gate) => runAiSdk({ gate })],
  ];
  for (const [n, [framework, highStakes, runScenario]] of scenarios.entries()) {
    // Round-robin: framework n submits (and long-polls) on replica n, the human answers on replica n + 1.
    const gateAt = n % urls.length;
    const humanIdx = (n + 1) % urls.length;
    const human = humanAt(urls[humanIdx]!);
    const gate = gateFor(framework, highStakes, gateAt);
    try {
      for (const row of await runScenario(gate)) {
        rows.push({ ...row, replica: row.source === 'human' ? `${letter(gateAt)}→${letter(humanIdx)}` : letter(gateAt) });
      }
    } finally {
      await gate.close();
      await human.stop();
      decisions.push(...human.decisions);
    }
  }

  printTable(rows, replicaCount > 1);
  console.log();
  for (const d of decisions) console.log(`human ${d.approved ? 'approved' : 'rejected'} ${d.tool} ${JSON.stringify(d.args)} (review ${d.id})`);

  // Every row must hold the gate's promise: it ran if and only if it was allowed.
  const broken = rows.filter((r) => r.executed !== (r.verdict === 'allow' || r.verdict === 'allow_with_conditions'));
  // With replicas, a call that failed closed means a replica did not answer: safe, but not the tour we promised.
  const unanswered = replicaCount > 1 ? rows.filter((r) => r.source === 'fail_closed').length : 0;

  console.log('\naudit');
  let chainsOk = true;
  if (replicaCount > 1) {
    // One hash chain across replicas, in PostgreSQL: ask the last replica to verify it.
    const at = urls.length - 1;
    const res = await request(`${urls[at]}/v1/audit/verify`, { headers: { authorization: `Bearer ${approverKey}` } });
    const body = (await res.body.json()) as { ok?: boolean; table?: { records?: number } };
    const ok = res.statusCode === 200 && body.ok === true;
    chainsOk &&= ok;
    console.log(`  ${ok ? 'ok    ' : 'BROKEN'} ${String(body.table?.records ?? '?').padStart(3)} records  server chain in PostgreSQL (GET /v1/audit/verify on replica ${letter(at)})`);
  }
  for (const s of servers) await s.close();
  servers.length = 0;
  const files = replicaCount > 1 ? [] : ['audit.jsonl'];
  files.push('gate-openai-agents.jsonl', 'gate-langgraph.jsonl', 'gate-ai-sdk.jsonl');
  for (const file of files) {
    const path = join(dataDir, file);
    const v = await verifyAuditLog(path);
    chainsOk &&= v.ok;
    console.log(`  ${v.ok ? 'ok    ' : 'BROKEN'} ${String(v.records).padStart(3)} records  ${relative(process.cwd(), path)}`);
  }
  if (replicaCount > 1) {
    console.log(`\nfiles in ${relative(process.cwd(), dataDir)}/: gate-*.jsonl (each gate's trail); reviews, keys, signing key and the server chain were in the embedded PostgreSQL (removed now)`);
  } else {
    console.log(`\nfiles in ${relative(process.cwd(), dataDir)}/: toolgate.db (SQLite), audit.jsonl (server trail), gate-*.jsonl (each gate's trail), signing-keys.json`);
    console.log(`verify any trail again with: pnpm exec toolgate audit verify ${relative(process.cwd(), join(dataDir, 'audit.jsonl'))}`);
  }

  if (broken.length > 0 || !chainsOk || unanswered > 0) {
    console.error(`\nFAILED: ${broken.length} row(s) where "executed" disagrees with the verdict; audit chains ${chainsOk ? 'ok' : 'broken'}${unanswered > 0 ? `; ${unanswered} call(s) failed closed (a replica did not answer)` : ''}`);
    return 1;
  }
  return 0;
}

function printTable(list: Array<ScenarioRow & { replica: string }>, withReplica: boolean): void {
  const head = ['framework', 'tool', 'args', 'verdict', 'source', 'executed'];
  if (withReplica) head.push('replica');
  const cells = list.map((r) => {
    const c = [r.framework, r.tool, short(JSON.stringify(r.args)), r.verdict, r.source, r.executed ? 'yes' : 'no'];
    if (withReplica) c.push(r.replica);
    return c;
  });
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i]!)).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
  if (withReplica) console.log('\nreplica: where the gate submitted and long-polled; X→Y = the human decided on Y and X answered the waiting gate');
}

function short(s: string): string {
  return s.length > 42 ? `${s.slice(0, 41)}…` : s;
}
