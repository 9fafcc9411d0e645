import { checkpointOf, sealLine, type AuditEntry, type AuditRecord, type ChainHead, type CheckpointSigner, type RedactOptions } from '@toolgate/core';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ReviewServerError, ServerErrorCodes } from '../errors';
import { newSigningKeyFile, rotatedKeyFile, type SigningKeyFile } from '../signing/signing-keys';
import type { ApiKeyRow, ReviewRow } from './open-store';
import { hydrateReviewRow, slimReviewRow } from './review-row';
import type { ApprovalWrite, DecideInput, ListQuery, ReviewStore } from './review-store';

/** The database cannot be reached (or went away mid-request): 503, never a 500 a gate could misread. */
export class StoreUnavailableError extends ReviewServerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(503, ServerErrorCodes.STORE_UNAVAILABLE, message, options);
  }
}

export interface PostgresStoreOptions {
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /** How long a request waits for a connection before it fails with STORE_UNAVAILABLE. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Redaction applied when audit records are sealed (as the SQLite trail does). */
  redact?: RedactOptions;
}

export interface PostgresStore extends ReviewStore {
  readonly kind: 'postgres';
  readonly pool: pg.Pool;
  /** Shared policy counters: adds `amount` under `key` only if the window's sum stays ≤ `limit`, atomically across every server. */
  policyReserve(key: string, atMs: number, amount: number, windowMs: number, limit: number): Promise<boolean>;
  policySum(key: string, sinceMs: number): Promise<number>;
  /**
   * Runs `fn` in one transaction on a pooled connection, for the shared policy counters
   * (`postgresPolicyState`): committed when it resolves, rolled back when it throws; a database
   * that is away is a `StoreUnavailableError` (503).
   */
  policyTransaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T>;
  /**
   * Appends a signed checkpoint of the chain head (as the SQLite trail does), unless the chain is
   * empty or its head already is a checkpoint. Returns the checkpoint record.
   */
  checkpoint(signer: CheckpointSigner): Promise<AuditRecord | undefined>;
  /** The stored signing keys without generating any (offline checks). */
  readSigningKeys(): Promise<SigningKeyFile | undefined>;
  /** This store's id in decision notifications (random per `openPostgresStore`). */
  readonly instanceId: string;
  /**
   * Listens for decisions committed by any server on this database (LISTEN/NOTIFY on one dedicated
   * connection, reconnected with backoff when it drops). `onDecided(id, instanceId)` runs for each;
   * `onReconnect()` after every (re)connection but the first, so the caller can re-read what it waits
   * for (a notification sent while the connection was down is lost).
   */
  listenDecisions(handlers: ListenHandlers): Promise<{ close(): Promise<void> }>;
}

/** The NOTIFY channel of committed decisions; the payload is `<instanceId> <reviewId>`. */
export const DECIDED_CHANNEL = 'toolgate_decided';
/** The NOTIFY channel of approvals recorded on a review that still waits for more; payload as DECIDED_CHANNEL. */
export const APPROVED_CHANNEL = 'toolgate_approved';
/** The NOTIFY channel of signing-key rotations; the payload is the new active kid. */
export const SIGNING_KEYS_CHANNEL = 'toolgate_signing_keys';

export interface ListenHandlers {
  onDecided(id: string, instanceId: string): void;
  /** Another server recorded an approval of a review that still waits for more approvers (dashboards show "1 of 2"). */
  onApproved?(id: string, instanceId: string): void;
  /** Another server (or the CLI) rotated the signing key: re-read it. */
  onSigningKeys?(activeKid: string): void;
  onReconnect?(): void;
}

