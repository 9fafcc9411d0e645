import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import {
  compilePolicy,
  createCheckpointSigner,
  createProofSigner,
  loadPolicySync,
  OptionsError,
  type CompiledPolicy,
  type CheckpointSigner,
  type Policy,
  type PolicyStateStore,
  type ProofSigner,
  type SharedPolicyState,
  type RedactOptions,
} from '@toolgate/core';
import { adminEntry, createApiKey, newApiKey, revokeApiKey, type CreatedKey, type Scope } from '../auth/api-keys';
import { createKeyCache, type KeySource } from '../auth/key-cache';
import { registerDashboard, type DashboardRegistrar } from '../dashboard/register-dashboard';
import { ReviewServerError, ServerErrorCodes } from '../errors';
import { activeKey, checkpointSignerOf, jwksOf, type SigningKeyFile } from '../signing/signing-keys';
import { openAuditTrail, type AuditTrail } from '../store/audit-trail';
import { createGroupCommit } from '../store/group-commit';
import { openStore, type ApiKeyRow, type Store } from '../store/open-store';
import { isPostgresUrl, openPostgresStore, type PostgresStore } from '../store/postgres-store';
import { deferredReviewStore } from '../store/deferred-review-store';
import { postgresPolicyState } from '../store/postgres-policy-state';
import type { ReviewStore } from '../store/review-store';
import { sqlitePolicyState } from '../store/sqlite-policy-state';
import { sqliteReviewStore } from '../store/sqlite-review-store';
import { createMetrics, type ServerMetrics } from './metrics';
import { openApiOptions } from './openapi';
import { ReviewService } from './review-service';
import { allowedHostSet, isAllowedHost } from './host-check';
import { isStoreUnavailable } from './request-guard';
import { registerRoutes, verifyStoreTrail, verifyTrail } from './routes';
import { checkReadiness } from './readiness';
import { createWaiters } from './waiters';
import { createWebhookDispatcher, type WebhookOptions, type WebhookTarget } from './webhooks';

export interface ReviewServerOptions {
  /**
   * Directory for `toolgate.db` (SQLite, WAL), `audit.jsonl` and `signing-keys.json`. Created if
   * missing. Required unless `database` is set (then unused: everything lives in PostgreSQL).
   */
  dataDir?: string;
  /**
   * `postgres://user:pass@host:port/db`: the PostgreSQL store instead of the SQLite file. Several
   * servers on one database are one service (reviews, keys, signing keys and the audit chain are
   * shared). The schema is migrated at start. The URL is never logged nor returned.
   */
  database?: string;
  /** Connections in the PostgreSQL pool (with `database`). Default 10. */
  databasePoolSize?: number;
  /** A policy object or the path of a policy file (JSON/YAML). Without one, every call waits for a human. */
  policy?: Policy | string;
  /** Default `127.0.0.1` (loopback only). */
  host?: string;
  /** Default 7070; 0 picks a free port. */
  port?: number;
  /** A pending review not decided within this long is a deny (`decidedBy: 'expiry'`). Default 15 minutes. */
  pendingTimeoutMs?: number;
  /** POSTed on `review.decided`, signed with Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`); secrets are `whsec_…` (`createWebhookSecret()`). */
  webhooks?: WebhookTarget[];
  webhookOptions?: WebhookOptions;
  /** Largest request body. Default 1 MiB; larger bodies get 413 BODY_TOO_LARGE. */
  bodyLimitBytes?: number;
  /**
   * Fastify's logger (pino: JSON lines on stdout). `true` logs at `info`, requests included; an
   * object sets the level, the stream the lines go to, and whether every request is logged
   * (`requests`, default true). Default false.
   */
  logger?: boolean | ReviewServerLogOptions;
  /** Lifetime of the proofs this server signs. Default 600 s. */
  proofTtlSeconds?: number;
  /** `iss` of the proofs. Default `toolgate-reviewer`. */
  issuer?: string;
  /** Extra redaction for stored args/context and audit records. */
  redact?: RedactOptions;
  /** Batch interval of the JSONL audit mirror (one fdatasync per batch). Default 10 ms. */
  auditFlushMs?: number;
  /** The dashboard at `/`; `false` mounts none. Default: the built-in dashboard. */
  dashboard?: DashboardRegistrar | false;
  /** Node process metrics in `/metrics`. Default true. */
  defaultMetrics?: boolean;
  /**
   * How long an authenticated API key is trusted from memory before the database is read again.
   * A key revoked through this server stops working at once; one revoked by another process (the
   * CLI) within this long. Default 1000 ms; 0 reads the database on every request.
   */
  apiKeyCacheMs?: number;
  /**
   * Host names (from the `Host` header) this server answers for, besides the loopback names and
   * `host`. A request naming any other host gets 403 HOST_NOT_ALLOWED, so a web page whose DNS
   * name is rebound to 127.0.0.1 cannot read `/metrics` or the API. `.example.com` allows every
   * subdomain; `['*']` turns the check off. When `host` is `0.0.0.0` or `::`, this machine's host
   * name and interface addresses are allowed too. Default `[]`.
   */
  allowedHosts?: string[];
}

