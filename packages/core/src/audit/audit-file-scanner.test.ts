import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../types';
import { AuditFileScanner } from './audit-file-scanner';
import { memoryAudit } from './memory-audit';

function logBytes(n: number): Buffer {
  const mem = memoryAudit();
  for (let i = 1; i <= n; i++) {
    const e: AuditEntry = { id: `r${i}`, ts: '2024-01-01T00:00:00.000Z', kind: 'outcome', call: { tool: 't', digest: 'sha256:0', args: { i, note: 'é€𝄞'.repeat(i) } } };
    mem.append(e);
  }
  return Buffer.from(mem.records.map((r) => `${JSON.stringify(r)}\n`).join(''), 'utf8');
}

/** Feeds `bytes` through ONE reused buffer, as readSync does. */
function scan(bytes: Buffer, chunk: number) {
  const s = new AuditFileScanner();
  const reused = Buffer.alloc(chunk);
  for (let at = 0; at < bytes.length; at += chunk) {
    const n = bytes.copy(reused, 0, at, Math.min(at + chunk, bytes.length));
    const ok = s.push(reused.subarray(0, n));
    reused.fill(0x7a); // scribble: the scanner must not keep views into the caller's buffer
    if (!ok) break;
  }
  return { result: s.finish(), scanner: s };
}

describe('AuditFileScanner', () => {
  const bytes = logBytes(30);

  it('gives the same answer whatever the chunk boundaries (multi-byte UTF-8 split included)', () => {
    for (const chunk of [1, 3, 7, 64, 1000, bytes.length]) {
      expect(scan(bytes, chunk).result).toMatchObject({ ok: true, records: 30 });
    }
  });

  it('finds a torn tail and a corrupt middle line across chunk boundaries', () => {
    const torn = bytes.subarray(0, bytes.length - 10);
    for (const chunk of [1, 5, 333]) {
      const { result, scanner } = scan(torn, chunk);
      expect(result).toMatchObject({ ok: true, records: 29, tornTail: { line: 30 } });
      expect(scanner.torn!.start + scanner.torn!.bytes).toBe(torn.length);
      expect(scanner.goodBytes).toBe(scanner.torn!.start);
    }
    const bad = Buffer.from(bytes);
    let line5 = 0;
    for (let i = 0; i < 4; i++) line5 = bad.indexOf(0x0a, line5) + 1; // byte offset, not chars
    bad[line5] = 0x20; // '{' -> ' ': line 5 no longer parses
    for (const chunk of [1, 5, 333]) {
      expect(scan(bad, chunk).result).toMatchObject({ ok: false, records: 4, firstBroken: { line: 5, seq: null } });
    }
  });
});
