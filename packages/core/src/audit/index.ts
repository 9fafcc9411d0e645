export {
  redact,
  redactText,
  redactValue,
  isSecretField,
  compileRedaction,
  REDACTED,
  CIRCULAR,
  MAX_DEPTH,
  type RedactOptions,
  type CompiledRedaction,
} from './redact';
export { redactEntry } from './redact-entry';
export {
  GENESIS_HASH,
  hashRecord,
  hashRecordV1,
  sealLine,
  sealRecord,
  verifyAuditRecords,
  verifyAuditRecordsAsync,
  type AuditVerifyOptions,
  type AuditVerifyResult,
  type ChainHead,
  type SealedRecord,
} from './chain';
export {
  CHECKPOINT_ACTION,
  CHECKPOINT_AUDIENCE,
  CHECKPOINT_TYPE,
  checkpointJws,
  checkpointOf,
  createCheckpointSigner,
  type CheckpointKeyOptions,
  type CheckpointSigner,
  type SignedCheckpoint,
} from './audit-checkpoint';
export { jsonlAudit, type JsonlAuditOptions, type JsonlAuditSink, type JsonlRecovery } from './jsonl-audit';
export { memoryAudit, type MemoryAuditSink } from './memory-audit';
export { callbackAudit } from './callback-audit';
export { verifyAuditLog } from './verify-audit-log';
