import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyAuditLog } from '@toolgate/core';
import { checkpointSignerOf, jwksOf, loadOrCreateSigningKeys, rotateSigningKeys } from '../signing/signing-keys';
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

  it('signs a checkpoint every N records and at close; none with a key rotated away on disk', async () => {
    const d = dir();
    const keys = await loadOrCreateSigningKeys(d);
    const store = openStore(d);
    const trail = openAuditTrail(store, { checkpointEvery: 3 });
    trail.setCheckpointSigner(checkpointSignerOf(d, keys));
    for (let i = 0; i < 7; i++) trail.append(adminEntry('test', { i }));
    expect(trail.checkpoint()).toBeDefined();
    expect(trail.checkpoint()).toBeUndefined(); // the head already is a checkpoint
    await trail.close();
    store.close();
    const file = join(d, 'audit.jsonl');
    const jwks = jwksOf(keys, { includeDropped: true });
    // 7 records, checkpoints after the 3rd and 6th, and one of the head: 10 lines.
    expect(await verifyAuditLog(file, { jwks })).toMatchObject({ ok: true, records: 10, checkpoints: { count: 3, signed: true, uncovered: 0 } });

    // Another process (the CLI) rotates the key on disk: the old key must not sign after its retirement.
    await rotateSigningKeys(d);
    const store2 = openStore(d);
    const trail2 = openAuditTrail(store2, { checkpointEvery: 1 });
    trail2.setCheckpointSigner(checkpointSignerOf(d, keys));
    trail2.append(adminEntry('test', { i: 7 }));
    await trail2.close();
    store2.close();
    expect(await verifyAuditLog(file, { jwks })).toMatchObject({ ok: true, records: 11, checkpoints: { count: 3, uncovered: 1 } });
  });
});
