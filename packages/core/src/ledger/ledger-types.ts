/** What a ledger holds for one idempotency key. */
export interface LedgerEntry {
  /** The full digest of the call the key was issued for. */
  digest: string;
  /** The conclusive Decision recorded under the key (JSON text), if any. */
  decision?: string;
  /** True once an execution of the call was claimed (in any process). */
  executed: boolean;
}

/**
 * Durable memory of the gate, shared by every process that opens the same file or database:
 * conclusive Decisions (incl. human answers) by idempotency key, and the one execution each
 * authorises. `claim` must be atomic across processes: of any number of concurrent claims of one
 * key, exactly one resolves `true`. Every method rejects when the store cannot be reached; the
 * gate turns that into a `LEDGER_UNAVAILABLE` deny.
 */
export interface GateLedger {
  readonly name: string;
  get(key: string): Promise<LedgerEntry | undefined>;
  /**
   * Records (or replaces, while not executed) the Decision for `key`; a key held by another digest
   * is left alone, and so is a human's answer (`source: 'human'`) unless the new Decision is a
   * human's too (a reviewer's answer that lands late does not undo a reject) — and a final no (a
   * human's deny, or an expiry: `error.code` `REVIEW_EXPIRED`) is replaced only by another deny.
   * A final no is recorded even over a row held by another digest (a human's edit given on the
   * reviewer is kept under the original key with the edited digest): it denies every call under
   * the key that has not run.
   */
  record(key: string, digest: string, decision: string): Promise<void>;
  /**
   * Claims the execution of `key`: true for exactly one caller; false when it was already claimed,
   * the key belongs to another digest, or the Decision recorded for it does not allow the call
   * (verdict other than `allow` / `allow_with_conditions`: a human's reject, an edited call's original).
   */
  claim(key: string, digest: string): Promise<boolean>;
  close?(): Promise<void>;
}

/** The table every SQL ledger uses (one row per idempotency key). */
export const LEDGER_TABLE = 'toolgate_ledger';
