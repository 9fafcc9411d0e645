import { nodeOnly } from '../platform/node-only';
import type { JsonlAuditOptions, JsonlAuditSink } from './jsonl-audit';

export type { JsonlAuditOptions, JsonlAuditSink, JsonlRecovery } from './jsonl-audit';

/** Edge build: there is no file system. Throws OptionsError (`OPTIONS_INVALID`) at construction. */
export function jsonlAudit(_path: string, _options?: JsonlAuditOptions): JsonlAuditSink {
  throw nodeOnly('jsonlAudit (an append-only file)', 'use memoryAudit() or callbackAudit() to send records to your own store');
}
