import { canonicalJson } from '../digest/canonical-json';
import { sha256 } from '../digest/call-digest';
import { AuditError, ErrorCodes } from '../errors';
import type { AuditEntry, AuditRecord } from '../types';
import { redactEntry } from './redact-entry';
import type { RedactOptions } from './redact';

/** `prevHash` of the first record of every chain: `"sha256:"` + 64 zeros. */
export const GENESIS_HASH = `sha256:${'0'.repeat(64)}`;

/** Where a chain ends: the last record's seq and hash. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/** What `verifyAuditRecords` / `verifyAuditLog` found. */
export interface AuditVerifyResult {
  /** True when every complete record is intact and linked (a torn last line alone keeps it true). */
  ok: boolean;
  /** How many records verified, in order, before the first broken one (all of them when ok). */
  records: number;
  /**
   * The first record that does not verify. `reason` starts with one of `hash mismatch` (content
   * edited), `prevHash mismatch` (a record removed, inserted or reordered), `seq gap`,
   * `unparsable line`, `malformed record`. `seq` is the seq the record claims (null if unreadable).
   */
  firstBroken?: { seq: number | null; line: number; reason: string };
  /** A torn last line (a crash mid-write): reported, not counted, not an error. */
  tornTail?: { line: number; bytes: number };
  /** The last verified record; anchor `hash` elsewhere to detect truncation of the tail. */
  last?: ChainHead;
}

/**
 * The hash of a record: `sha256(prevHash + canonicalJson(record without hash))`, as
 * `"sha256:<hex>"`. A `hash` field on the input is ignored.
 */
export function hashRecord(record: Omit<AuditRecord, 'hash'> & { hash?: string }): string {
  const { hash: _ignored, ...rest } = record;
  return sha256(record.prevHash + canonicalText(rest));
}

/** RFC 8785 text of a record. */
function canonicalText(value: unknown): string {
  try {
    return canonicalJson(value);
  } catch (error) {
    throw new AuditError(ErrorCodes.AUDIT_WRITE_FAILED, `audit record is not JSON: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
}

/**
 * Chains one entry after `prev` (null = first record: seq 1, prevHash GENESIS_HASH). The entry is
 * redacted here (`redactEntry`), so every sink writes redacted records whatever its caller did.
 * The returned record is JSON-clean: what a sink writes is exactly what was hashed.
 */
export function sealRecord(entry: AuditEntry, prev: ChainHead | null, redactOptions?: RedactOptions): AuditRecord {
  if (!entry || typeof entry.id !== 'string' || typeof entry.ts !== 'string' || typeof entry.kind !== 'string' || !entry.call) {
    throw new AuditError(
      ErrorCodes.AUDIT_WRITE_FAILED,
      'audit entry is malformed: it needs string `id`, `ts`, `kind` and a `call` object',
    );
  }
  const clean = redactEntry(entry, redactOptions);
  const seq = prev ? prev.seq + 1 : 1;
  const prevHash = prev ? prev.hash : GENESIS_HASH;
  const body: Omit<AuditRecord, 'hash'> = { id: clean.id, seq, ts: clean.ts, prevHash, kind: clean.kind, call: clean.call };
  if (clean.decision !== undefined) body.decision = clean.decision;
  if (clean.outcome !== undefined) body.outcome = clean.outcome;
  if (clean.meta !== undefined) body.meta = clean.meta;
  // Canonicalise once: the text is hashed, and parsing it back gives a deep, JSON-clean copy
  // (no undefined, no -0, no shared references), so what a sink writes is exactly what was hashed.
  const canonical = canonicalText(body);
  const hash = sha256(prevHash + canonical);
  const c = JSON.parse(canonical) as Omit<AuditRecord, 'hash'>;
  return { id: c.id, seq, ts: c.ts, prevHash, hash, kind: c.kind, call: c.call, ...pick(c) };
}

function pick(body: Omit<AuditRecord, 'hash'>): Partial<AuditRecord> {
  const out: Partial<AuditRecord> = {};
  if (body.decision !== undefined) out.decision = body.decision;
  if (body.outcome !== undefined) out.outcome = body.outcome;
  if (body.meta !== undefined) out.meta = body.meta;
  return out;
}

/**
 * Incremental chain check, one record at a time (used for files and for in-memory lists).
 * @internal
 */
export class ChainVerifier {
  head: ChainHead | null;
  count = 0;
  broken: { seq: number | null; line: number; reason: string } | undefined;

  constructor(from: ChainHead | null = null) {
    this.head = from;
  }

  /** Checks the next record; returns false (and sets `broken`) at the first failure. */
  push(record: unknown, line: number): boolean {
    if (this.broken) return false;
    const r = record as Partial<AuditRecord> | null;
    const claimedSeq = r && typeof r === 'object' && typeof r.seq === 'number' ? r.seq : null;
    if (!r || typeof r !== 'object' || Array.isArray(r) || typeof r.hash !== 'string' || typeof r.prevHash !== 'string' || claimedSeq === null) {
      return this.fail(claimedSeq, line, 'malformed record: not an object with numeric seq and string hash/prevHash');
    }
    let actual: string;
    try {
      actual = hashRecord(r as AuditRecord);
    } catch (error) {
      return this.fail(claimedSeq, line, `malformed record: ${(error as Error).message}`);
    }
    if (actual !== r.hash) {
      return this.fail(claimedSeq, line, `hash mismatch: the record's content was changed after it was written (stored ${r.hash}, computed ${actual})`);
    }
    const expectedPrev = this.head ? this.head.hash : GENESIS_HASH;
    const expectedSeq = this.head ? this.head.seq + 1 : 1;
    if (r.prevHash !== expectedPrev) {
      const gap = claimedSeq !== expectedSeq ? ` (seq gap: expected ${expectedSeq}, found ${claimedSeq})` : '';
      return this.fail(claimedSeq, line, `prevHash mismatch: a record before this one was removed, inserted or reordered${gap}`);
    }
    if (claimedSeq !== expectedSeq) {
      return this.fail(claimedSeq, line, `seq gap: expected ${expectedSeq}, found ${claimedSeq}`);
    }
    this.head = { seq: claimedSeq, hash: r.hash };
    this.count++;
    return true;
  }

  fail(seq: number | null, line: number, reason: string): false {
    this.broken = { seq, line, reason };
    return false;
  }

  result(tornTail?: { line: number; bytes: number }): AuditVerifyResult {
    const out: AuditVerifyResult = { ok: !this.broken, records: this.count };
    if (this.broken) out.firstBroken = this.broken;
    if (tornTail) out.tornTail = tornTail;
    if (this.head) out.last = { ...this.head };
    return out;
  }
}

/**
 * Verifies records in order: each hash matches its content, each prevHash the previous hash, seq
 * counts up by one from 1 (or from `options.from`, to verify a slice). `line` in the result is the
 * 1-based position in the iterable.
 */
export function verifyAuditRecords(records: Iterable<AuditRecord>, options?: { from?: ChainHead | null }): AuditVerifyResult {
  const v = new ChainVerifier(options?.from ?? null);
  let line = 0;
  for (const r of records) {
    line++;
    if (!v.push(r, line)) break;
  }
  return v.result();
}
