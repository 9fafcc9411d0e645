import type { AuditRecord } from '@toolgate/core';
import { loadOrCreateSigningKeys, rotateSigningKeys } from '../signing/signing-keys';
import type { AuditTrail } from './audit-trail';
import type { GroupCommit } from './group-commit';
import type { ReviewRow, Store } from './open-store';
import type { ReviewStore } from './review-store';
import { slimReviewRow } from './review-row';

export interface SqliteReviewStore extends ReviewStore {
  readonly kind: 'sqlite';
  readonly store: Store;
}

/**
 * `ReviewStore` on today's SQLite file. Every method is the synchronous `node:sqlite` work it was
 * before, run at once (no extra queue or thread); new reviews still go through the group commit,
 * so a burst shares one transaction. Signing keys stay in `signing-keys.json` in the data dir.
 */
export function sqliteReviewStore(store: Store, audit: AuditTrail, commits: GroupCommit): SqliteReviewStore {
  const sync = <T>(fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(error);
    }
  };
  return {
    kind: 'sqlite',
    store,
    async createReview(row, entry) {
      try {
        // ON CONFLICT DO NOTHING: a replayed key writes nothing and reads the stored review, in the
        // batch's transaction — it does not fail (and roll back) the other reviews of the batch.
        const existing = await commits.run((): ReviewRow | undefined => {
          // The row points at the record it is created with (audit_seq) and leaves out what that record holds.
          const seq = audit.nextSeq();
          if (!store.insertReviewIfNew(slimReviewRow(row, entry, seq))) {
            const stored = store.getReviewByIdem(row.idem_key);
            if (!stored) throw new Error(`review ${row.id}: its idempotency key is taken but no review holds it`);
            return stored;
          }
          const sealed = audit.append(entry);
          if (sealed.seq !== seq) throw new Error(`audit record sealed at seq ${sealed.seq}, the review points at ${seq}`);
          return undefined;
        });
        return existing ? { created: false, row: existing } : { created: true, row };
      } catch (error) {
        // Another writer (a second process on the data dir) stored this key first.
        const existing = isUniqueViolation(error) ? store.getReviewByIdem(row.idem_key) : undefined;
        if (existing) return { created: false, row: existing };
        throw error;
      }
    },
    getReview: (id) => sync(() => store.getReview(id)),
    getReviewByIdem: (k) => sync(() => store.getReviewByIdem(k)),
    decideReview: (d, entry) =>
      sync(() =>
        store.transaction(() => {
          if (!store.decideReview(d)) return false;
          audit.append(entry);
          return true;
        }),
      ),
    recordApproval: (c, entry) =>
      sync(() =>
        store.transaction(() => {
          if (!store.recordApproval(c)) return false;
          audit.append(entry);
          return true;
        }),
      ),
    setOutcome: (id, json, entry) =>
      sync(() =>
        store.transaction(() => {
          if (!store.setOutcome(id, json)) return false;
          audit.append(entry);
          return true;
        }),
      ),
    appendAudit: (entry) => sync((): AuditRecord => audit.append(entry)),
    auditAfter: (after, limit) => sync(() => audit.page(after, limit)),
    auditHead: () => sync(() => audit.head()),
    listReviews: (q) => sync((): ReviewRow[] => store.listReviews(q)),
    pendingDueBefore: (at) => sync(() => store.pendingDueBefore(at)),
    nextPendingExpiry: () => sync(() => store.nextPendingExpiry()),
    countPending: () => sync(() => store.countPending()),
    insertKey: (row, entry) =>
      sync(() =>
        store.transaction(() => {
          store.insertKey(row);
          if (entry) audit.append(entry);
        }),
      ),
    keyByHash: (h) => sync(() => store.keyByHash(h)),
    listKeys: () => sync(() => store.listKeys()),
    revokeKey: (id, at, entry) =>
      sync(() =>
        store.transaction(() => {
          const ok = store.revokeKey(id, at);
          if (ok && entry) audit.append(entry);
          return ok;
        }),
      ),
    signingKeys: () => loadOrCreateSigningKeys(store.dataDir),
    rotateSigningKeys: () => rotateSigningKeys(store.dataDir),
    ping: () => sync(() => void store.db.prepare('SELECT count(*) AS n FROM sqlite_schema').get()),
    async close() {
      store.close();
    },
  };
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && /UNIQUE constraint failed: reviews\.idem_key/.test(error.message);
}
