import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { Verdict } from '@toolgate/core';
import { hydrateReviewRow } from './review-row';

/** File names inside a data dir. */
export const DATA_FILES = {
  db: 'toolgate.db',
  auditMirror: 'audit.jsonl',
  signingKeys: 'signing-keys.json',
} as const;

/** One review row as stored. JSON columns hold already-redacted values. */
export interface ReviewRow {
  id: string;
  idem_key: string;
  submitter_key_id: string;
  tool: string;
  digest: string;
  call_id: string | null;
  run_id: string | null;
  agent_id: string | null;
  agent_json: string | null;
  context_json: string | null;
  args_json: string;
  status: 'pending' | 'decided';
  verdict: Verdict;
  source: string | null;
  reason: string | null;
  conditions_json: string | null;
  evaluated_json: string | null;
  policy_json: string | null;
  decided_by: string | null;
  decider_key_id: string | null;
  proof: string | null;
  proof_expires_at: number | null;
  created_at: number;
  decided_at: number | null;
  expires_at: number | null;
  executed: number;
  outcome_json: string | null;
  /**
   * Two-person (N-person) approvals: `{ required, groups?, approvals: [{ keyId, name, digest, at }],
   * edits? }` (see `ApprovalState` in review-service.ts); null until the policy asked for more than
   * one approver or someone approved. Written compare-and-set (`recordApproval`).
   */
  approvals_json?: string | null;
  /** The decided edit, `{ args (redacted), digest, originalDigest }`, when an approver edited. */
  edited_json?: string | null;
  /**
   * The seq of the audit record that created the review (null in rows stored before it was kept).
   * The row leaves out what that record holds (its args, a policy decision's proof); reads restore
   * them (`hydrateReviewRow`), so every ReviewRow a store returns is complete.
   */
  audit_seq?: number | null;
}

export interface ApiKeyRow {
  id: string;
  name: string;
  scope: string;
  hash: string;
  created_at: number;
  revoked_at: number | null;
  /** Approver groups of the key, a JSON array of names (null: none). */
  groups_json?: string | null;
}

