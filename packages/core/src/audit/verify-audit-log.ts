import { createReadStream } from 'node:fs';
import { AuditError, ErrorCodes } from '../errors';
import { AuditFileScanner } from './audit-file-scanner';
import type { AuditVerifyResult } from './chain';

/**
 * Verifies a JSONL audit log, streaming it (any size; one line in memory at a time), and reports
 * the first broken link: `{ ok, records, firstBroken?: { seq, line, reason }, tornTail?, last? }`.
 *
 * A torn LAST line (a crash mid-write: not JSON, with or without its newline) is reported in
 * `tornTail` and does not make the log invalid: every complete record before it verified, and
 * a writer (`jsonlAudit`) moves it aside on open. A corrupted line anywhere else is `firstBroken`.
 * A missing file is an AuditError (`AUDIT_INVALID`); an empty file is `{ ok: true, records: 0 }`.
 *
 * A hash chain cannot show that records were cut off the END of the log: anchor `last.hash`
 * somewhere else (a ticket, another store) if that matters.
 *
 * @example
 * ```ts
 * const result = await verifyAuditLog('./audit.jsonl');
 * if (!result.ok) console.error(`broken at line ${result.firstBroken?.line}: ${result.firstBroken?.reason}`);
 * ```
 */
export async function verifyAuditLog(path: string): Promise<AuditVerifyResult> {
  const scanner = new AuditFileScanner();
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
