import { canonicalJson } from '../digest/canonical-json';
import { sha256 } from '../digest/call-digest';
import { AuditError, ErrorCodes } from '../errors';
import type { AuditEntry, AuditRecord } from '../types';
import { redactCall, redactDecision, redactOutcome } from './redact-entry';
import { CheckpointKeys, checkpointOf, type CheckpointKeyOptions, type SignedCheckpoint } from './audit-checkpoint';
import { redact, type RedactOptions } from './redact';

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
  /**
   * Signed checkpoints found (present when the log has any, or keys were given). `signed` is true
   * when their signatures were checked against keys; `uncovered` counts the records after the last
   * checkpoint (only the hash chain vouches for them).
   */
  checkpoints?: { count: number; signed: boolean; last?: SignedCheckpoint; uncovered: number };
  /** A remark that is not a failure: e.g. an unsigned log (no checkpoints), or unchecked signatures. */
  note?: string;
}

/** What a verification checks beyond the hash chain: checkpoint signatures, and where the log must end. */
export interface AuditVerifyOptions extends CheckpointKeyOptions {
  /**
   * Where the log must end (e.g. the database's chain head). A log that ends earlier was cut
   * (`truncated`), one with another hash at that seq was rewritten (`head mismatch`).
   */
  head?: ChainHead;
  /**
   * A signed checkpoint kept elsewhere (the database, a ticket, another host). Its signature must
   * verify with the keys, and the log must reach its seq with its hash: a log that ends before it
   * was cut (`truncated`).
   */
  checkpoint?: SignedCheckpoint;
  /**
   * A record the log must contain (e.g. the database head when verifying began, while records may
   * still be appended): a log that ends before `reaches.seq` was cut (`truncated`); one with another
   * hash at that seq was rewritten (`head mismatch`). Records after it are allowed.
   */
  reaches?: ChainHead;
}

/**
 * The hash of a record as toolgate writes it now (format 2): `"sha256:" + hex(SHA-256(text))`,
 * where `text` is the record's JSON text without its `hash` field (`JSON.stringify` of the record's
 * own fields in their own order, `hash` left out). A record line is that text with
 * `,"hash":"sha256:…"` inserted before its final `}`, so the hash covers exactly the bytes written
 * and a verifier hashes those bytes without re-serialising anything. A `hash` field on the input
 * is ignored. Records written before format 2 (`sha256(prevHash + RFC 8785 text)`, see
 * `hashRecordV1`) still verify.
 */
export function hashRecord(record: Omit<AuditRecord, 'hash'> & { hash?: string }): string {
  const { hash: _ignored, ...rest } = record;
  return sha256(jsonText(rest));
}

/**
 * The hash of a format-1 record (written before format 2): `sha256(prevHash + canonicalJson(record
 * without hash))`. Verification accepts either format, record by record, so a log that was
 * continued across the upgrade verifies.
 */
export function hashRecordV1(record: Omit<AuditRecord, 'hash'> & { hash?: string }): string {
  const { hash: _ignored, ...rest } = record;
  return sha256(record.prevHash + canonicalText(rest));
}

