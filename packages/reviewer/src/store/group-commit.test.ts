import { afterEach, describe, expect, it } from 'vitest';
import { verifyAuditRecords } from '@toolgate/core';
import { adminEntry } from '../auth/api-keys';
import { removeDir, tempDir } from '../testing/fixture';
import { openAuditTrail } from './audit-trail';
import { createGroupCommit } from './group-commit';
import { openStore, type Store } from './open-store';
import { sqlitePolicyState } from './sqlite-policy-state';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function setup() {
  const dir = tempDir();
  const store = openStore(dir);
  // A second connection, as the CLI would have: it sees only committed rows.
  const other = openStore(dir);
  const audit = openAuditTrail(store, { flushMs: 1 });
  cleanups.push(() => removeDir(dir));
  cleanups.push(() => store.close());
  cleanups.push(() => other.close());
  cleanups.push(() => audit.close());
  return { store, other, audit };
}

const auditCount = (s: Store) => Number((s.db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n);

describe('group commit', () => {
  it('writes a burst in one transaction and settles each caller only after the commit', async () => {
    const { store, other, audit } = setup();
    const commits = createGroupCommit(store);
    const before = auditCount(other);
    const seenByOtherConnection: number[] = [];
    const all = Array.from({ length: 50 }, (_, i) =>
      commits.run(() => audit.append(adminEntry('test', { i }))).then((record) => {
        // Committed: another connection already sees every row of the batch.
        seenByOtherConnection.push(auditCount(other));
        return record;
      }),
    );
    expect(commits.queued).toBe(50);
    expect(auditCount(other)).toBe(before); // nothing is visible before the flush
    const records = await Promise.all(all);
    expect(seenByOtherConnection.every((n) => n === before + 50)).toBe(true);
    // Queue order is chain order.
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => before + 1 + i));
    expect(verifyAuditRecords(audit.page(0, 1000)).ok).toBe(true);
  });

  it('a write that throws fails only its own caller; the others commit', async () => {
    const { store, audit } = setup();
    const commits = createGroupCommit(store);
    const before = auditCount(store);
    const results = await Promise.allSettled([
      commits.run(() => audit.append(adminEntry('ok', { i: 1 }))),
      commits.run(() => {
        audit.append(adminEntry('rolled-back', {}));
        throw new Error('boom');
      }),
      commits.run(() => audit.append(adminEntry('ok', { i: 2 }))),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(auditCount(store)).toBe(before + 2);
    const page = audit.page(0, 1000);
    expect(page.some((r) => r.call.tool === 'toolgate.rolled-back')).toBe(false);
    expect(verifyAuditRecords(page).ok).toBe(true);
  });

  it('buffered policy counters count at once and are written with the next batch', async () => {
    const { store, other } = setup();
    const state = sqlitePolicyState(store, { buffered: true });
    const commits = createGroupCommit(store, { participants: [state] });
    state.onBuffered = () => commits.touch();
    const otherState = sqlitePolicyState(other);
    state.add('k', 1_000, 5, 60_000);
    state.add('k', 1_001, 7, 60_000);
    expect(state.count('k', 0)).toBe(2);
    expect(state.sum('k', 0)).toBe(12);
    expect(otherState.count('k', 0)).toBe(0); // not written yet
    await commits.run(() => undefined);
    expect(otherState.sum('k', 0)).toBe(12);
    expect(state.sum('k', 0)).toBe(12); // not counted twice
    // Touch alone (no queued write) also writes them.
    state.add('k', 1_002, 1, 60_000);
    await new Promise((r) => setImmediate(r));
    expect(otherState.sum('k', 0)).toBe(13);
  });
});