/** Schema versions, applied in order, each once, under an advisory lock (replicas may start together). */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE reviews (
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
    proof_expires_at BIGINT,
    created_at BIGINT NOT NULL,
    decided_at BIGINT,
    expires_at BIGINT,
    executed INTEGER NOT NULL DEFAULT 0,
    outcome_json TEXT
  );
  CREATE INDEX reviews_status_created ON reviews(status, created_at);
  CREATE INDEX reviews_pending_expiry ON reviews(expires_at) WHERE status = 'pending';
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
  );
  CREATE TABLE audit (
    seq BIGINT PRIMARY KEY,
    id TEXT NOT NULL,
    hash TEXT NOT NULL,
    record TEXT NOT NULL
  );
  CREATE TABLE audit_head (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    seq BIGINT,
    hash TEXT
  );
  INSERT INTO audit_head (one, seq, hash) VALUES (1, NULL, NULL);
  CREATE TABLE policy_events (
    key TEXT NOT NULL,
    at BIGINT NOT NULL,
    amount DOUBLE PRECISION NOT NULL,
    expires BIGINT NOT NULL
  );
  CREATE INDEX policy_events_key_at ON policy_events(key, at);
  CREATE INDEX policy_events_expires ON policy_events(expires);
  CREATE TABLE signing_keys (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    file TEXT NOT NULL
  );`,
  // 2: two-person approvals and edit-and-approve (issue 11): a review's approvals and decided edit,
  // an API key's approver groups.
  `ALTER TABLE reviews ADD COLUMN approvals_json TEXT, ADD COLUMN edited_json TEXT;
  ALTER TABLE api_keys ADD COLUMN groups_json TEXT;`,
  // 3: a review points at the audit record that created it and no longer repeats its args and a
  // policy decision's proof (rows stored before keep theirs: audit_seq is NULL there).
  `ALTER TABLE reviews ADD COLUMN audit_seq BIGINT;`,
];

/** `pg_advisory_xact_lock` key of the migrations ("toolgate" in ASCII). */
const MIGRATION_LOCK = 0x746f6f6c67617465n;

const REVIEW_COLUMNS = `id, idem_key, submitter_key_id, tool, digest, call_id, run_id, agent_id, agent_json, context_json,
  args_json, status, verdict, source, reason, conditions_json, evaluated_json, policy_json, decided_by, decider_key_id,
  proof, proof_expires_at, created_at, decided_at, expires_at, executed, outcome_json, approvals_json, edited_json, audit_seq`;
/** The review columns (of `r`) and the text of the audit record that created it (`a`), for `hydrateReviewRow`. */
const READ_COLUMNS = `${REVIEW_COLUMNS.split(',').map((c) => `r.${c.trim()}`).join(', ')}, a.record AS audit_record`;
const READ_FROM = 'reviews r LEFT JOIN audit a ON a.seq = r.audit_seq';
const REVIEW_PARAMS = REVIEW_COLUMNS.split(',').map((_, i) => `$${i + 1}`).join(', ');
const KEY_COLUMNS = 'id, name, scope, hash, created_at, revoked_at, groups_json';
const INSERT_REVIEW = `INSERT INTO reviews (${REVIEW_COLUMNS}) VALUES (${REVIEW_PARAMS}) ON CONFLICT (idem_key) DO NOTHING`;
const LOCK_HEAD = 'SELECT seq, hash FROM audit_head WHERE one = 1 FOR UPDATE';
/** Most new reviews written in one transaction (30 parameters each; PostgreSQL takes 65,535 per statement). */
const MAX_CREATE_BATCH = 256;
/** One audit record and the new chain head, in one statement (one round trip). */
const APPEND = 'WITH appended AS (INSERT INTO audit (seq, id, hash, record) VALUES ($1, $2, $3, $4)) UPDATE audit_head SET seq = $1, hash = $3 WHERE one = 1';

// BIGINT columns hold ms timestamps (< 2^53): read them as numbers, not strings.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/** SQLSTATE classes that mean the database (not the request) is the problem. */
function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (/^(08|57P|53)/.test(code)) return true; // connection exception, operator intervention, insufficient resources
    if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|EAI_AGAIN)$/.test(code)) return true;
  }
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended|not queryable/i.test(
    error.message,
  );
}

function unavailable(error: unknown): never {
  if (error instanceof ReviewServerError) throw error;
  if (isUnavailable(error)) {
    throw new StoreUnavailableError(`the PostgreSQL store is unavailable: ${(error as Error).message}`, { cause: error });
  }
  throw error;
}

/** postgres:// or postgresql:// */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

/**
 * Opens the PostgreSQL store (a `pg` pool) and migrates the schema: idempotently, under a
 * transaction-scoped advisory lock so several servers starting at once apply each version once.
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const instanceId = randomBytes(6).toString('hex');
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
    types,
  });
  // An idle connection dropped by the server (restart, failover) must not crash the process: the
  // pool discards it and the next request opens a new one.
  pool.on('error', () => {});
  try {
    await migrate(pool);
  } catch (error) {
    await pool.end().catch(() => {});
    unavailable(error);
  }

  const q = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> => {
    try {
      return await pool.query<R>(sql, params);
    } catch (error) {
      return unavailable(error);
    }
  };
  /** `begin`: the first statement(s), sent as one simple query (e.g. BEGIN and a lock in one round trip). */
  const tx = async <T>(fn: (c: pg.PoolClient, first: pg.QueryResult[]) => Promise<T>, begin = 'BEGIN'): Promise<T> => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      return unavailable(error);
    }
    let broken = false;
    // A checked-out client has no 'error' listener of the pool's: a connection the server drops
    // (restart, failover) mid-transaction would be an uncaught exception and end the process.
    const dropped = () => {
      broken = true;
    };
    client.on('error', dropped);
    try {
      const first = (await client.query(begin)) as unknown as pg.QueryResult | pg.QueryResult[];
      const out = await fn(client, Array.isArray(first) ? first : [first]);
      await client.query('COMMIT');
      return out;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      return unavailable(error);
    } finally {
      client.removeListener('error', dropped);
      client.release(broken || undefined);
    }
  };
  /** Appends to the one chain: the head row is locked for the rest of the caller's transaction. */
  const headOf = (r: pg.QueryResult | undefined): ChainHead | null => {
    const h = r?.rows[0] as { seq: number | string | null; hash: string | null } | undefined;
    // A simple (multi-statement) query returns BIGINT as text even with the type parser: read it as a number.
    return h && h.seq !== null && h.hash !== null ? { seq: Number(h.seq), hash: h.hash } : null;
  };
  const lockHead = async (c: pg.PoolClient): Promise<ChainHead | null> => headOf(await c.query({ name: 'tg_lock_head', text: LOCK_HEAD }));
  /** Appends after `prev` (the head, locked by this transaction): the record and the new head in one statement. */
  const appendAfter = async (c: pg.PoolClient, prev: ChainHead | null, entry: AuditEntry, redact: RedactOptions | undefined = options.redact): Promise<AuditRecord> => {
    // The stored text is the exact line the hash covers (audit format 2): an export writes it as is.
    const { record: sealed, line } = sealLine(entry, prev, redact);
    await c.query({ name: 'tg_append', text: APPEND, values: [sealed.seq, sealed.id, sealed.hash, line] });
    return sealed;
  };
  const append = async (c: pg.PoolClient, entry: AuditEntry, redact: RedactOptions | undefined = options.redact): Promise<AuditRecord> =>
    appendAfter(c, await lockHead(c), entry, redact);
  const reviewValues = (r: ReviewRow): unknown[] => [
    r.id, r.idem_key, r.submitter_key_id, r.tool, r.digest, r.call_id, r.run_id, r.agent_id, r.agent_json, r.context_json,
    r.args_json, r.status, r.verdict, r.source, r.reason, r.conditions_json, r.evaluated_json, r.policy_json, r.decided_by,
    r.decider_key_id, r.proof, r.proof_expires_at, r.created_at, r.decided_at, r.expires_at, r.executed, r.outcome_json,
    r.approvals_json ?? null, r.edited_json ?? null, r.audit_seq ?? null,
  ];
  const one = async (sql: string, params: unknown[]): Promise<ReviewRow | undefined> => {
    const row = (await q<ReviewRow>(sql, params)).rows[0];
    return row === undefined ? undefined : hydrateReviewRow(row);
  };
  const many = async (sql: string, params: unknown[]): Promise<ReviewRow[]> => (await q<ReviewRow>(sql, params)).rows.map(hydrateReviewRow);

  /** One new review in its own transaction (and what a batch falls back to). */
  const createOne = (row: ReviewRow, entry: AuditEntry): Promise<{ created: boolean; row: ReviewRow }> =>
    tx(async (c, first) => {
      // The chain head is locked with BEGIN (one round trip), so the record's seq is known and the
      // row can point at it (audit_seq) instead of repeating its args and proof.
      const prev = headOf(first[1]);
      // ON CONFLICT DO NOTHING: a concurrent insert of the same key waits for the other
      // transaction, then inserts nothing; the loser reads the winner's row.
      const ins = await c.query({ name: 'tg_insert_review', text: INSERT_REVIEW, values: reviewValues(slimReviewRow(row, entry, prev ? prev.seq + 1 : 1)) });
      if (ins.rowCount !== 1) {
        const existing = await c.query<ReviewRow>(`SELECT ${READ_COLUMNS} FROM ${READ_FROM} WHERE r.idem_key = $1`, [row.idem_key]);
        return { created: false, row: hydrateReviewRow(existing.rows[0]!) };
      }
      await appendAfter(c, prev, entry);
      return { created: true, row };
    }, `BEGIN; ${LOCK_HEAD}`);

  /**
   * Group commit of new reviews: every decision appends to the one chain (its head row is locked
   * until commit), so transactions of one server wait on each other anyway. Reviews queued while a
   * batch is written go into the next one: BEGIN + head lock, one multi-row INSERT, one multi-row
   * audit INSERT + head UPDATE, COMMIT — four round trips per batch, not per review. Each caller's
   * promise settles after the COMMIT (never before). A batch that meets a taken idempotency key, or
   * any other error that is not an outage, is rolled back and its reviews written one by one, so a
   * replay gets the stored review and one bad write fails only its own caller.
   */
  interface QueuedCreate {
    row: ReviewRow;
    entry: AuditEntry;
    resolve(v: { created: boolean; row: ReviewRow }): void;
    reject(e: unknown): void;
  }
  let creates: QueuedCreate[] = [];
  let creating = false;
  /** Writes every review of `batch` in one transaction; throws (rolled back) if any key was taken. */
  const createBatch = (batch: QueuedCreate[]): Promise<void> =>
    tx(async (c, first) => {
      let prev = headOf(first[1]);
      const base = prev ? prev.seq : 0;
      const values: unknown[] = [];
      const tuples: string[] = [];
      for (let i = 0; i < batch.length; i++) {
        const v = reviewValues(slimReviewRow(batch[i]!.row, batch[i]!.entry, base + i + 1));
        tuples.push(`(${v.map((_, j) => `$${values.length + j + 1}`).join(', ')})`);
        for (const x of v) values.push(x);
      }
      const ins = await c.query(`INSERT INTO reviews (${REVIEW_COLUMNS}) VALUES ${tuples.join(', ')} ON CONFLICT (idem_key) DO NOTHING`, values);
      // A key another writer stored first: roll back and write each review on its own (a replay answers with the stored one).
      if (ins.rowCount !== batch.length) throw new Error('an idempotency key of the batch is taken');
      const audit: unknown[] = [];
      const tuplesA: string[] = [];
      for (const b of batch) {
        const { record, line } = sealLine(b.entry, prev, options.redact);
        const n = audit.push(record.seq, record.id, record.hash, line);
        tuplesA.push(`($${n - 3}::bigint, $${n - 2}, $${n - 1}, $${n})`);
        prev = { seq: record.seq, hash: record.hash };
      }
      const n = audit.push(prev!.seq, prev!.hash);
      await c.query(
        `WITH appended AS (INSERT INTO audit (seq, id, hash, record) VALUES ${tuplesA.join(', ')}) UPDATE audit_head SET seq = $${n - 1}::bigint, hash = $${n} WHERE one = 1`,
        audit,
      );
    }, `BEGIN; ${LOCK_HEAD}`);
  const writeCreates = async (): Promise<void> => {
    try {
      while (creates.length > 0) {
        const batch = creates.slice(0, MAX_CREATE_BATCH);
        creates = creates.slice(batch.length);
        if (batch.length === 1) {
          const b = batch[0]!;
          await createOne(b.row, b.entry).then(b.resolve, b.reject);
          continue;
        }
        try {
          await createBatch(batch);
        } catch (error) {
          if (error instanceof StoreUnavailableError) for (const b of batch) b.reject(error);
          else await Promise.all(batch.map((b) => createOne(b.row, b.entry).then(b.resolve, b.reject)));
          continue;
        }
        for (const b of batch) b.resolve({ created: true, row: b.row });
      }
    } finally {
      creating = false;
    }
  };

  const store: PostgresStore = {
    kind: 'postgres',
    pool,
    instanceId,
    listenDecisions: (handlers) => listenDecisions(url, handlers),
    createReview: (row, entry) =>
      new Promise((resolve, reject) => {
        creates.push({ row, entry, resolve, reject });
        if (!creating) {
          creating = true;
          // Reviews submitted in the same event-loop turn (and while a batch is being written) share one transaction.
          setImmediate(() => void writeCreates());
        }
      }),
    getReview: (id) => one(`SELECT ${READ_COLUMNS} FROM ${READ_FROM} WHERE r.id = $1`, [id]),
    getReviewByIdem: (k) => one(`SELECT ${READ_COLUMNS} FROM ${READ_FROM} WHERE r.idem_key = $1`, [k]),
    decideReview: (d: DecideInput, entry) =>
      tx(async (c) => {
        const r = await c.query(
          `UPDATE reviews SET status = 'decided', verdict = $2, source = $3, reason = $4, decided_by = $5, decider_key_id = $6,
             proof = $7, proof_expires_at = $8, decided_at = $9 WHERE id = $1 AND status = 'pending'`,
          [d.id, d.verdict, d.source, d.reason, d.decidedBy, d.deciderKeyId, d.proof, d.proofExpiresAt, d.decidedAt],
        );
        if (r.rowCount !== 1) return false;
        await append(c, entry);
        // Delivered at commit, to every server listening on this database (long-polls, dashboards).
        await c.query('SELECT pg_notify($1, $2)', [DECIDED_CHANNEL, `${instanceId} ${d.id}`]);
        return true;
      }),
    recordApproval: (a: ApprovalWrite, entry) =>
      tx(async (c) => {
        // One UPDATE, compare-and-set on approvals_json: two approvers racing on two servers both
        // read the same state; the second UPDATE waits on the row lock, re-checks the WHERE against
        // the first one's committed row, matches nothing, and that approver reads again.
        const d = a.decide;
        const r = d
          ? await c.query(
              `UPDATE reviews SET approvals_json = $3, edited_json = $4, status = 'decided', verdict = $5, source = $6, reason = $7,
                 decided_by = $8, decider_key_id = $9, proof = $10, proof_expires_at = $11, decided_at = $12
               WHERE id = $1 AND status = 'pending' AND approvals_json IS NOT DISTINCT FROM $2`,
              [a.id, a.expected, a.approvalsJson, a.editedJson, d.verdict, d.source, d.reason, d.decidedBy, d.deciderKeyId, d.proof, d.proofExpiresAt, d.decidedAt],
            )
          : await c.query(
              `UPDATE reviews SET approvals_json = $3, edited_json = $4 WHERE id = $1 AND status = 'pending' AND approvals_json IS NOT DISTINCT FROM $2`,
              [a.id, a.expected, a.approvalsJson, a.editedJson],
            );
        if (r.rowCount !== 1) return false;
        await append(c, entry);
        await c.query('SELECT pg_notify($1, $2)', [d ? DECIDED_CHANNEL : APPROVED_CHANNEL, `${instanceId} ${a.id}`]);
        return true;
      }),
    setOutcome: (id, json, entry) =>
      tx(async (c) => {
        const r = await c.query(`UPDATE reviews SET executed = 1, outcome_json = $1 WHERE id = $2 AND outcome_json IS NULL AND status = 'decided'`, [json, id]);
        if (r.rowCount !== 1) return false;
        await append(c, entry);
        return true;
      }),
    appendAudit: (entry) => tx((c) => append(c, entry)),
    async auditAfter(after, limit) {
      const r = await q<{ record: string }>('SELECT record FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2', [after, limit]);
      return r.rows.map((x) => JSON.parse(x.record) as AuditRecord);
    },
    async auditHead() {
      const r = await q<{ seq: number | null; hash: string | null }>('SELECT seq, hash FROM audit_head WHERE one = 1');
      const h = r.rows[0];
      return h && h.seq !== null && h.hash !== null ? { seq: h.seq, hash: h.hash } : undefined;
    },
    async listReviews(lq: ListQuery) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (lq.status) where.push(`r.status = $${params.push(lq.status)}`);
      if (lq.tool) where.push(`r.tool = $${params.push(lq.tool)}`);
      if (lq.before !== undefined) where.push(`r.created_at < $${params.push(lq.before)}`);
      const sql = `SELECT ${READ_COLUMNS} FROM ${READ_FROM} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY r.created_at DESC, r.id LIMIT $${params.push(lq.limit)}`;
      return many(sql, params);
    },
    async pendingDueBefore(at) {
      return many(`SELECT ${READ_COLUMNS} FROM ${READ_FROM} WHERE r.status = 'pending' AND r.expires_at <= $1 ORDER BY r.expires_at LIMIT 500`, [at]);
    },
    async nextPendingExpiry() {
      const r = await q<{ at: number | null }>(`SELECT MIN(expires_at) AS at FROM reviews WHERE status = 'pending'`);
      return r.rows[0]?.at ?? undefined;
    },
    async countPending() {
      const r = await q<{ n: number }>(`SELECT COUNT(*) AS n FROM reviews WHERE status = 'pending'`);
      return Number(r.rows[0]?.n ?? 0);
    },
    insertKey: (k, entry) =>
      tx(async (c) => {
        await c.query(`INSERT INTO api_keys (${KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
          k.id, k.name, k.scope, k.hash, k.created_at, k.revoked_at, k.groups_json ?? null,
        ]);
        if (entry) await append(c, entry);
      }),
    async keyByHash(h) {
      return (await q<ApiKeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE hash = $1`, [h])).rows[0];
    },
    async listKeys() {
      return (await q<ApiKeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_at`)).rows;
    },
    revokeKey: (id, at, entry) =>
      tx(async (c) => {
        const ok = (await c.query('UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id])).rowCount === 1;
        if (ok && entry) await append(c, entry);
        return ok;
      }),
    async signingKeys() {
      const read = async () => (await q<{ file: string }>('SELECT file FROM signing_keys WHERE one = 1')).rows[0];
      const found = await read();
      if (found) return JSON.parse(found.file) as SigningKeyFile;
      // Two servers starting on an empty database: one key wins, both sign with it.
      await q('INSERT INTO signing_keys (one, file) VALUES (1, $1) ON CONFLICT (one) DO NOTHING', [JSON.stringify(await newSigningKeyFile())]);
      return JSON.parse((await read())!.file) as SigningKeyFile;
    },
    async readSigningKeys() {
      const row = (await q<{ file: string }>('SELECT file FROM signing_keys WHERE one = 1')).rows[0];
      return row ? (JSON.parse(row.file) as SigningKeyFile) : undefined;
    },
    async rotateSigningKeys() {
      await store.signingKeys();
      const first = JSON.parse((await q<{ file: string }>('SELECT file FROM signing_keys WHERE one = 1')).rows[0]!.file) as SigningKeyFile;
      // The new key is generated outside the transaction (no await inside a row lock on crypto);
      // the compare-and-set below retries if another server rotated meanwhile.
      let base = first;
      for (;;) {
        const next = await rotatedKeyFile(base);
        const done = await tx(async (c) => {
          const cur = await c.query<{ file: string }>('SELECT file FROM signing_keys WHERE one = 1 FOR UPDATE');
          const now = JSON.parse(cur.rows[0]!.file) as SigningKeyFile;
          if (now.activeKid !== base.activeKid) return now;
          await c.query('UPDATE signing_keys SET file = $1 WHERE one = 1', [JSON.stringify(next)]);
          // Every server on this database re-reads its signing key at commit (they all sign with the active one).
          await c.query('SELECT pg_notify($1, $2)', [SIGNING_KEYS_CHANNEL, next.activeKid]);
          return undefined;
        });
        if (done === undefined) return next;
        base = done;
      }
    },
    async policyReserve(key, atMs, amount, windowMs, limit) {
      return tx(async (c) => {
        // One lock per counter key: adds to other keys are not serialised behind this one.
        await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`toolgate.policy:${key}`]);
        const s = await c.query<{ v: number }>('SELECT COALESCE(SUM(amount), 0)::float8 AS v FROM policy_events WHERE key = $1 AND at > $2', [key, atMs - windowMs]);
        if (Number(s.rows[0]!.v) + amount > limit) return false;
        await c.query('INSERT INTO policy_events (key, at, amount, expires) VALUES ($1, $2, $3, $4)', [key, atMs, amount, atMs + windowMs]);
        return true;
      });
    },
    async policySum(key, sinceMs) {
      const r = await q<{ v: number }>('SELECT COALESCE(SUM(amount), 0)::float8 AS v FROM policy_events WHERE key = $1 AND at > $2', [key, sinceMs]);
      return Number(r.rows[0]!.v);
    },
    policyTransaction: (fn) => tx(fn),
    checkpoint: (signer) =>
      tx(async (c) => {
        const head = await lockHead(c);
        if (!head) return undefined;
        const last = await c.query<{ record: string }>('SELECT record FROM audit WHERE seq = $1', [head.seq]);
        if (last.rows[0] && checkpointOf(JSON.parse(last.rows[0].record) as AuditRecord) !== undefined) return undefined;
        // Sealed with the default redaction only: a checkpoint's fields are not secrets.
        return append(c, signer.entry(head), undefined);
      }),
    async ping() {
      await q('SELECT 1');
    },
    async close() {
      await pool.end();
    },
  };
  return store;
}