/** RFC 8785 text of a record (format 1). */
function canonicalText(value: unknown): string {
  try {
    return canonicalJson(value);
  } catch (error) {
    throw new AuditError(ErrorCodes.AUDIT_WRITE_FAILED, `audit record is not JSON: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
}

/** JSON text of a record (format 2). */
function jsonText(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new AuditError(ErrorCodes.AUDIT_WRITE_FAILED, `audit record is not JSON: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
  if (typeof text !== 'string' || text.charCodeAt(text.length - 1) !== 0x7d /* } */) {
    throw new AuditError(ErrorCodes.AUDIT_WRITE_FAILED, 'audit record is not a JSON object');
  }
  return text;
}

/** `,"hash":"sha256:` + 64 hex + `"}`: the fixed-length end of every format-2 line. */
const HASH_TAIL_LENGTH = ',"hash":"sha256:'.length + 64 + 2;
const HASH_TAIL = /^,"hash":"(sha256:[0-9a-f]{64})"\}$/;

/** A sealed record and the exact line a file sink writes (no newline); its hash covers these bytes. */
export interface SealedRecord {
  record: AuditRecord;
  /** `JSON.stringify(record)`: the record's text with `hash` as the last field. */
  line: string;
}

/**
 * Chains one entry after `prev` (null = first record: seq 1, prevHash GENESIS_HASH). The entry is
 * redacted here (`redactEntry`), so every sink writes redacted records whatever its caller did.
 * The returned record is the redacted copy, with `hash` as its last field: `JSON.stringify(record)`
 * is exactly the returned `line`, whose bytes the hash covers.
 */
export function sealRecord(entry: AuditEntry, prev: ChainHead | null, redactOptions?: RedactOptions): AuditRecord {
  return sealLine(entry, prev, redactOptions).record;
}

/**
 * `sealRecord`, also returning the line to write: the record is serialised once (one
 * `JSON.stringify` of the redacted copy), hashed, and the hash spliced into the same text.
 */
export function sealLine(entry: AuditEntry, prev: ChainHead | null, redactOptions?: RedactOptions): SealedRecord {
  if (!entry || typeof entry.id !== 'string' || typeof entry.ts !== 'string' || typeof entry.kind !== 'string' || !entry.call) {
    throw new AuditError(
      ErrorCodes.AUDIT_WRITE_FAILED,
      'audit entry is malformed: it needs string `id`, `ts`, `kind` and a `call` object',
    );
  }
  // The record is built here, each part redacted as it is copied (as `redactEntry` does), so the
  // entry is copied once.
  const record: Omit<AuditRecord, 'hash'> & { hash?: string } = {
    id: entry.id,
    seq: prev ? prev.seq + 1 : 1,
    ts: entry.ts,
    prevHash: prev ? prev.hash : GENESIS_HASH,
    kind: entry.kind,
    call: redactCall(entry.call, redactOptions),
  };
  if (entry.decision !== undefined) record.decision = redactDecision(entry.decision, redactOptions);
  if (entry.outcome !== undefined) record.outcome = redactOutcome(entry.outcome);
  if (entry.meta !== undefined) record.meta = redact(entry.meta, redactOptions, 'meta') as Record<string, unknown>;
  const text = jsonText(record);
  const hash = sha256(text);
  record.hash = hash;
  return { record: record as AuditRecord, line: `${text.slice(0, -1)},"hash":"${hash}"}` };
}

/**
 * Whether a record verifies: format 2 over its exact line when the line is given (no re-serialising),
 * else over the record's JSON text; then format 1. Returns the hash computed last (for the message).
 */
function recordHashMatches(r: AuditRecord, text: string | undefined): { ok: boolean; actual: string } {
  if (text !== undefined && text.length > HASH_TAIL_LENGTH) {
    const m = HASH_TAIL.exec(text.slice(-HASH_TAIL_LENGTH));
    if (m && m[1] === r.hash) {
      // A format-2 line: its bytes decide, nothing re-serialised (an edit that keeps the meaning,
      // such as 5e2 for 500, is still an edit).
      const actual = sha256(`${text.slice(0, -HASH_TAIL_LENGTH)}}`);
      if (actual === r.hash) return { ok: true, actual };
      return { ok: hashRecordV1(r) === r.hash, actual };
    }
  }
  const v2 = hashRecord(r);
  if (v2 === r.hash) return { ok: true, actual: v2 };
  const v1 = hashRecordV1(r);
  return { ok: v1 === r.hash, actual: v2 };
}

/**
 * Incremental chain check, one record at a time (used for files and for in-memory lists).
 * @internal
 */
export class ChainVerifier {
  head: ChainHead | null;
  count = 0;
  broken: { seq: number | null; line: number; reason: string } | undefined;
  private readonly keys: CheckpointKeys | undefined;
  private readonly options: AuditVerifyOptions | undefined;
  private checkpointCount = 0;
  private lastCheckpoint: SignedCheckpoint | undefined;
  private lastCheckpointAt = 0;
  /** The hash the log has at the external checkpoint's seq, once reached. */
  private watched: string | undefined;
  /** The hash the log has at `reaches.seq`, once reached. */
  private reached: string | undefined;
  private lines = 0;

  constructor(from: ChainHead | null = null, options?: AuditVerifyOptions) {
    this.head = from;
    this.options = options;
    this.keys = CheckpointKeys.from(options, 'verifyAuditLog');
    if (options?.checkpoint !== undefined) {
      if (!this.keys) throw new AuditError(ErrorCodes.AUDIT_INVALID, 'verifyAuditLog: a checkpoint to check needs the keys that signed it ({ jwks } or { keys })');
      const c = checkpointOf({ kind: 'admin', meta: { action: 'audit.checkpoint', ...options.checkpoint } });
      if (c === undefined || c === 'malformed') throw new AuditError(ErrorCodes.AUDIT_INVALID, 'verifyAuditLog: checkpoint must be { seq, hash, ts, sig }');
      const why = this.keys.check(c);
      if (typeof why === 'string') throw new AuditError(ErrorCodes.AUDIT_INVALID, `verifyAuditLog: the given ${why}`);
      if (from && options.checkpoint.seq === from.seq) this.watched = from.hash;
    }
    if (from && options?.reaches?.seq === from.seq) this.reached = from.hash;
  }

  /**
   * Checks the next record; returns false (and sets `broken`) at the first failure. `text`: the
   * line the record was parsed from, so a format-2 hash is checked over those exact bytes.
   */
  push(record: unknown, line: number, text?: string): boolean {
    if (this.broken) return false;
    const r = record as Partial<AuditRecord> | null;
    const claimedSeq = r && typeof r === 'object' && typeof r.seq === 'number' ? r.seq : null;
    if (!r || typeof r !== 'object' || Array.isArray(r) || typeof r.hash !== 'string' || typeof r.prevHash !== 'string' || claimedSeq === null) {
      return this.fail(claimedSeq, line, 'malformed record: not an object with numeric seq and string hash/prevHash');
    }
    let checked: { ok: boolean; actual: string };
    try {
      checked = recordHashMatches(r as AuditRecord, text);
    } catch (error) {
      return this.fail(claimedSeq, line, `malformed record: ${(error as Error).message}`);
    }
    const actual = checked.actual;
    if (!checked.ok) {
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
    const cp = checkpointOf(r as AuditRecord);
    if (cp !== undefined) {
      if (cp === 'malformed') return this.fail(claimedSeq, line, 'checkpoint malformed: meta needs numeric seq and string hash, ts, sig');
      const before = this.head ?? { seq: 0, hash: GENESIS_HASH };
      if (cp.seq !== before.seq || cp.hash !== before.hash) {
        return this.fail(
          claimedSeq,
          line,
          `checkpoint mismatch: the signed checkpoint says the chain ended at seq ${cp.seq} with ${cp.hash}, but the records before it end at seq ${before.seq} with ${before.hash} (records were rewritten and rehashed)`,
        );
      }
      if (this.keys) {
        const why = this.keys.check(cp);
        if (typeof why === 'string') return this.fail(claimedSeq, line, why);
      }
      this.checkpointCount++;
      this.lastCheckpoint = cp;
      this.lastCheckpointAt = claimedSeq;
    }
    this.head = { seq: claimedSeq, hash: r.hash };
    if (this.options?.checkpoint && claimedSeq === this.options.checkpoint.seq) this.watched = r.hash;
    if (this.options?.reaches && claimedSeq === this.options.reaches.seq) this.reached = r.hash;
    this.count++;
    this.lines = line;
    return true;
  }

  /** After the last record: checks where the log ends against `head` / `checkpoint`. */
  private checkEnd(): void {
    if (this.broken || !this.options) return;
    const end = this.head ?? { seq: 0, hash: GENESIS_HASH };
    const line = this.lines + 1;
    const cp = this.options.checkpoint;
    if (cp) {
      if (end.seq < cp.seq) {
        this.fail(null, line, `truncated: a signed checkpoint names seq ${cp.seq}, beyond the end of the log (seq ${end.seq}); records were cut off the end`);
        return;
      }
      if (this.watched !== cp.hash) {
        this.fail(cp.seq, line, `checkpoint mismatch: the signed checkpoint says seq ${cp.seq} has ${cp.hash}, the log has ${this.watched ?? '(nothing)'} (records were rewritten)`);
        return;
      }
    }
    const reaches = this.options.reaches;
    if (reaches && reaches.seq > 0) {
      if (end.seq < reaches.seq) {
        this.fail(null, line, `truncated: the log ends at seq ${end.seq} (${end.hash}), the expected head is seq ${reaches.seq} (${reaches.hash}); records were cut off the end`);
        return;
      }
      if (this.reached !== reaches.hash) {
        this.fail(reaches.seq, line, `head mismatch: the log has ${this.reached ?? '(nothing)'} at seq ${reaches.seq}, the expected head has ${reaches.hash} (a copy was rewritten)`);
        return;
      }
    }
    const want = this.options.head;
    if (want) {
      if (end.seq < want.seq) {
        this.fail(null, line, `truncated: the log ends at seq ${end.seq} (${end.hash}), the expected head is seq ${want.seq} (${want.hash}); records were cut off the end`);
      } else if (end.seq > want.seq) {
        this.fail(null, line, `head mismatch: the log runs to seq ${end.seq} (${end.hash}), past the expected head seq ${want.seq} (${want.hash})`);
      } else if (end.hash !== want.hash) {
        this.fail(end.seq, line, `head mismatch: the log ends at seq ${end.seq} with ${end.hash}, the expected head has ${want.hash} (a copy was rewritten)`);
      }
    }
  }

  fail(seq: number | null, line: number, reason: string): false {
    this.broken = { seq, line, reason };
    return false;
  }

  result(tornTail?: { line: number; bytes: number }): AuditVerifyResult {
    this.checkEnd();
    const out: AuditVerifyResult = { ok: !this.broken, records: this.count };
    if (this.broken) out.firstBroken = this.broken;
    if (tornTail) out.tornTail = tornTail;
    if (this.head) out.last = { ...this.head };
    if (this.keys || this.checkpointCount > 0) {
      const uncovered = this.lastCheckpoint && this.head ? this.head.seq - this.lastCheckpointAt : this.count;
      out.checkpoints = { count: this.checkpointCount, signed: this.keys !== undefined, uncovered };
      if (this.lastCheckpoint) out.checkpoints.last = { ...this.lastCheckpoint };
      if (this.checkpointCount === 0 && this.count > 0) {
        out.note = 'unsigned: this log has no signed checkpoint (written before toolgate signed checkpoints, or they were removed); only its hash chain vouches for it, and a rewrite that recomputed every later hash would not show';
      } else if (!this.keys && this.checkpointCount > 0) {
        out.note = 'checkpoint signatures not checked: pass { jwks } or { keys } to verify them';
      }
    }
    return out;
  }
}

/**
 * Verifies records in order: each hash matches its content, each prevHash the previous hash, seq
 * counts up by one from 1 (or from `options.from`, to verify a slice). `line` in the result is the
 * 1-based position in the iterable. Checkpoint records must name the head before them; with
 * `jwks`/`keys` their signatures are checked, and `head`/`checkpoint` say where the list must end.
 */
export function verifyAuditRecords(records: Iterable<AuditRecord>, options?: AuditVerifyOptions & { from?: ChainHead | null }): AuditVerifyResult {
  const { from, ...rest } = options ?? {};
  const v = new ChainVerifier(from ?? null, Object.keys(rest).length ? rest : undefined);
  let line = 0;
  for (const r of records) {
    line++;
    if (!v.push(r, line)) break;
  }
  return v.result();
}

/**
 * `verifyAuditRecords` for records that arrive asynchronously, e.g. pages read from a database: the
 * same result, without holding the whole chain (only what the iterable holds), and it stops reading
 * at the first broken record.
 */
export async function verifyAuditRecordsAsync(
  records: AsyncIterable<AuditRecord> | Iterable<AuditRecord>,
  options?: AuditVerifyOptions & { from?: ChainHead | null },
): Promise<AuditVerifyResult> {
  const { from, ...rest } = options ?? {};
  const v = new ChainVerifier(from ?? null, Object.keys(rest).length ? rest : undefined);
  let line = 0;
  for await (const r of records) {
    line++;
    if (!v.push(r, line)) break;
  }
  return v.result();
}
