import type { ReviewStore } from './review-store';

type Methods = Exclude<keyof ReviewStore, 'kind'>;
const METHODS: readonly Methods[] = [
  'createReview', 'getReview', 'getReviewByIdem', 'decideReview', 'recordApproval', 'setOutcome', 'appendAudit', 'auditAfter', 'auditHead',
  'listReviews', 'pendingDueBefore', 'nextPendingExpiry', 'countPending', 'insertKey', 'keyByHash', 'listKeys', 'revokeKey',
  'signingKeys', 'rotateSigningKeys', 'ping', 'close',
];

/**
 * A `ReviewStore` whose engine is still being opened (a PostgreSQL pool connects and migrates when
 * the server becomes ready): every call waits for it, and fails with its error if opening failed.
 */
export function deferredReviewStore(kind: ReviewStore['kind'], opened: Promise<ReviewStore>): ReviewStore {
  const out: Record<string, unknown> = { kind };
  for (const m of METHODS) {
    out[m] = async (...args: unknown[]) => {
      const store = await opened;
      return (store[m] as (...a: unknown[]) => unknown)(...args);
    };
  }
  return out as unknown as ReviewStore;
}