async function migrate(pool: pg.Pool): Promise<void> {
  const c = await pool.connect();
  const dropped = () => {};
  c.on('error', dropped); // see tx(): a dropped connection must not crash the process
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    await c.query('CREATE TABLE IF NOT EXISTS toolgate_schema (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const done = new Set((await c.query<{ version: number }>('SELECT version FROM toolgate_schema')).rows.map((r) => r.version));
    for (let v = 1; v <= MIGRATIONS.length; v++) {
      if (done.has(v)) continue;
      await c.query(MIGRATIONS[v - 1]!);
      await c.query('INSERT INTO toolgate_schema (version, applied_at) VALUES ($1, $2)', [v, Date.now()]);
    }
    await c.query('COMMIT');
  } catch (error) {
    await c.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    c.removeListener('error', dropped);
    c.release();
  }
}

/** One dedicated connection that LISTENs for decisions, reconnecting (250 ms → 5 s backoff) until closed. */
async function listenDecisions(url: string, handlers: ListenHandlers): Promise<{ close(): Promise<void> }> {
  let closed = false;
  let started = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let delay = 250;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url, types, connectionTimeoutMillis: 5000 });
    c.on('notification', (m) => {
      if (m.channel === SIGNING_KEYS_CHANNEL && m.payload) return handlers.onSigningKeys?.(m.payload);
      if ((m.channel !== DECIDED_CHANNEL && m.channel !== APPROVED_CHANNEL) || !m.payload) return;
      const space = m.payload.indexOf(' ');
      if (space <= 0) return;
      if (m.channel === DECIDED_CHANNEL) handlers.onDecided(m.payload.slice(space + 1), m.payload.slice(0, space));
      else handlers.onApproved?.(m.payload.slice(space + 1), m.payload.slice(0, space));
    });
    c.on('error', () => {});
    c.on('end', () => {
      if (client === c) client = undefined;
      if (!closed) schedule();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${DECIDED_CHANNEL}; LISTEN ${APPROVED_CHANNEL}; LISTEN ${SIGNING_KEYS_CHANNEL}`);
    } catch (error) {
      c.removeAllListeners('end');
      await c.end().catch(() => {});
      throw error;
    }
    if (closed) {
      await c.end().catch(() => {});
      return;
    }
    client = c;
    delay = 250;
  };
  const schedule = () => {
    if (retry || closed || !started) return;
    retry = setTimeout(() => {
      retry = undefined;
      connect().then(
        () => handlers.onReconnect?.(),
        () => {
          delay = Math.min(delay * 2, 5000);
          schedule();
        },
      );
    }, delay);
    retry.unref();
  };
  try {
    await connect();
  } catch (error) {
    unavailable(error);
  }
  started = true;
  // Dropped between connect() and here: reconnect now.
  if (!client) schedule();
  return {
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    },
  };
}
