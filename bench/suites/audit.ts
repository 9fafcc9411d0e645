/** JSONL audit: hash-chained appends per second with batched fsync, and verifyAuditLog records/s. */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as current from '@toolgate/core';
import type { AuditEntry } from '@toolgate/core';
import { mib, rate, type Row } from '../lib/stats.ts';

const RECORDS = 100_000;

/** The current build, then (with `BENCH_BASELINE_CORE`, see peer.ts) a baseline build, labelled. */
export async function auditSuite(): Promise<Row[]> {
  const rows: Row[] = [];
  const load = async (path: string) => (await import(pathToFileURL(path).href)) as typeof current;
  const cur = process.env.BENCH_CORE ? await load(process.env.BENCH_CORE) : current;
  rows.push(...(await auditRun(cur, '')));
  if (process.env.BENCH_BASELINE_CORE) rows.push(...(await auditRun(await load(process.env.BENCH_BASELINE_CORE), ' — before')));
  return rows;
}

async function auditRun(core: typeof current, label: string): Promise<Row[]> {
  const { jsonlAudit, verifyAuditLog, callDigest } = core;
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-audit-bench-'));
  const path = join(dir, 'audit.jsonl');
  const sink = jsonlAudit(path, { fsync: 'batch', batchMs: 50 });
  const digest = callDigest('transfer', { amount: 10, to: 'acct_42' });
  const entry = (i: number): AuditEntry => ({
    id: `a${i}`,
    ts: new Date().toISOString(),
    kind: 'review',
    call: { tool: 'transfer', callId: `c${i}`, runId: 'bench', agentId: 'bot', digest, args: { amount: 10, to: 'acct_42' } },
    decision: { verdict: 'allow', reason: 'rule "small-transfer" (allow)', conditions: [], evaluated: [], source: 'policy', tool: 'transfer', digest, latencyMs: 0.01 },
  });
  const t0 = performance.now();
  for (let i = 0; i < RECORDS; i++) {
    sink.append(entry(i));
    // Let the batched fsync timer fire, as it would between real calls.
    if (i % 5_000 === 0) await new Promise((r) => setImmediate(r));
  }
  await sink.close();
  const appendS = (performance.now() - t0) / 1_000;
  const bytes = statSync(path).size;
  const t1 = performance.now();
  const result = await verifyAuditLog(path);
  const verifyS = (performance.now() - t1) / 1_000;
  rmSync(dir, { recursive: true, force: true });
  if (!result.ok || result.records !== RECORDS) throw new Error(`audit log did not verify: ${JSON.stringify(result)}`);
  return [
    { group: 'audit', name: `jsonlAudit append, fsync batch (50 ms), ${RECORDS.toLocaleString('en-US')} records, ${mib(bytes)}${label}`, p50: '', p99: '', extra: rate(RECORDS / appendS, ' records/s'), target: 'reported', met: null },
    { group: 'audit', name: `verifyAuditLog (streaming, full chain)${label}`, p50: '', p99: '', extra: rate(RECORDS / verifyS, ' records/s'), target: 'reported', met: null },
  ];
}
