/**
 * Durability: 1,000 concurrent gated calls lose no audit record; a writer killed with SIGKILL
 * mid-stream leaves a chain that verifies up to the last complete record, and a torn tail is
 * reported, not fatal.
 */
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGate, jsonlAudit, policyReviewer, verifyAuditLog } from '@toolgate/core';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'toolgate-rel-'));
const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);

describe('concurrency', () => {
  it('1,000 concurrent gated calls: exactly 1,000 review records in the JSONL file, and it verifies', async () => {
    const path = join(tmp(), 'audit.jsonl');
    const audit = jsonlAudit(path, { fsync: 'batch' });
    let ran = 0;
    const gate = createGate({
      reviewer: policyReviewer({ version: 1, default: 'deny', rules: [{ id: 'small', tools: ['transfer'], when: [{ field: 'args.amount', op: 'lte', value: 500 }], verdict: 'allow' }] }),
      highStakes: ['transfer'],
      audit,
      telemetry: false,
    });
    const decisions = await Promise.all(
      Array.from({ length: 1_000 }, async (_, i) => {
        const d = await gate.review({ tool: 'transfer', args: { amount: i }, callId: `c${i}`, runId: 'conc' });
        if (d.verdict === 'allow') ran += 1;
        return d;
      }),
    );
    await gate.close();
    expect(ran).toBe(501); // amounts 0..500
    expect(new Set(decisions.map((d) => d.auditId)).size).toBe(1_000);
    const records = lines(path).map((l) => JSON.parse(l) as { kind: string; call: { callId: string } });
    expect(records.filter((r) => r.kind === 'review')).toHaveLength(1_000);
    expect(new Set(records.map((r) => r.call.callId)).size).toBe(1_000);
    const v = await verifyAuditLog(path);
    expect(v).toMatchObject({ ok: true, records: 1_000 });
  });
});

describe('crash (kill -9 while writing)', () => {
  it('the surviving chain verifies; a torn tail is reported, moved aside, and the log continues', async () => {
    const dir = tmp();
    const path = join(dir, 'audit.jsonl');
    const bundle = join(dir, 'writer.mjs');
    execFileSync(join(root, 'node_modules/.bin/esbuild'), [
      join(root, 'test/reliability/support/audit-writer-child.ts'),
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--log-level=warning',
      `--alias:@toolgate/core=${join(root, 'packages/core/src/index.ts')}`,
      `--outfile=${bundle}`,
      // CJS dependencies bundled into ESM need require().
      `--banner:js=import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);`,
    ]);
    const child = spawn(process.execPath, [bundle, path], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // Let it write for a while, then SIGKILL it mid-stream.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      try {
        if (statSync(path).size > 4 * 1024 * 1024) break;
      } catch {
        // not created yet
      }
    }
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
    child.kill('SIGKILL');
    expect(await exited, stderr).toBe('SIGKILL');

    const survived = await verifyAuditLog(path);
    expect(survived.ok).toBe(true);
    expect(survived.records).toBeGreaterThan(500);

    // A power cut can leave half a line: simulate that on top of what survived.
    appendFileSync(path, '{"id":"torn","seq":');
    const torn = await verifyAuditLog(path);
    expect(torn.ok).toBe(true);
    expect(torn.records).toBe(survived.records);
    expect(torn.tornTail).toBeDefined();

    // The next writer moves the fragment aside and continues the chain.
    const sink = jsonlAudit(path);
    expect(sink.recovery?.movedTo).toMatch(/\.torn-\d+$/);
    sink.append({ id: 'after', ts: new Date().toISOString(), kind: 'admin', call: { tool: 'transfer', digest: '' }, meta: { note: 'after crash' } });
    await sink.close();
    const after = await verifyAuditLog(path);
    expect(after).toMatchObject({ ok: true, records: torn.records + 1 });
    expect(after.tornTail).toBeUndefined();
  });
});
