import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalJson } from '../digest/canonical-json';
import type { AuditEntry, AuditRecord } from '../types';
import { GENESIS_HASH, hashRecord, hashRecordV1, sealLine, verifyAuditRecords } from './chain';
import { jsonlAudit } from './jsonl-audit';
import { memoryAudit } from './memory-audit';
import { verifyAuditLog } from './verify-audit-log';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'toolgate-format-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha = (text: string): string => `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;

function entry(i: number): AuditEntry {
  return {
    id: `rec-${i}`,
    ts: '2026-01-01T00:00:00.000Z',
    kind: 'review',
    call: { tool: 'transfer', digest: `sha256:${'a'.repeat(64)}`, args: { amount: 500, note: 'é\u2028', api_key: 'sk-live-123', nested: { token: 't', list: [1, { password: 'p' }] } } },
    decision: { verdict: 'allow', reason: 'ok', digest: `sha256:${'a'.repeat(64)}`, tool: 'transfer' } as AuditEntry['decision'],
  };
}

/** A record as the previous format sealed it: sha256(prevHash + RFC 8785 text), hash 5th. */
function v1Record(e: AuditEntry, prev: { seq: number; hash: string } | null): AuditRecord {
  const head = { id: e.id, seq: prev ? prev.seq + 1 : 1, ts: e.ts, prevHash: prev ? prev.hash : GENESIS_HASH };
  const body = { ...head, kind: e.kind, call: { ...e.call, args: { amount: 1 } } };
  return { ...head, hash: sha(head.prevHash + canonicalJson(body)), kind: body.kind, call: body.call } as AuditRecord;
}

describe('audit record format 2: one serialisation, the hash covers the bytes written', () => {
  it('writes JSON.stringify(record) with hash last, and the hash is sha256 of that text without the hash field', async () => {
    const path = join(dir, 'a.jsonl');
    const sink = jsonlAudit(path);
    const r = sink.append(entry(1));
    await sink.close();
    const line = readFileSync(path, 'utf8').trimEnd();
    expect(line).toBe(JSON.stringify(r));
    expect(Object.keys(r).at(-1)).toBe('hash');
    const withoutHash = line.replace(/,"hash":"sha256:[0-9a-f]{64}"\}$/, '}');
    expect(r.hash).toBe(sha(withoutHash));
    expect(hashRecord(r)).toBe(r.hash);
    // Redacted before the bytes were hashed and written.
    expect(line).not.toContain('sk-live-123');
    expect(line).not.toContain('"p"');
    expect(JSON.parse(line).call.args).toEqual({ amount: 500, note: 'é\u2028', api_key: '[REDACTED]', nested: { token: '[REDACTED]', list: [1, { password: '[REDACTED]' }] } });
    expect(await verifyAuditLog(path)).toEqual({ ok: true, records: 1, last: { seq: 1, hash: r.hash } });
  });

  it('sealLine returns the record and the exact line; memoryAudit records verify', () => {
    const { record, line } = sealLine(entry(1), null);
    expect(line).toBe(JSON.stringify(record));
    const mem = memoryAudit();
    mem.append(entry(1));
    mem.append(entry(2));
    expect(mem.verify()).toMatchObject({ ok: true, records: 2 });
    (mem.records[0]!.call.args as { amount: number }).amount = 501;
    expect(mem.verify()).toMatchObject({ ok: false, firstBroken: { seq: 1, reason: expect.stringMatching(/^hash mismatch/) } });
  });

  it('verifies the exact bytes: an edit that keeps the meaning (5e2 for 500) is a hash mismatch', async () => {
    const path = join(dir, 'b.jsonl');
    const sink = jsonlAudit(path);
    sink.append(entry(1));
    sink.append(entry(2));
    await sink.close();
    const text = readFileSync(path, 'utf8');
    expect(text).toContain('"amount":500');
    writeFileSync(path, text.replace('"amount":500', '"amount":5e2'));
    expect(await verifyAuditLog(path)).toMatchObject({ ok: false, records: 0, firstBroken: { seq: 1, line: 1, reason: expect.stringMatching(/^hash mismatch/) } });
  });

  it('reads old (format 1) logs, and a log continued across the upgrade', async () => {
    const path = join(dir, 'old.jsonl');
    const r1 = v1Record(entry(1), null);
    const r2 = v1Record(entry(2), r1);
    expect(hashRecordV1(r2)).toBe(r2.hash);
    expect(hashRecord(r2)).not.toBe(r2.hash);
    writeFileSync(path, `${JSON.stringify(r1)}\n${JSON.stringify(r2)}\n`);
    expect(await verifyAuditLog(path)).toEqual({ ok: true, records: 2, last: { seq: 2, hash: r2.hash } });
    expect(verifyAuditRecords([r1, r2]).ok).toBe(true);
    // An edited old record still fails.
    writeFileSync(path, `${JSON.stringify(r1)}\n${JSON.stringify({ ...r2, ts: '2027-01-01T00:00:00.000Z' })}\n`);
    expect(await verifyAuditLog(path)).toMatchObject({ ok: false, firstBroken: { seq: 2, reason: expect.stringMatching(/^hash mismatch/) } });
    // Continued by the new writer: format 1 then format 2 in one chain.
    writeFileSync(path, `${JSON.stringify(r1)}\n${JSON.stringify(r2)}\n`);
    const sink = jsonlAudit(path);
    const r3 = sink.append(entry(3));
    await sink.close();
    expect(r3.prevHash).toBe(r2.hash);
    expect(await verifyAuditLog(path)).toEqual({ ok: true, records: 3, last: { seq: 3, hash: r3.hash } });
  });

  it('a record that cannot be serialised is an AUDIT_WRITE_FAILED, and nothing is written', async () => {
    const path = join(dir, 'c.jsonl');
    const sink = jsonlAudit(path);
    const bad = entry(1);
    (bad as { decision: Record<string, unknown> }).decision.extra = 10n;
    expect(() => sink.append(bad)).toThrow(expect.objectContaining({ code: 'AUDIT_WRITE_FAILED' }));
    await sink.close();
    expect(readFileSync(path, 'utf8')).toBe('');
  });
});
