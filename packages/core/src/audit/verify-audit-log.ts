import { createReadStream } from 'node:fs';
import { AuditError, ErrorCodes } from '../errors';
import { AuditFileScanner } from './audit-file-scanner';
import type { AuditVerifyOptions, AuditVerifyResult } from './chain';

/**
 * Verifies a JSONL audit log, streaming it (any size; one line in memory at a time), and reports
 * the first broken link: `{ ok, records, firstBroken?: { seq, line, reason }, tornTail?, last? }`.
 *
 * A torn LAST line (a crash mid-write: not JSON, with or without its newline) is reported in
 * `tornTail` and does not make the log invalid: every complete record before it verified, and
 * a writer (`jsonlAudit`) moves it aside on open. A corrupted line anywhere else is `firstBroken`.
 * A missing file is an AuditError (`AUDIT_INVALID`); an empty file is `{ ok: true, records: 0 }`.
 *
 * **Signed checkpoints.** A review server writes checkpoint records (kind `admin`, `meta.action`
 * `"audit.checkpoint"`): the chain head `{ seq, hash, ts }` signed with its Ed25519 key. Each must
 * name exactly the head before it (`checkpoint mismatch` otherwise: records were rewritten and
 * rehashed). Pass `{ jwks }` (the server's JWKS, or an archived copy holding retired keys) or
 * `{ keys }` to verify their signatures offline; the result's `checkpoints` says how many, the last
 * one, and how many records follow it unsigned. A log without checkpoints (older logs, core's
 * `jsonlAudit`) still verifies, with a `note` that it is unsigned when keys were given.
 *
 * **Truncation.** A hash chain alone cannot show records cut off the END of the log. Pass `head`
 * (e.g. the database's chain head) or `checkpoint` (a signed checkpoint kept elsewhere): a log
 * that ends before it fails with `truncated`, one that differs with `head mismatch` /
 * `checkpoint mismatch`.
 *
 * @example
 * ```ts
 * const jwks = await (await fetch('http://127.0.0.1:7070/.well-known/jwks.json')).json();
 * const result = await verifyAuditLog('./audit.jsonl', { jwks });
 * if (!result.ok) console.error(`broken at line ${result.firstBroken?.line}: ${result.firstBroken?.reason}`);
 * ```
 */
export async function verifyAuditLog(path: string, options?: AuditVerifyOptions): Promise<AuditVerifyResult> {
  const scanner = new AuditFileScanner(options);
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024 });
  try {
    for await (const chunk of stream) {
      if (!scanner.push(chunk as Buffer)) break;
    }
  } catch (error) {
    throw new AuditError(ErrorCodes.AUDIT_INVALID, `cannot read audit log ${path}: ${(error as Error).message}`, { cause: error });
  } finally {
    stream.destroy();
  }
  return scanner.finish();
}
