import { nodeOnly } from '../platform/node-only';
import type { AuditVerifyOptions, AuditVerifyResult } from './chain';

/** Edge build: there is no file system. Rejects with OptionsError (`OPTIONS_INVALID`). */
export async function verifyAuditLog(_path: string, _options?: AuditVerifyOptions): Promise<AuditVerifyResult> {
  throw nodeOnly('verifyAuditLog (reads a file)', 'verify records you hold with verifyAuditRecords(records)');
}