export interface ReviewServerLogOptions {
  level?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Where the JSON lines go. Default stdout. */
  stream?: { write(line: string): void };
  /** Log each request and response. Default true. */
  requests?: boolean;
}

/** Options of a key made with `server.keys.create` / `createKey` / `createStored`. */
export interface KeyCreateOptions {
  /** Approver groups of the key: a policy rule with `approverGroups` counts only approvers in one of them. */
  groups?: readonly string[];
}

/** An embeddable review server. */
export interface ReviewServer {
  readonly app: FastifyInstance;
  /** `http://host:port` once listening, else ''. */
  readonly url: string;
  /** Starts listening; resolves with the URL. */
  listen(): Promise<string>;
  /** Stops: wakes long-polls, finishes in-flight requests, flushes the audit mirror, closes the store. */
  close(): Promise<void>;
  keys: {
    /** Creates a key and returns its plaintext (shown once). `groups`: its approver groups (see a policy rule's `approverGroups`). */
    create(scope: Scope, name?: string, options?: KeyCreateOptions): string;
    /**
     * Same, with the key's id and name. On PostgreSQL the row is written in the background (this API
     * is synchronous): this server accepts the key at once, other replicas only once it is committed.
     * Use `createStored` when another replica must accept the key right away.
     */
    createKey(scope: Scope, name?: string, options?: KeyCreateOptions): CreatedKey;
    /**
     * Creates a key and resolves once it is committed to the store, so every replica on the same
     * database accepts it from then on; rejects (e.g. STORE_UNAVAILABLE) if it could not be stored.
     * On PostgreSQL it first makes the server ready (opens the pool), as `listen()` would.
     */
    createStored(scope: Scope, name?: string, options?: KeyCreateOptions): Promise<CreatedKey>;
    /** Revokes a key (SQLite only: synchronous; on PostgreSQL it throws, use `revokeKey`). */
    revoke(id: string): boolean;
    /** Revokes a key on either store. */
    revokeKey(id: string): Promise<boolean>;
  };
  /** The review store this server runs on (SQLite or PostgreSQL). */
  readonly reviewStore: ReviewStore;
  /** The SQLite store. Throws on a PostgreSQL server (use `reviewStore`). */
  readonly store: Store;
  /** The SQLite audit trail (with its JSONL mirror). Throws on a PostgreSQL server (use `reviewStore`). */
  readonly audit: AuditTrail;
  readonly service: ReviewService;
  readonly metrics: ServerMetrics;
  /** A new Ed25519 signing key; old public keys stay in the JWKS. */
  rotateSigningKey(): Promise<{ kid: string }>;
  /** The JWKS document. */
  jwks(): { keys: Record<string, unknown>[] };
}

const DEFAULT_PORT = 7070;
/** On PostgreSQL, how often each server re-reads the next pending deadline (reviews other servers created). */
const EXPIRY_SWEEP_MS = 2000;

