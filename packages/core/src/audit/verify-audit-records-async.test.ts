import { describe, expect, it } from 'vitest';
import type { AuditEntry, AuditRecord } from '../types';
import { sealRecord, verifyAuditRecords, verifyAuditRecordsAsync } from './chain';

const entry = (i: number): AuditEntry => ({ id: `a${i}`, ts: '2026-01-01T00:00:00.000Z', kind: 'admin', call: { tool: 't', digest: 'sha256:x' }, meta: { i } });
function chain(n: number): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (let i = 1; i <= n; i++) out.push(sealRecord(entry(i), out.at(-1) ? { seq: out.at(-1)!.seq, hash: out.at(-1)!.hash } : null));
  return out;
}
async function* paged(records: AuditRecord[], size: number, read: { pages: number }): AsyncGenerator<AuditRecord> {
  for (let i = 0; i < records.length; i += size) {
    read.pages++;
    yield* records.slice(i, i + size);
  }
}

describe('verifyAuditRecordsAsync', () => {
  it('gives verifyAuditRecords’ result for records that arrive in pages, and stops pulling at the first break', async () => {
    const records = chain(25);
    const read = { pages: 0 };
    expect(await verifyAuditRecordsAsync(paged(records, 4, read))).toEqual(verifyAuditRecords(records));
    expect(read.pages).toBe(7);

    const tampered = records.map((r) => (r.seq === 6 ? { ...r, meta: { i: 600 } } : r));
    const early = { pages: 0 };
    const result = await verifyAuditRecordsAsync(paged(tampered, 4, early));
    expect(result).toEqual(verifyAuditRecords(tampered));
    expect(result.firstBroken).toMatchObject({ seq: 6, line: 6 });
    expect(early.pages).toBe(2);
    // A plain iterable works too.
    expect(await verifyAuditRecordsAsync(records, { head: { seq: 25, hash: records[24]!.hash } })).toEqual(verifyAuditRecords(records, { head: { seq: 25, hash: records[24]!.hash } }));
  });
});
