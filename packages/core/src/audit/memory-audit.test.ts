import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { AuditEntry, AuditRecord } from '../types';
import { sealLine, verifyAuditRecords, type ChainHead } from './chain';
import { APPEND_KEPT, memoryAudit, type KeepingSink } from './memory-audit';

function entry(i: number): AuditEntry {
  return {
    id: `rec-${i}`,
    ts: '2026-01-01T00:00:00.000Z',
    kind: 'review',
    call: { tool: 'transfer', digest: `sha256:${'a'.repeat(64)}`, callId: `c${i}`, args: { amount: i, api_key: 'sk-live-123', nested: { list: [1, { password: 'p' }] } } },
    decision: { verdict: 'allow', reason: 'ok', source: 'policy', digest: `sha256:${'a'.repeat(64)}`, tool: 'transfer', conditions: [], evaluated: [], latencyMs: 0.5 },
  };
}

/** The records a plain array of sealed records would hold (what memoryAudit kept before). */
function expected(n: number): AuditRecord[] {
  const out: AuditRecord[] = [];
  let head: ChainHead | null = null;
  for (let i = 1; i <= n; i++) {
    const { record } = sealLine(entry(i), head);
    out.push(record);
    head = { seq: record.seq, hash: record.hash };
  }
  return out;
}

/** A memory sink filled the way a gate fills it (records kept as their sealed lines). */
function filledByGate(n: number) {
  const sink = memoryAudit();
  for (let i = 1; i <= n; i++) (sink as unknown as KeepingSink)[APPEND_KEPT](entry(i));
  return sink;
}

describe('memoryAudit: records a gate wrote (kept as sealed lines) read as the same records', () => {
  it('indexes, length, iteration, array methods, spread and JSON give what a plain array of the sealed records gives', () => {
    const want = expected(5);
    const sink = filledByGate(5);
    const r = sink.records;
    expect(Array.isArray(r)).toBe(true);
    expect(r).toHaveLength(5);
    expect(r[0]).toEqual(want[0]);
    expect(r.at(-1)).toEqual(want[4]);
    expect(r[5]).toBeUndefined();
    expect(r).toEqual(want);
    expect([...r]).toEqual(want);
    expect(r.map((x) => x.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(r.filter((x) => x.seq % 2 === 0).map((x) => x.id)).toEqual(['rec-2', 'rec-4']);
    expect(r.find((x) => x.id === 'rec-3')?.seq).toBe(3);
    expect(Object.keys(r)).toEqual(['0', '1', '2', '3', '4']);
    expect(2 in r).toBe(true);
    expect(JSON.stringify(r)).toBe(JSON.stringify(want));
    const seen: number[] = [];
    for (const x of r) seen.push(x.seq);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    // The same object on every read, so a reader's mutation is what verify() sees.
    expect(r[1]).toBe(r[1]);
    expect(verifyAuditRecords(r)).toMatchObject({ ok: true, records: 5 });
  });

  it('redacts before keeping: the kept line holds no secret', () => {
    const sink = filledByGate(1);
    expect(JSON.stringify(sink.records[0])).not.toContain('sk-live-123');
    expect(JSON.stringify(sink.records[0])).not.toContain('"p"');
  });

  it('verify() checks unread lines by their bytes and read records by their JSON text; a mutation of a read record is a hash mismatch', () => {
    const sink = filledByGate(4);
    expect(sink.verify()).toMatchObject({ ok: true, records: 4 });
    (sink.records[2]!.call.args as { amount: number }).amount = 99;
    expect(sink.verify()).toMatchObject({ ok: false, records: 2, firstBroken: { seq: 3, reason: expect.stringMatching(/^hash mismatch/) } });
  });

  it('trimming with records.length = 0 forgets the kept lines; the chain goes on from the sink head', () => {
    const sink = filledByGate(3);
    sink.records.length = 0;
    expect(sink.records).toHaveLength(0);
    expect(sink.records[0]).toBeUndefined();
    (sink as unknown as KeepingSink)[APPEND_KEPT](entry(4));
    expect(sink.records).toHaveLength(1);
    expect(sink.records[0]).toMatchObject({ seq: 4, id: 'rec-4' });
    expect(verifyAuditRecords(sink.records, { from: { seq: 3, hash: expected(3)[2]!.hash } })).toMatchObject({ ok: true, records: 1 });
  });

  it('writes, deletes and pushes by the reader behave as on an array; append() keeps and returns its own object', () => {
    const sink = filledByGate(2);
    const own = sink.append(entry(3));
    expect(sink.records[2]).toBe(own);
    expect(sink.records).toEqual(expected(3));
    const forged = { ...sink.records[0]!, id: 'forged' };
    sink.records[0] = forged;
    expect(sink.records[0]).toBe(forged);
    expect(sink.verify()).toMatchObject({ ok: false, firstBroken: { seq: 1 } });
    delete sink.records[1];
    expect(sink.records[1]).toBeUndefined();
    expect(1 in sink.records).toBe(false);
    sink.records.push(own);
    expect(sink.records).toHaveLength(4);
  });

  it('console.log shows the records, not the kept lines', () => {
    const sink = filledByGate(2);
    const text = inspect(sink.records, { depth: 0 });
    expect(text).toContain('[Object]');
    expect(text).not.toContain('<2 empty items>');
    expect(text).not.toContain('undefined');
  });
});
