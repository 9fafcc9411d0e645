import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEntry, AuditRecord } from '../types';
import { GENESIS_HASH, hashRecord, verifyAuditRecords } from './chain';
import { callbackAudit } from './callback-audit';
import { jsonlAudit, type JsonlAuditSink } from './jsonl-audit';
import { memoryAudit } from './memory-audit';
import { verifyAuditLog } from './verify-audit-log';

let dir: string;
const open: JsonlAuditSink[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'toolgate-audit-'));
});
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

function sink(path: string, options?: Parameters<typeof jsonlAudit>[1]): JsonlAuditSink {
  const s = jsonlAudit(path, options);
  open.push(s);
  return s;
}

function entry(i: number, extra: Partial<AuditEntry> = {}): AuditEntry {
  return {
    id: `rec-${i}`,
    ts: new Date(Date.UTC(2024, 0, 1, 0, 0, i % 60)).toISOString(),
    kind: 'review',
    call: { tool: 'transfer', callId: `call-${i}`, digest: `sha256:${i.toString(16).padStart(64, '0')}`, args: { amount: i, to: `acct-${i}`, password: 'hunter2' } },
    ...extra,
  };
}

function lines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
}

describe('hash chain', () => {
  it('seals records with seq from 1, prevHash links and sha256 of the record text without its hash', () => {
    const mem = memoryAudit();
    const a = mem.append(entry(1));
    const b = mem.append(entry(2));
    expect(a.seq).toBe(1);
    expect(a.prevHash).toBe(GENESIS_HASH);
    expect(GENESIS_HASH).toBe(`sha256:${'0'.repeat(64)}`);
    expect(b.seq).toBe(2);
    expect(b.prevHash).toBe(a.hash);
    expect(a.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(hashRecord(a)).toBe(a.hash);
    expect((a.call.args as { password: string }).password).toBe('[REDACTED]');
    expect(mem.verify()).toMatchObject({ ok: true, records: 2 });
    // Editing content breaks its own hash.
    const edited = { ...b, call: { ...b.call, args: { amount: 1e6 } } };
    expect(verifyAuditRecords([a, edited])).toMatchObject({ ok: false, records: 1, firstBroken: { seq: 2, line: 2 } });
    expect(verifyAuditRecords([a, edited]).firstBroken!.reason).toMatch(/^hash mismatch/);
    // Dropping the first breaks the link of the second.
    expect(verifyAuditRecords([b]).firstBroken!.reason).toMatch(/^prevHash mismatch/);
  });

  it('callbackAudit hands each sealed record over in order and does not advance past a failed delivery', async () => {
    const got: AuditRecord[] = [];
    let failNext = false;
    const s = callbackAudit(async (r) => {
      await new Promise((res) => setTimeout(res, r.seq === 1 ? 5 : 0));
      if (failNext) {
        failNext = false;
        throw new Error('db down');
      }
      got.push(r);
    });
    await Promise.all([s.append(entry(1)), s.append(entry(2))]);
    failNext = true;
    await expect(s.append(entry(3))).rejects.toMatchObject({ code: 'AUDIT_WRITE_FAILED' });
    await s.append(entry(4));
    await s.close();
    expect(got.map((r) => r.id)).toEqual(['rec-1', 'rec-2', 'rec-4']);
    expect(verifyAuditRecords(got)).toMatchObject({ ok: true, records: 3 });
  });
});

describe('jsonlAudit', () => {
  it('writes one redacted record per line and continues the chain across reopen', async () => {
    const path = join(dir, 'audit.jsonl');
    const s1 = sink(path, { fsync: 'always' });
    const r1 = s1.append(entry(1));
    s1.append(entry(2));
    await s1.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).not.toContain('hunter2');

    const s2 = sink(path);
    expect(s2.head).toMatchObject({ seq: 2 });
    expect(s2.recovery).toBeNull();
    const r3 = s2.append(entry(3));
    expect(r3.seq).toBe(3);
    await s2.close();

    const parsed = lines(path).map((l) => JSON.parse(l) as AuditRecord);
    expect(parsed.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(parsed[0]).toEqual(r1);
    expect(parsed[2]!.prevHash).toBe(parsed[1]!.hash);
    expect(await verifyAuditLog(path)).toEqual({ ok: true, records: 3, last: { seq: 3, hash: r3.hash } });
  });

  it('continues a log larger than its 1 MiB read chunk', async () => {
    const path = join(dir, 'big.jsonl');
    const s1 = sink(path, { fsync: 'never' });
    const blob = 'x'.repeat(3000);
    for (let i = 1; i <= 800; i++) s1.append(entry(i, { meta: { blob, i } }));
    await s1.close();
    expect(statSync(path).size).toBeGreaterThan(2 * 1024 * 1024);
    const s2 = sink(path);
    expect(s2.head?.seq).toBe(800);
    s2.append(entry(801));
    await s2.close();
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true, records: 801 });
  });

  it('refuses a second writer on the same file in one process, and appends after close', async () => {
    const path = join(dir, 'audit.jsonl');
    const s = sink(path);
    expect(() => jsonlAudit(path)).toThrow(expect.objectContaining({ code: 'AUDIT_INVALID' }));
    await s.close();
    expect(() => s.append(entry(1))).toThrow(expect.objectContaining({ code: 'AUDIT_WRITE_FAILED' }));
  });

  it('validates its options at construction', () => {
    expect(() => jsonlAudit(join(dir, 'a.jsonl'), { fsync: 'sometimes' as never })).toThrow(expect.objectContaining({ code: 'OPTIONS_INVALID' }));
    expect(() => jsonlAudit(join(dir, 'a.jsonl'), { batchMs: -1 })).toThrow(expect.objectContaining({ code: 'OPTIONS_INVALID' }));
  });

  it('verifyAuditLog finds one corrupted byte in the middle of 1,000 records', async () => {
    const path = join(dir, 'audit.jsonl');
    const s = sink(path, { fsync: 'never' });
    for (let i = 1; i <= 1000; i++) s.append(entry(i));
    await s.close();
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true, records: 1000 });

    // Flip one byte inside record 500's args: amount 500 -> 900.
    const buf = readFileSync(path);
    const text = buf.toString('utf8');
    const lineStart = text.split('\n').slice(0, 499).join('\n').length + 1;
    const at = text.indexOf('"amount":500', lineStart) + '"amount":'.length;
    expect(at).toBeGreaterThan(lineStart);
    buf[at] = '9'.charCodeAt(0);
    writeFileSync(path, buf);

    const result = await verifyAuditLog(path);
    expect(result.ok).toBe(false);
    expect(result.records).toBe(499);
    expect(result.firstBroken).toMatchObject({ seq: 500, line: 500 });
    expect(result.firstBroken!.reason).toMatch(/^hash mismatch/);

    // And a sink will not extend it.
    expect(() => jsonlAudit(path)).toThrow(expect.objectContaining({ code: 'AUDIT_INVALID', message: expect.stringContaining('line 500') }));
  });

  it('verifyAuditLog reports a deleted middle record as a broken link', async () => {
    const path = join(dir, 'audit.jsonl');
    const s = sink(path, { fsync: 'never' });
    for (let i = 1; i <= 20; i++) s.append(entry(i));
    await s.close();
    const all = lines(path);
    all.splice(9, 1); // remove seq 10 (line 10)
    writeFileSync(path, `${all.join('\n')}\n`);
    const result = await verifyAuditLog(path);
    expect(result).toMatchObject({ ok: false, records: 9, firstBroken: { seq: 11, line: 10 } });
    expect(result.firstBroken!.reason).toMatch(/^prevHash mismatch.*seq gap: expected 10, found 11/);
  });

  it('verifyAuditLog reports a garbled middle line as unparsable', async () => {
    const path = join(dir, 'audit.jsonl');
    const s = sink(path, { fsync: 'never' });
    for (let i = 1; i <= 5; i++) s.append(entry(i));
    await s.close();
    const all = lines(path);
    all[2] = all[2]!.slice(0, 40);
    writeFileSync(path, `${all.join('\n')}\n`);
    expect(await verifyAuditLog(path)).toMatchObject({ ok: false, records: 2, firstBroken: { seq: null, line: 3, reason: expect.stringMatching(/^unparsable line/) } });
  });

  it('survives a torn last line: verify keeps every complete record, reopen moves the fragment aside and continues', async () => {
    const path = join(dir, 'audit.jsonl');
    const s = sink(path, { fsync: 'never' });
    for (let i = 1; i <= 50; i++) s.append(entry(i));
    await s.close();
    const full = statSync(path).size;
    const lastLine = lines(path)[49]!;
    truncateSync(path, full - Math.floor(lastLine.length / 2)); // crash mid-write of record 50

    const torn = await verifyAuditLog(path);
    expect(torn.ok).toBe(true);
    expect(torn.records).toBe(49);
    expect(torn.tornTail).toEqual({ line: 50, bytes: lastLine.length + 1 - Math.floor(lastLine.length / 2) });
    expect(torn.last?.seq).toBe(49);

    const s2 = sink(path);
    expect(s2.recovery).toMatchObject({ tornLine: 50, tornBytes: torn.tornTail!.bytes });
    expect(s2.recovery!.movedTo).toMatch(/audit\.jsonl\.torn-\d+$/);
    expect(readFileSync(s2.recovery!.movedTo, 'utf8')).toBe(lastLine.slice(0, lastLine.length + 1 - Math.floor(lastLine.length / 2)));
    const next = s2.append(entry(51));
    expect(next.seq).toBe(50);
    await s2.close();

    expect(await verifyAuditLog(path)).toEqual({ ok: true, records: 50, last: { seq: 50, hash: next.hash } });
    expect(readdirSync(dir).filter((f) => f.includes('.torn-'))).toHaveLength(1);
  });

  it('completes a last record whose newline was lost instead of treating it as torn', async () => {
    const path = join(dir, 'audit.jsonl');
    const s = sink(path, { fsync: 'never' });
    s.append(entry(1));
    s.append(entry(2));
    await s.close();
    truncateSync(path, statSync(path).size - 1);
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true, records: 2 });
    const s2 = sink(path);
    expect(s2.recovery).toBeNull();
    s2.append(entry(3));
    await s2.close();
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true, records: 3 });
  });

  it('refuses to open a tampered file (content edited and hash recomputed breaks the next link)', async () => {
    const path = join(dir, 'audit.jsonl');
    const s = sink(path, { fsync: 'never' });
    for (let i = 1; i <= 3; i++) s.append(entry(i));
    await s.close();
    const recs = lines(path).map((l) => JSON.parse(l) as AuditRecord);
    const forged = { ...recs[1]!, call: { ...recs[1]!.call, args: { amount: 1 } } };
    forged.hash = hashRecord(forged);
    recs[1] = forged;
    writeFileSync(path, `${recs.map((r) => JSON.stringify(r)).join('\n')}\n`);
    expect(await verifyAuditLog(path)).toMatchObject({ ok: false, firstBroken: { seq: 3, line: 3, reason: expect.stringMatching(/^prevHash mismatch/) } });
    let error: unknown;
    try {
      jsonlAudit(path);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'AUDIT_INVALID', message: expect.stringContaining('line 3') });
    // Nothing was appended to the tampered file.
    expect(lines(path)).toHaveLength(3);
  });

  it('verifies an empty or missing log sensibly', async () => {
    const path = join(dir, 'empty.jsonl');
    writeFileSync(path, '');
    expect(await verifyAuditLog(path)).toEqual({ ok: true, records: 0 });
    await expect(verifyAuditLog(join(dir, 'nope.jsonl'))).rejects.toMatchObject({ code: 'AUDIT_INVALID' });
  });
});