/**
 * Creates the reference review server (protocol v1, see docs/architecture.md) on Fastify and `node:sqlite`.
 * Options are validated here; the signing key is loaded (or generated) when the app becomes
 * ready (`listen()`, `app.ready()` or `app.inject()`).
 *
 * @example
 * const server = createReviewServer({ dataDir: './.toolgate', policy: './policy.yaml', port: 0 });
 * const evalKey = server.keys.create('eval', 'my-agent');
 * const url = await server.listen();
 * const gate = createGate({ reviewer: httpReviewer({ url, apiKey: evalKey }), highStakes: ['transfer'], jwksUrl: `${url}/.well-known/jwks.json` });
 */
export function createReviewServer(options: ReviewServerOptions): ReviewServer {
  const o = validate(options);
  const policy = resolvePolicy(o.policy);
  // Everything that can refuse the options runs before the store is opened.
  const engine = o.database !== undefined ? 'postgres' : 'sqlite';
  let sqlite: { store: Store; audit: AuditTrail } | undefined;
  let pgStore: PostgresStore | undefined;
  const pendingCount = (): number | Promise<number> => {
    if (sqlite) return sqlite.store.db.isOpen ? sqlite.store.countPending() : 0;
    return pgStore ? pgStore.countPending().catch(() => 0) : 0;
  };
  const metrics = createMetrics({ defaultMetrics: o.defaultMetrics, pendingCount });
  const webhooks = createWebhookDispatcher(o.webhooks, metrics, o.webhookOptions);
  const waiters = createWaiters();

  let keyFile: SigningKeyFile | undefined;
  let signer: ProofSigner | undefined;
  let pgCheckpointSigner: CheckpointSigner | undefined;
  // Computed per request: a retired key leaves the JWKS once the longest proof life has passed.
  const jwksNow = () => (keyFile ? jwksOf(keyFile, { proofTtlSeconds: o.proofTtlSeconds }) : { keys: [] });
  // Audit checkpoints are verified with every key ever used (retired ones included).
  const auditKeys = () => (keyFile ? { jwks: jwksOf(keyFile, { includeDropped: true }) } : undefined);
  const installKeys = async (file: SigningKeyFile) => {
    const k = activeKey(file);
    const s = await createProofSigner({ privateJwk: k.privateJwk as never, kid: k.kid, issuer: o.issuer, ttlSeconds: o.proofTtlSeconds });
    keyFile = file;
    signer = s;
    if (sqlite) sqlite.audit.setCheckpointSigner(checkpointSignerOf(o.dataDir, file));
    else pgCheckpointSigner = createCheckpointSigner({ privateJwk: k.privateJwk, kid: k.kid });
  };

  let reviewStore: ReviewStore;
  let decisions: { close(): Promise<void> } | undefined;
  let expirySweep: NodeJS.Timeout | undefined;
  let policyState: PolicyStateStore | SharedPolicyState;
  let flushCommits = () => {};
  let resolveOpened: ((store: PostgresStore) => void) | undefined;
  let rejectOpened: ((error: unknown) => void) | undefined;
  if (engine === 'sqlite') {
    const store = openStore(o.dataDir);
    let audit: AuditTrail;
    try {
      audit = openAuditTrail(store, { flushMs: o.auditFlushMs, redact: o.redact });
    } catch (error) {
      store.close();
      throw error;
    }
    sqlite = { store, audit };
    // Policy counters are buffered and written in the same group-commit transaction as the reviews.
    const state = sqlitePolicyState(store, { buffered: true });
    const commits = createGroupCommit(store, { participants: [state] });
    state.onBuffered = () => commits.touch();
    policyState = state;
    flushCommits = () => commits.flush();
    reviewStore = sqliteReviewStore(store, audit, commits);
  } else {
    // Opened (connected, migrated) when the app becomes ready; until then calls wait for it.
    const opened = new Promise<PostgresStore>((resolve, reject) => {
      resolveOpened = resolve;
      rejectOpened = reject;
    });
    opened.catch(() => {});
    reviewStore = deferredReviewStore('postgres', opened);
    // Policy counters are shared by every replica on the database, decided in one transaction each.
    policyState = postgresPolicyState(opened);
  }

  const service = new ReviewService({
    store: reviewStore,
    getPolicy: () => policy,
    policyState,
    getSigner: () => {
      if (!signer) throw new ReviewServerError(503, ServerErrorCodes.INTERNAL, 'the signing key is not loaded yet (the server is starting)');
      return signer;
    },
    metrics,
    waiters,
    webhooks,
    pendingTimeoutMs: o.pendingTimeoutMs,
    proofTtlSeconds: o.proofTtlSeconds,
    ...(o.redact ? { redact: o.redact } : {}),
  });

  const log = typeof o.logger === 'object' ? o.logger : undefined;
  const app = Fastify({
    logger: log ? { level: log.level ?? 'info', ...(log.stream ? { stream: log.stream } : {}) } : o.logger === true,
    ...(log?.requests === false ? { logController: new LogController({ disableRequestLogging: true }) } : {}),
    bodyLimit: o.bodyLimitBytes,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  // One rotation at a time: two at once both read the key file and the second write dropped the
  // first new key from the JWKS (proofs it signed could never be verified).
  let rotating: Promise<unknown> = Promise.resolve();
  const rotateSigningKey = (by = 'api') => {
    const next = rotating.then(async () => {
      const file = await reviewStore.rotateSigningKeys();
      await installKeys(file);
      await reviewStore.appendAudit(adminEntry('signing-key.rotate', { kid: file.activeKid, by }));
      return { kid: file.activeKid };
    });
    rotating = next.catch(() => {});
    return next;
  };
  // A rotation on another server (NOTIFY, or seen after a reconnect): sign with the active key now.
  const refreshSigningKeys = () => {
    rotating = rotating.then(async () => {
      const file = await reviewStore.signingKeys();
      if (file.activeKid !== keyFile?.activeKid || file.keys.length !== keyFile?.keys.length) await installKeys(file);
    }).catch((error: unknown) => app.log.warn({ err: error }, 'reloading the signing key after a rotation elsewhere failed'));
  };

  // DNS rebinding guard: first of all, before auth, body or routing work.
  const allowedHosts = allowedHostSet(o.host, o.allowedHosts);
  app.addHook('onRequest', async (request, reply) => {
    if (isAllowedHost(request.headers.host, allowedHosts)) return undefined;
    return reply.code(403).send({
      error: { code: ServerErrorCodes.HOST_NOT_ALLOWED, message: 'the Host header names a host this server does not answer for; add it with allowedHosts (--allowed-hosts)' },
    });
  });

  app.addHook('onReady', async () => {
    if (o.database !== undefined && !pgStore) {
      try {
        pgStore = await openPostgresStore(o.database, { poolSize: o.databasePoolSize, ...(o.redact ? { redact: o.redact } : {}) });
      } catch (error) {
        rejectOpened?.(error);
        throw error;
      }
      resolveOpened?.(pgStore);
      const own = pgStore.instanceId;
      // Decisions made on other servers on this database wake this server's long-polls and dashboards.
      decisions = await pgStore.listenDecisions({
        onDecided: (id, from) => {
          if (from === own) return;
          service.decidedElsewhere(id).catch((error: unknown) => app.log.warn({ err: error, reviewId: id }, 'reading a decision made on another server failed'));
        },
        onApproved: (id, from) => {
          if (from === own) return;
          service.approvedElsewhere(id).catch((error: unknown) => app.log.warn({ err: error, reviewId: id }, 'reading an approval made on another server failed'));
        },
        onSigningKeys: (kid) => {
          if (kid !== keyFile?.activeKid) refreshSigningKeys();
        },
        onReconnect: () => {
          service.recheckWaiters().catch(() => {});
          refreshSigningKeys();
        },
      });
      // Reviews created on a server that died are expired by the others: re-arm from the database.
      expirySweep = setInterval(() => service.scheduleExpiry(), EXPIRY_SWEEP_MS);
      expirySweep.unref();
    }
    await installKeys(await reviewStore.signingKeys());
    // Pending reviews survive restarts: expire the overdue ones now, arm the timer for the rest.
    await service.expireDue();
    service.scheduleExpiry();
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.requestDuration.observe(
      { route: request.routeOptions.url ?? 'unmatched', method: request.method, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  app.addHook('preClose', async () => {
    if (expirySweep) clearInterval(expirySweep);
    await decisions?.close();
    await service.close();
  });
  app.addHook('onClose', async () => {
    flushCommits();
    await webhooks.close();
    if (sqlite) {
      await sqlite.audit.close();
      sqlite.store.close();
    }
    // A server closed before it was ready never opened its pool: nothing may wait on it.
    rejectOpened?.(new ReviewServerError(503, ServerErrorCodes.STORE_UNAVAILABLE, 'the review server is closed'));
    await pgStore?.close();
  });

  app.setErrorHandler((error: FastifyError | ReviewServerError, request, reply) => {
    if (error instanceof ReviewServerError && error.status >= 400) {
      return reply.code(error.status).send({ error: { code: error.code, message: error.message } });
    }
    // A store that is busy, locked, full or closed is an outage (503, retry), never a 500 or a 2xx.
    if (isStoreUnavailable(error) || isStoreUnavailable((error as { cause?: unknown }).cause)) {
      request.log.warn(error);
      return reply
        .code(503)
        .header('retry-after', '1')
        .send({ error: { code: ServerErrorCodes.STORE_UNAVAILABLE, message: 'the review store is unavailable right now (busy, locked, full or closed); retry' } });
    }
    const status = (error as FastifyError).statusCode ?? 500;
    const code = (error as FastifyError).code;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
      return reply.code(413).send({ error: { code: ServerErrorCodes.BODY_TOO_LARGE, message: `request body is over the limit of ${o.bodyLimitBytes} bytes` } });
    }
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || status === 415) {
      return reply.code(415).send({ error: { code: ServerErrorCodes.UNSUPPORTED_MEDIA_TYPE, message: 'send JSON with content-type: application/json' } });
    }
    if (status === 400 && (code?.startsWith('FST_ERR_CTP') || error instanceof SyntaxError)) {
      return reply.code(400).send({ error: { code: ServerErrorCodes.INVALID_JSON, message: `request body is not valid JSON: ${error.message}` } });
    }
    if (status === 503 && code === 'FST_ERR_REP_ALREADY_SENT') return reply;
    if (status >= 400 && status < 500) {
      return reply.code(status).send({ error: { code: ServerErrorCodes.INVALID_REQUEST, message: error.message } });
    }
    request.log.error(error);
    return reply.code(500).send({ error: { code: ServerErrorCodes.INTERNAL, message: 'internal error; see the server log' } });
  });
  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send({ error: { code: ServerErrorCodes.NOT_FOUND, message: `no route ${request.method} ${request.url.split('?')[0]}` } });
  });

  // The OpenAPI document is generated from the routes as registered (their schemas), so the
  // swagger plugin's onRoute hook must be in place first: the routes go in once it has loaded.
  let openApiText: string | undefined;
  void app.register(fastifySwagger, openApiOptions('1.0.0'));
  // Keys created through `server.keys.create` on PostgreSQL are written asynchronously (the API is
  // synchronous): every lookup waits for those writes first, and so does `listen()`.
  const keyWrites = new Set<Promise<unknown>>();
  const trackKeyWrite = <T>(p: Promise<T>): Promise<T> => {
    keyWrites.add(p);
    const done = () => keyWrites.delete(p);
    p.then(done, done);
    return p;
  };
  const settleKeyWrites = async () => {
    while (keyWrites.size) await Promise.all([...keyWrites]);
  };
  let pgKeyGeneration = 0;
  const keySource: KeySource = sqlite
    ? sqlite.store
    : {
        get keyGeneration() {
          return pgKeyGeneration;
        },
        async keyByHash(hash: string): Promise<ApiKeyRow | undefined> {
          if (keyWrites.size) await settleKeyWrites().catch(() => {});
          return reviewStore.keyByHash(hash);
        },
      };
  const keyCache = createKeyCache(keySource, { ttlMs: o.apiKeyCacheMs });
  const verifyAudit = () =>
    sqlite
      ? verifyTrail(sqlite.audit, auditKeys())
      : verifyStoreTrail(reviewStore, auditKeys(), async () => (pgStore && pgCheckpointSigner ? pgStore.checkpoint(pgCheckpointSigner) : undefined));
  void app.after(() => registerRoutes(app, {
    keySource,
    keys: keyCache,
    store: reviewStore,
    verifyAudit,
    service,
    metrics,
    jwks: () => JSON.stringify(jwksNow()),
    auditKeys,
    openApi: () => (openApiText ??= JSON.stringify(app.swagger())),
    rotateSigningKey,
    readiness: () => checkReadiness(reviewStore, signer !== undefined),
  }));
  if (o.dashboard !== false) {
    const dashboard = o.dashboard ?? registerDashboard;
    const deps = {
      service,
      authenticate: (key: string) => keyCache.authenticate(key),
      keyByHash: (hash: string) => keySource.keyByHash(hash),
      verifyAudit,
      ...(sqlite ? { audit: sqlite.audit, store: sqlite.store } : {}),
      metrics,
      dataDir: o.dataDir,
    };
    void app.register(async (scope) => {
      // The dashboard's pages and its session API are not the protocol: not in the OpenAPI document.
      scope.addHook('onRoute', (route) => {
        route.schema = { ...route.schema, hide: true };
      });
      await dashboard(scope, deps);
    });
  }

  function createKey(scope: Scope, name?: string, extra: KeyCreateOptions = {}): CreatedKey {
    const options = { scope, ...(name ? { name } : {}), ...(extra.groups ? { groups: extra.groups } : {}), by: 'embedded' };
    if (sqlite) return createApiKey(sqlite.store, sqlite.audit, options);
    const { row, entry, created } = newApiKey(options);
    // Written before any request is authenticated (see keyWrites); a failed write fails listen().
    trackKeyWrite(reviewStore.insertKey(row, entry)).catch((error: unknown) =>
      app.log.error({ err: error, keyId: row.id }, 'storing an API key created with server.keys.create failed: the key will be refused'),
    );
    return created;
  }

  async function createStoredKey(scope: Scope, name?: string, extra: KeyCreateOptions = {}): Promise<CreatedKey> {
    if (sqlite) return createKey(scope, name, extra);
    await app.ready();
    const { row, entry, created } = newApiKey({ scope, ...(name ? { name } : {}), ...(extra.groups ? { groups: extra.groups } : {}), by: 'embedded' });
    await trackKeyWrite(reviewStore.insertKey(row, entry));
    return created;
  }

  let url = '';
  return {
    app,
    get url() {
      return url;
    },
    async listen() {
      await app.ready();
      await settleKeyWrites();
      const address = await app.listen({ host: o.host, port: o.port });
      const a = app.server.address();
      url = a && typeof a === 'object' ? `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : address;
      return url;
    },
    async close() {
      await app.close();
    },
    keys: {
      create: (scope, name, options) => createKey(scope, name, options).key,
      createKey,
      createStored: createStoredKey,
      revoke: (id) => {
        if (!sqlite) throw new OptionsError('server.keys.revoke is synchronous and only works on the SQLite store; use await server.keys.revokeKey(id)');
        return revokeApiKey(sqlite.store, sqlite.audit, id, 'embedded');
      },
      async revokeKey(id) {
        if (sqlite) return revokeApiKey(sqlite.store, sqlite.audit, id, 'embedded');
        await settleKeyWrites().catch(() => {});
        const ok = await reviewStore.revokeKey(id, Date.now(), adminEntry('key.revoke', { keyId: id, by: 'embedded' }));
        pgKeyGeneration++;
        return ok;
      },
    },
    reviewStore,
    get store(): Store {
      if (!sqlite) throw new OptionsError('server.store is the SQLite store; this server runs on PostgreSQL: use server.reviewStore');
      return sqlite.store;
    },
    get audit(): AuditTrail {
      if (!sqlite) throw new OptionsError('server.audit is the SQLite audit trail; this server runs on PostgreSQL: use server.reviewStore');
      return sqlite.audit;
    },
    service,
    metrics,
    rotateSigningKey: () => rotateSigningKey('embedded'),
    jwks: jwksNow,
  };
}

interface Resolved {
  dataDir: string;
  database: string | undefined;
  databasePoolSize: number;
  policy: Policy | string | undefined;
  host: string;
  port: number;
  pendingTimeoutMs: number;
  webhooks: WebhookTarget[];
  webhookOptions: WebhookOptions | undefined;
  bodyLimitBytes: number;
  logger: boolean | ReviewServerLogOptions;
  proofTtlSeconds: number;
  issuer: string;
  redact: RedactOptions | undefined;
  auditFlushMs: number;
  dashboard: DashboardRegistrar | false | undefined;
  defaultMetrics: boolean;
  apiKeyCacheMs: number;
  allowedHosts: string[];
}

function validate(options: ReviewServerOptions): Resolved {
  if (!options || typeof options !== 'object') throw new OptionsError('createReviewServer: pass an options object with at least { dataDir }');
  if (options.database !== undefined && (typeof options.database !== 'string' || !isPostgresUrl(options.database))) {
    // Never echo the value: it may hold a password.
    throw new OptionsError('createReviewServer: database must be a postgres:// or postgresql:// URL');
  }
  if (options.database === undefined && (typeof options.dataDir !== 'string' || options.dataDir === '')) {
    throw new OptionsError('createReviewServer: dataDir is required (a directory for the SQLite store, audit mirror and signing key), or database (a postgres:// URL)');
  }
  const num = (v: number | undefined, name: string, def: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new OptionsError(`createReviewServer: ${name} must be a number from ${min} to ${max}, got ${String(v)}`);
    return v;
  };
  return {
    dataDir: options.dataDir ?? '',
    database: options.database,
    databasePoolSize: num(options.databasePoolSize, 'databasePoolSize', 10, 1, 1000),
    policy: options.policy,
    host: options.host ?? '127.0.0.1',
    port: num(options.port, 'port', DEFAULT_PORT, 0, 65535),
    pendingTimeoutMs: num(options.pendingTimeoutMs, 'pendingTimeoutMs', 15 * 60_000, 1),
    webhooks: options.webhooks ?? [],
    webhookOptions: options.webhookOptions,
    bodyLimitBytes: num(options.bodyLimitBytes, 'bodyLimitBytes', 1024 * 1024, 1024),
    logger: options.logger ?? false,
    proofTtlSeconds: num(options.proofTtlSeconds, 'proofTtlSeconds', 600, 1),
    issuer: options.issuer ?? 'toolgate-reviewer',
    redact: options.redact,
    auditFlushMs: num(options.auditFlushMs, 'auditFlushMs', 10, 0, 10_000),
    dashboard: options.dashboard,
    defaultMetrics: options.defaultMetrics ?? true,
    apiKeyCacheMs: num(options.apiKeyCacheMs, 'apiKeyCacheMs', 1000, 0, 60_000),
    allowedHosts: hostList(options.allowedHosts),
  };
}

function hostList(v: string[] | undefined): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((h) => typeof h !== 'string' || h.trim() === '' || /[\s/@]/.test(h.trim()))) {
    throw new OptionsError(`createReviewServer: allowedHosts must be a list of host names (e.g. ["reviews.example.com"]), got ${JSON.stringify(v)}`);
  }
  return v;
}

function resolvePolicy(policy: Policy | string | undefined): CompiledPolicy | undefined {
  if (policy === undefined) return undefined;
  return compilePolicy(typeof policy === 'string' ? loadPolicySync(policy) : policy);
}