export interface AuditRow {
  seq: number;
  id: string;
  hash: string;
  record: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS reviews (
  id TEXT PRIMARY KEY,
  idem_key TEXT NOT NULL UNIQUE,
  submitter_key_id TEXT NOT NULL,
  tool TEXT NOT NULL,
  digest TEXT NOT NULL,
  call_id TEXT,
  run_id TEXT,
  agent_id TEXT,
  agent_json TEXT,
  context_json TEXT,
  args_json TEXT NOT NULL,
  status TEXT NOT NULL,
  verdict TEXT NOT NULL,
  source TEXT,
  reason TEXT,
  conditions_json TEXT,
  evaluated_json TEXT,
  policy_json TEXT,
  decided_by TEXT,
  decider_key_id TEXT,
  proof TEXT,
  proof_expires_at INTEGER,
  created_at INTEGER NOT NULL,
  decided_at INTEGER,
  expires_at INTEGER,
  executed INTEGER NOT NULL DEFAULT 0,
  outcome_json TEXT,
  approvals_json TEXT,
  edited_json TEXT,
  audit_seq INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS reviews_status_created ON reviews(status, created_at);
CREATE INDEX IF NOT EXISTS reviews_pending_expiry ON reviews(expires_at) WHERE status = 'pending';
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  scope TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  groups_json TEXT
) STRICT;
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  hash TEXT NOT NULL,
  record TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS policy_events (
  key TEXT NOT NULL,
  at INTEGER NOT NULL,
  amount REAL NOT NULL,
  expires INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS policy_events_key_at ON policy_events(key, at);
CREATE INDEX IF NOT EXISTS policy_events_expires ON policy_events(expires);
`;

const REVIEW_COLUMNS = `id, idem_key, submitter_key_id, tool, digest, call_id, run_id, agent_id, agent_json, context_json,
  args_json, status, verdict, source, reason, conditions_json, evaluated_json, policy_json, decided_by, decider_key_id,
  proof, proof_expires_at, created_at, decided_at, expires_at, executed, outcome_json, approvals_json, edited_json, audit_seq`;
/** The review columns (of `r`) and the text of the audit record that created it (`a`), for `hydrateReviewRow`. */
const READ_COLUMNS = `${REVIEW_COLUMNS.split(',').map((c) => `r.${c.trim()}`).join(', ')}, a.record AS audit_record`;
const READ_FROM = 'reviews r LEFT JOIN audit a ON a.seq = r.audit_seq';

/** The fields a decision writes. */
export interface DecideFields {
  id: string;
  verdict: Verdict;
  source: string;
  reason: string;
  decidedBy: string;
  deciderKeyId: string | null;
  proof: string | null;
  proofExpiresAt: number | null;
  decidedAt: number;
}

/** One approval written compare-and-set on a pending review. */
export interface ApprovalFields {
  id: string;
  /** The review's `approvals_json` as read before (null: none yet). */
  expected: string | null;
  approvalsJson: string;
  editedJson: string | null;
  /** Decide the review in the same step (this approval is the last one needed). */
  decide?: DecideFields;
}

/** The SQLite store of a review server: one file in the data dir, WAL, prepared statements. */
export interface Store {
  readonly db: DatabaseSync;
  readonly dataDir: string;
  readonly path: string;
  /** Runs `fn` in one `BEGIN IMMEDIATE` transaction (rolled back if it throws). */
  transaction<T>(fn: () => T): T;
  /** A number that identifies the transaction running now (new for every `BEGIN`); 0 outside one. */
  readonly transactionId: number;
  insertReview(row: ReviewRow): void;
  /** Inserts the review unless its idempotency key is taken (then nothing is written): true if inserted. */
  insertReviewIfNew(row: ReviewRow): boolean;
  getReview(id: string): ReviewRow | undefined;
  getReviewByIdem(idemKey: string): ReviewRow | undefined;
  /** Decides a pending review; false if it was no longer pending. */
  decideReview(d: DecideFields): boolean;
  /** Marks a decided review executed with its outcome; false if it already had one. */
  setOutcome(id: string, outcomeJson: string): boolean;
  /**
   * Compare-and-set of a pending review's approvals (`approvals_json` must still be `expected`),
   * deciding it too when `decide` is given; false (nothing written) if it changed or was decided.
   */
  recordApproval(c: ApprovalFields): boolean;
  listReviews(q: { status?: 'pending' | 'decided'; tool?: string; limit: number; before?: number }): ReviewRow[];
  pendingDueBefore(at: number): ReviewRow[];
  nextPendingExpiry(): number | undefined;
  countPending(): number;
  /** Goes up whenever this connection adds or revokes a key (in-memory key caches drop their entries). */
  readonly keyGeneration: number;
  insertKey(row: ApiKeyRow): void;
  keyByHash(hash: string): ApiKeyRow | undefined;
  listKeys(): ApiKeyRow[];
  revokeKey(id: string, at: number): boolean;
  lastAudit(): { seq: number; hash: string } | undefined;
  insertAudit(row: AuditRow): void;
  auditAfter(afterSeq: number, limit: number): AuditRow[];
  /** Seq and hash of the records after `afterSeq`, oldest first (no record text). */
  auditHashesAfter(afterSeq: number, limit: number): Array<{ seq: number; hash: string }>;
  /** The stored text of one record. */
  auditRecord(seq: number): string | undefined;
  close(): void;
}

/**
 * Opens (creating if needed) the SQLite store in `dataDir`: WAL journal, `synchronous=NORMAL`
 * (a commit is durable against process crashes at once and against power loss at the next
 * checkpoint), a busy timeout so the CLI and a running server can share the file.
 */
export function openStore(dataDir: string): Store {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, DATA_FILES.db);
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;');
  db.exec(SCHEMA);
  // Data dirs made before two-person approvals: add the columns (SQLite has no ADD COLUMN IF NOT EXISTS).
  const columns = new Set((db.prepare('PRAGMA table_info(reviews)').all() as Array<{ name: string }>).map((c) => c.name));
  for (const c of ['approvals_json', 'edited_json']) if (!columns.has(c)) db.exec(`ALTER TABLE reviews ADD COLUMN ${c} TEXT`);
  // Data dirs made before reviews pointed at their audit record (their rows keep args and proof).
  if (!columns.has('audit_seq')) db.exec('ALTER TABLE reviews ADD COLUMN audit_seq INTEGER');
  const keyColumns = new Set((db.prepare('PRAGMA table_info(api_keys)').all() as Array<{ name: string }>).map((c) => c.name));
  if (!keyColumns.has('groups_json')) db.exec('ALTER TABLE api_keys ADD COLUMN groups_json TEXT');

  const s = (sql: string): StatementSync => db.prepare(sql);
  const begin = s('BEGIN IMMEDIATE');
  const commit = s('COMMIT');
  const rollback = s('ROLLBACK');
  // Positional parameters: node:sqlite binds 27 named ones ~3× slower (a name lookup per column).
  const insertReview = s(`INSERT INTO reviews (${REVIEW_COLUMNS}) VALUES (${REVIEW_COLUMNS.split(',').map(() => '?').join(', ')})`);
  const insertReviewIfNew = s(`INSERT INTO reviews (${REVIEW_COLUMNS}) VALUES (${REVIEW_COLUMNS.split(',').map(() => '?').join(', ')}) ON CONFLICT (idem_key) DO NOTHING`);
  const getReview = s(`SELECT ${READ_COLUMNS} FROM ${READ_FROM} WHERE r.id = ?`);
  const getByIdem = s(`SELECT ${READ_COLUMNS} FROM ${READ_FROM} WHERE r.idem_key = ?`);
  const decide = s(`UPDATE reviews SET status = 'decided', verdict = $verdict, source = $source, reason = $reason,
    decided_by = $decided_by, decider_key_id = $decider_key_id, proof = $proof, proof_expires_at = $proof_expires_at,
    decided_at = $decided_at WHERE id = $id AND status = 'pending'`);
  const approve = s(`UPDATE reviews SET approvals_json = $approvals_json, edited_json = $edited_json
    WHERE id = $id AND status = 'pending' AND approvals_json IS $expected`);
  const approveAndDecide = s(`UPDATE reviews SET approvals_json = $approvals_json, edited_json = $edited_json, status = 'decided',
    verdict = $verdict, source = $source, reason = $reason, decided_by = $decided_by, decider_key_id = $decider_key_id, proof = $proof,
    proof_expires_at = $proof_expires_at, decided_at = $decided_at WHERE id = $id AND status = 'pending' AND approvals_json IS $expected`);
  const setOutcome = s(`UPDATE reviews SET executed = 1, outcome_json = ? WHERE id = ? AND outcome_json IS NULL AND status = 'decided'`);
  const dueBefore = s(`SELECT ${READ_COLUMNS} FROM ${READ_FROM} WHERE r.status = 'pending' AND r.expires_at <= ? ORDER BY r.expires_at LIMIT 500`);
  const nextExpiry = s(`SELECT MIN(expires_at) AS at FROM reviews WHERE status = 'pending'`);
  const countPending = s(`SELECT COUNT(*) AS n FROM reviews WHERE status = 'pending'`);
  const insertKey = s('INSERT INTO api_keys (id, name, scope, hash, created_at, revoked_at, groups_json) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const keyByHash = s('SELECT id, name, scope, hash, created_at, revoked_at, groups_json FROM api_keys WHERE hash = ?');
  const listKeys = s('SELECT id, name, scope, hash, created_at, revoked_at, groups_json FROM api_keys ORDER BY created_at');
  const revokeKey = s('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  const lastAudit = s('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
  const insertAudit = s('INSERT INTO audit (seq, id, hash, record) VALUES (?, ?, ?, ?)');
  const auditAfter = s('SELECT seq, id, hash, record FROM audit WHERE seq > ? ORDER BY seq LIMIT ?');
  const auditHashesAfter = s('SELECT seq, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?');
  const auditRecord = s('SELECT record FROM audit WHERE seq = ?');
  const listCache = new Map<string, StatementSync>();

  let depth = 0;
  let keyGeneration = 0;
  let transactions = 0;
  return {
    db,
    dataDir,
    path,
    transaction<T>(fn: () => T): T {
      if (depth > 0) return fn();
      begin.run();
      transactions++;
      depth++;
      try {
        const out = fn();
        commit.run();
        return out;
      } catch (error) {
        rollback.run();
        throw error;
      } finally {
        depth--;
      }
    },
    insertReview(r) {
      insertReview.run(...reviewParams(r));
    },
    insertReviewIfNew: (r) => Number(insertReviewIfNew.run(...reviewParams(r)).changes) === 1,
    getReview: (id) => hydrate(getReview.get(id)),
    getReviewByIdem: (k) => hydrate(getByIdem.get(k)),
    decideReview: (d) => Number(decide.run({ $id: d.id, ...decisionParams(d) }).changes) === 1,
    setOutcome: (id, json) => Number(setOutcome.run(json, id).changes) === 1,
    recordApproval(c) {
      const base = { $id: c.id, $expected: c.expected, $approvals_json: c.approvalsJson, $edited_json: c.editedJson };
      const d = c.decide;
      const r = d ? approveAndDecide.run({ ...base, ...decisionParams(d) }) : approve.run(base);
      return Number(r.changes) === 1;
    },
    listReviews(q) {
      const where: string[] = [];
      if (q.status) where.push('r.status = $status');
      if (q.tool) where.push('r.tool = $tool');
      if (q.before !== undefined) where.push('r.created_at < $before');
      const sql = `SELECT ${READ_COLUMNS} FROM ${READ_FROM} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY r.created_at DESC, r.id LIMIT $limit`;
      let stmt = listCache.get(sql);
      if (!stmt) listCache.set(sql, (stmt = s(sql)));
      const params: Record<string, string | number> = { $limit: q.limit };
      if (q.status) params.$status = q.status;
      if (q.tool) params.$tool = q.tool;
      if (q.before !== undefined) params.$before = q.before;
      return (stmt.all(params) as unknown as ReviewRow[]).map(hydrateReviewRow);
    },
    pendingDueBefore: (at) => (dueBefore.all(at) as unknown as ReviewRow[]).map(hydrateReviewRow),
    nextPendingExpiry() {
      const row = nextExpiry.get() as { at: number | null } | undefined;
      return row?.at ?? undefined;
    },
    countPending: () => Number((countPending.get() as { n: number }).n),
    get transactionId() {
      return depth > 0 ? transactions : 0;
    },
    get keyGeneration() {
      return keyGeneration;
    },
    insertKey(k) {
      insertKey.run(k.id, k.name, k.scope, k.hash, k.created_at, k.revoked_at, k.groups_json ?? null);
      keyGeneration++;
    },
    keyByHash: (h) => keyByHash.get(h) as ApiKeyRow | undefined,
    listKeys: () => listKeys.all() as unknown as ApiKeyRow[],
    revokeKey(id, at) {
      keyGeneration++;
      return Number(revokeKey.run(at, id).changes) === 1;
    },
    lastAudit: () => lastAudit.get() as { seq: number; hash: string } | undefined,
    insertAudit(row) {
      insertAudit.run(row.seq, row.id, row.hash, row.record);
    },
    auditAfter: (after, limit) => auditAfter.all(after, limit) as unknown as AuditRow[],
    auditHashesAfter: (after, limit) => auditHashesAfter.all(after, limit) as unknown as Array<{ seq: number; hash: string }>,
    auditRecord: (seq) => (auditRecord.get(seq) as { record: string } | undefined)?.record,
    close() {
      if (db.isOpen) db.close();
    },
  };
}

/** The positional parameters of a review insert, in REVIEW_COLUMNS order. */
function reviewParams(r: ReviewRow): SQLInputValue[] {
  return [
    r.id, r.idem_key, r.submitter_key_id, r.tool, r.digest, r.call_id, r.run_id, r.agent_id, r.agent_json, r.context_json,
    r.args_json, r.status, r.verdict, r.source, r.reason, r.conditions_json, r.evaluated_json, r.policy_json, r.decided_by,
    r.decider_key_id, r.proof, r.proof_expires_at, r.created_at, r.decided_at, r.expires_at, r.executed, r.outcome_json,
    r.approvals_json ?? null, r.edited_json ?? null, r.audit_seq ?? null,
  ];
}

function hydrate(row: unknown): ReviewRow | undefined {
  return row === undefined ? undefined : hydrateReviewRow(row as ReviewRow);
}

/** The named parameters of the columns a decision writes (the decide and approve-and-decide statements). */
function decisionParams(d: DecideFields) {
  return {
    $verdict: d.verdict,
    $source: d.source,
    $reason: d.reason,
    $decided_by: d.decidedBy,
    $decider_key_id: d.deciderKeyId,
    $proof: d.proof,
    $proof_expires_at: d.proofExpiresAt,
    $decided_at: d.decidedAt,
  };
}
