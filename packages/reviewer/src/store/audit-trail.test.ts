import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyAuditLog } from '@toolgate/core';
import { adminEntry } from '../auth/api-keys';
import { removeDir, tempDir } from '../testing/fixture';
import { openAuditTrail } from './audit-trail';
import { openStore } from './open-store';

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) removeDir(dirs.pop()!);
});

function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

describe('audit trail (SQLite table + JSONL mirror)', () => {
  it('two writers on one data dir (a server and the CLI) never write the same record twice', async () => {
    const d = dir();
    const a = openStore(d);
    const b = openStore(d);
    const ta = openAuditTrail(a, { flushMs: 1 });
    const tb = openAuditTrail(b, { flushMs: 1 });
    for (let i = 0; i < 200; i++) {
      (i % 3 === 0 ? tb : ta).append(adminEntry('test', { i }));
      if (i % 7 === 0) await Promise.all([ta.flush(), tb.flush()]);
    }
    await Promise.all([ta.close(), tb.close()]);
    a.close();
    b.close();
    const r = await verifyAuditLog(join(d, 'audit.jsonl'));
    expect(r).toMatchObject({ ok: true, records: 200 });
  });

  it('cuts a torn last line, then continues one chain', async () => {
    const d = dir();
    let store = openStore(d);
    let trail = openAuditTrail(store);
    for (let i = 0; i < 3; i++) trail.append(adminEntry('test', { i }));
    await trail.close();
    store.close();
    const file = join(d, 'audit.jsonl');
    appendFileSync(file, '{"id":"torn","seq":4,"prev'); // a crash mid-write

    store = openStore(d);
    trail = openAuditTrail(store);
    trail.append(adminEntry('test', { i: 3 }));
    await trail.close();
    store.close();
    const r = await verifyAuditLog(file);
    expect(r).toMatchObject({ ok: true, records: 4 });
    expect(readFileSync(file, 'utf8')).not.toContain('"torn"');
  });

  it('appends rows the file lacks (crash before the flush) and imports rows the table lacks (database lost)', async () => {
    const d = dir();
    let store = openStore(d);
    let trail = openAuditTrail(store, { flushMs: 60_000 });
    trail.append(adminEntry('test', { i: 0 }));
    await trail.flush();
    trail.append(adminEntry('test', { i: 1 })); // committed to SQLite, not yet mirrored
    store.close(); // "crash": the mirror never flushed record 2
    expect((await verifyAuditLog(join(d, 'audit.jsonl'))).records).toBe(1);

    store = openStore(d);
    trail = openAuditTrail(store);
    await trail.flush();
    expect((await verifyAuditLog(join(d, 'audit.jsonl'))).records).toBe(2);
    await trail.close();
    store.close();

    for (const f of ['toolgate.db', 'toolgate.db-wal', 'toolgate.db-shm']) rmSync(join(d, f), { force: true });
    store = openStore(d);
    trail = openAuditTrail(store);
    expect(store.lastAudit()?.seq).toBe(2);
    const rec = trail.append(adminEntry('test', { i: 2 }));
    expect(rec.seq).toBe(3);
    await trail.close();
    store.close();
    expect(await verifyAuditLog(join(d, 'audit.jsonl'))).toMatchObject({ ok: true, records: 3 });
  });
});
