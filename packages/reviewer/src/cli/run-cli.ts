import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  callDigest,
  compilePolicy,
  evaluatePolicy,
  loadPolicy,
  memoryPolicyState,
  PolicyError,
  ToolgateError,
  verifyAuditLog,
  verifyAuditRecords,
  type AuditRecord,
  type AuditVerifyResult,
  type CheckpointKeyOptions,
  type Policy,
  type ReviewResponse,
} from '@toolgate/core';
import { request } from 'undici';
import { createApiKey, groupsOf, isScope, newApiKey, normalizeGroups, revokeApiKey, SCOPES, type CreatedKey } from '../auth/api-keys';
import { ReviewServerError, ServerErrorCodes } from '../errors';
import { createReviewServer } from '../server/create-review-server';
import { jwksOf, readSigningKeys, rotateSigningKeys } from '../signing/signing-keys';
import { openAuditTrail } from '../store/audit-trail';
import { exportAuditJsonl } from '../store/export-audit';
import { isPostgresUrl, openPostgresStore, type PostgresStore } from '../store/postgres-store';
import { DATA_FILES, openStore, type Store } from '../store/open-store';
import { adminEntry } from '../auth/api-keys';
import { HIDDEN_CHARACTERS_NOTE, hasHiddenCharacters, visibleJson, visibleText } from '../server/visible-text';
import { takeEnvFileFlags, withEnvFiles } from './env-file';
import { InitConflictError, initProject, initSummary } from './init-project';
import { versionLine } from './package-version';
import { ConfigError, LOG_LEVELS, resolveServeConfig, SERVE_DEFAULTS, SERVE_ENV } from './serve-config';

/** Where the CLI writes. Tests pass collectors; the bin passes process streams. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  /** Resolves when `serve` should stop (SIGINT/SIGTERM in the bin). */
  stopSignal?: Promise<unknown>;
  /** Called with the URL once `serve` listens. */
  onListening?(url: string): void;
  /** Directory relative paths resolve against. Default `process.cwd()`. */
  cwd?: string;
}

/** Exit codes: 0 ok, 1 failure (or a broken audit chain), 2 usage error. */
export const EXIT = { OK: 0, FAIL: 1, USAGE: 2 } as const;

class UsageError extends Error {}

/**
 * The PostgreSQL store named by --database, else $TOOLGATE_DATABASE_URL (empty = unset); undefined
 * means the data dir's SQLite store. Never echoes the URL (it may hold a password).
 */
function databaseOf(flag: string | undefined, io: CliIo): string | undefined {
  const value = flag !== undefined && flag !== '' ? flag : io.env.TOOLGATE_DATABASE_URL || undefined;
  if (value === undefined) return undefined;
  if (!isPostgresUrl(value)) {
    throw new UsageError(`${flag !== undefined ? '--database' : 'TOOLGATE_DATABASE_URL'} must be a postgres:// or postgresql:// URL`);
  }
  return value;
}

async function withPostgres<T>(url: string, fn: (store: PostgresStore) => Promise<T>): Promise<T> {
  const store = await openPostgresStore(url, { poolSize: 2 });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const DEFAULT_URL = 'http://127.0.0.1:7070';
const DEFAULT_DATA = SERVE_DEFAULTS.data;

const HELP: Record<string, string> = {
  main: `toolgate — the toolgate review server and tools

Usage: toolgate <command> [options]

Commands:
  init [dir]                 write a starter policy.yaml, a data dir and a .env with fresh keys
  serve                      start the review server (protocol v1, dashboard at /)
  keys create                create an API key (scope eval | approve | admin)
  keys list                  list API keys (ids, names, scopes, revoked or not; never the keys)
  keys revoke <id>           revoke an API key (a running server stops accepting it within 1 s)
  keys rotate-signing        rotate the Ed25519 proof signing key (the old one is retired)
  reviews list               list reviews on a running server
  reviews approve <id>       approve a pending review
  reviews deny <id>          deny a pending review
  audit verify [file]        verify an audit file: hash chain, signed checkpoints, database head
  audit export <out>         write the store's audit chain as a JSONL file (verify it offline)
  policy check <file>        validate a policy and show what it decides for sample calls
  mcp-proxy [options] -- <upstream command...>
                             gate an MCP server's high-stakes tools (needs @toolgate/mcp; same as toolgate-mcp)

Global options:
  --env-file FILE            read variables from FILE first (repeatable); no .env is read without it.
                             Variables already in the environment win over the file, flags over both
  -v, --version              print the version
  -h, --help                 this help

Environment: TOOLGATE_HOST, TOOLGATE_PORT, TOOLGATE_POLICY, TOOLGATE_LOG_LEVEL, TOOLGATE_DATA
(serve; see 'toolgate serve --help'), TOOLGATE_DATA (keys, audit), TOOLGATE_URL and TOOLGATE_KEY (reviews).
Run 'toolgate <command> --help' for a command's options.`,
  serve: `Usage: toolgate serve [--port 7070] [--host 127.0.0.1] [--data .toolgate | --database postgres://… [--database-pool-size 10]] [--policy policy.yaml] [--log-level info] [--pending-timeout 15m] [--allowed-hosts NAME,...] [--log]

Starts the review server. Binds 127.0.0.1 unless --host says otherwise. Logs are JSON lines (pino)
on stdout, one event a line: the first 'listening' line carries the dashboard URL. Errors that stop
it before it listens (a port in use, a bad setting) are one plain line on stderr, exit code 1 or 2.

  flag               environment           default
  --host             TOOLGATE_HOST         127.0.0.1      address to bind
  --port             TOOLGATE_PORT         7070           port; 0 picks a free one
  --data             TOOLGATE_DATA         .toolgate      data dir: SQLite store, audit.jsonl, signing key
  --database         TOOLGATE_DATABASE_URL (none)       postgres://user:pass@host:5432/db: the PostgreSQL store instead
                                                          of the data dir (several servers on one database are one service)
  --database-pool-size TOOLGATE_DATABASE_POOL_SIZE  10      connections in this server's PostgreSQL pool (1-1000; with --database)
  --policy           TOOLGATE_POLICY       (none)         policy file (YAML/JSON); without one every call waits for a human
  --log-level        TOOLGATE_LOG_LEVEL    info           ${LOG_LEVELS.join(', ')}
  --pending-timeout                        15m            how long a review may wait for a human before it is denied (90s, 15m, 2h)
  --allowed-hosts                                         extra Host names to answer for (comma-separated; .example.com for
                                                          subdomains); other Host headers get 403 (DNS rebinding guard)
  --log                                    off            also log every request and response
A flag wins over its variable; an empty variable counts as unset. --env-file FILE reads variables
from a file (\`toolgate init\` writes one). The database URL is never logged; /readyz names the
store (engine sqlite or postgres).
GET /healthz answers while the process runs; GET /readyz is 200 only when the database answers and
the signing key is loaded (503 with the reason otherwise).`,
  init: `Usage: toolgate init [dir]

Sets up a project in dir (default: the current directory):
  policy.yaml   a starter policy (transfers over 100 wait for a human, over 10000 are denied, rm -rf
                is denied, loops and bursts are stopped, anything else waits for a human)
  .toolgate/    the data dir, with a fresh eval key (for your agent's gate) and approve key (for you)
  .env          both keys and the server settings (mode 0600; keep it out of version control)
then prints the next three commands. Refuses, without writing anything, if any of them exists.`,
  'keys create': `Usage: toolgate keys create --scope eval|approve|admin [--name NAME] [--group NAME ...] [--data DIR | --database URL]

Creates an API key and prints it once (only its SHA-256 is stored).
  eval     agents/gates: submit reviews, read them, report outcomes
  approve  humans: list and decide reviews, read the audit trail
  admin    everything, plus signing key rotation
--group NAME (repeatable) puts the key in an approver group: a policy rule with
approverGroups: [NAME] counts only approvals of keys in one of its groups.`,
  'keys list': `Usage: toolgate keys list [--data DIR | --database URL] [--json]

Lists the API keys in the data dir: id, name, scope, created, revoked. The keys themselves are never
stored (only their SHA-256), so they cannot be shown.`,
  'keys revoke': `Usage: toolgate keys revoke <id> [--data DIR | --database URL]

Revokes an API key by id (see \`toolgate keys list\`). The revocation is audited. A server running on
the same data dir stops accepting the key within its key cache time (apiKeyCacheMs, default 1 s).`,
  'keys rotate-signing': `Usage: toolgate keys rotate-signing [--data DIR | --database URL] | [--url URL --key ADMIN_KEY]

Generates a new Ed25519 signing key and retires the old one. The JWKS publishes a retired key with
\`exp\` (its retirement time): gates refuse proofs it signs after that, proofs it signed before keep
verifying until they expire, and it leaves the JWKS once the longest proof life has passed (its
public half stays in signing-keys.json to verify old audit checkpoints). With --url/--key a running
server rotates (and uses the new key at once); with --data the key file is rotated offline (restart
the server to use it).`,
  reviews: `Usage: toolgate reviews list [--status pending|decided] [--tool NAME] [--limit N] [--json]
       toolgate reviews approve <id> [--reason TEXT] [--args JSON]
       toolgate reviews deny <id> [--reason TEXT]
approve is one approval: a review whose policy rule needs approvals: N stays pending until N
distinct approvers approved. --args approves the same tool with these arguments instead (the edited
call is reviewed again by the server's policy; a policy deny refuses it and the review stays pending).
Options: --url (default $TOOLGATE_URL or ${DEFAULT_URL}), --key (default $TOOLGATE_KEY; an approve key)`,
  'audit verify': `Usage: toolgate audit verify [file] [--data DIR] [--jwks FILE] [--json]

Verifies an audit JSONL file (default: $TOOLGATE_DATA/audit.jsonl or .toolgate/audit.jsonl):
  - its hash chain, record by record;
  - its signed checkpoints (the chain head signed with the server's Ed25519 key), with the public
    keys of the data dir's signing-keys.json, or --jwks FILE (a saved JWKS, retired keys included);
  - against the data dir's database (--data, else the file's directory): the file must end at the
    database's chain head, with the same hash. A file rewritten and rehashed, or cut short, fails.
A file without checkpoints (written before they existed) verifies with a note that it is unsigned.
Exit code 0 when intact, 1 when broken (the first broken record, or both heads, are printed).
With --database postgres://… (or $TOOLGATE_DATABASE_URL) the PostgreSQL store's chain is verified,
with the public keys stored in it (or --jwks), and the file, if given, is compared with it.`,
  'audit export': `Usage: toolgate audit export <out.jsonl> [--data DIR | --database URL]

Writes the whole audit chain of the store (the data dir's SQLite database, or the PostgreSQL database
of --database / $TOOLGATE_DATABASE_URL) as JSONL, oldest first, to a new file (never overwritten,
mode 0600): the file \`toolgate audit verify\` checks offline.`,
  'policy check': `Usage: toolgate policy check <file> [--call '{"tool":"transfer","args":{"amount":50}}'] [--agent ID] [--json]

Validates a policy file and prints what it decides for sample calls: the calls given with --call
(repeatable), else one call per tool named in the rules (with empty arguments).`,
};

/** The proxy's own package, loaded only for this command (an optional peer: the server never needs it). */
const MCP_PACKAGE = '@toolgate/mcp';

/**
 * `toolgate mcp-proxy …` is `toolgate-mcp …` from @toolgate/mcp: stdout is the MCP channel, so
 * nothing is printed there. The proxy owns the process from here: it exits when its client goes
 * away (or on SIGINT/SIGTERM), so a proxy that started never resolves this promise.
 */
async function mcpProxy(argv: readonly string[], io: CliIo): Promise<number> {
  let mod: { runProxyCli(argv: string[]): Promise<void> };
  try {
    mod = (await import(MCP_PACKAGE)) as typeof mod;
  } catch (error) {
    if ((error as { code?: string })?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    io.err(`toolgate mcp-proxy needs the @toolgate/mcp package: npm i @toolgate/mcp (its bin toolgate-mcp is the same proxy)\n`);
    return EXIT.FAIL;
  }
  process.exitCode = undefined;
  await mod.runProxyCli([...argv]);
  // Help, or options refused before it started: it set the exit code and left nothing running.
  if (typeof process.exitCode === 'number') return process.exitCode;
  return new Promise<number>(() => undefined);
}

/**
 * Runs the `toolgate` CLI with `argv` (without `node` and the script). Returns the exit code.
 * Never calls `process.exit`: the bin does.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const taken = takeEnvFileFlags(argv);
    if (taken.files.length > 0) io = { ...io, env: withEnvFiles(io.env, taken.files, io.cwd ?? process.cwd()) };
    const [cmd, ...rest] = taken.argv;
    if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      io.out(`${HELP.main}\n`);
      return cmd === undefined ? EXIT.USAGE : EXIT.OK;
    }
    if (cmd === '--version' || cmd === '-v' || cmd === 'version') {
      io.out(`${versionLine()}\n`);
      return EXIT.OK;
    }
    switch (cmd) {
      case 'init':
        return await init(rest, io);
      case 'serve':
        return await serve(rest, io);
      case 'keys':
        return await keys(rest, io);
      case 'reviews':
        return await reviews(rest, io);
      case 'audit':
        return await audit(rest, io);
      case 'policy':
        return await policy(rest, io);
      case 'mcp-proxy':
        return await mcpProxy(rest, io);
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`toolgate: ${error.message}\nRun 'toolgate --help' for usage.\n`);
      return EXIT.USAGE;
    }
    if (error instanceof ConfigError) {
      io.err(`toolgate: ${error.message}\n`);
      return EXIT.USAGE;
    }
    if (error instanceof InitConflictError) {
      io.err(`toolgate init: ${error.message}\n`);
      return EXIT.FAIL;
    }
    if (error instanceof PolicyError) {
      io.err(`toolgate: ${error.message}\n${error.issues.map((i) => `  - ${i}\n`).join('')}`);
      return EXIT.FAIL;
    }
    const code = error instanceof ToolgateError ? ` [${error.code}]` : '';
    io.err(`toolgate: ${(error as Error)?.message ?? String(error)}${code}\n`);
    return EXIT.FAIL;
  }
}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: readonly string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: [...args], options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

const dataDirOf = (v: unknown, io: CliIo) => resolve(io.cwd ?? process.cwd(), typeof v === 'string' ? v : io.env[SERVE_ENV.data] || DEFAULT_DATA);

/** `15m`, `90s`, `2h`, `500ms` or plain milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`"${text}" is not a duration (use e.g. 90s, 15m, 2h or milliseconds)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!);
}

async function serve(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    port: { type: 'string' },
    host: { type: 'string' },
    data: { type: 'string' },
    database: { type: 'string' },
    'database-pool-size': { type: 'string' },
    policy: { type: 'string' },
    'log-level': { type: 'string' },
    'pending-timeout': { type: 'string' },
    'allowed-hosts': { type: 'string' },
    log: { type: 'boolean' },
  });
  if (values.help) return help('serve', io);
  const config = resolveServeConfig(values, io.env, io.cwd ?? process.cwd());
  const server = createReviewServer({
    dataDir: config.dataDir,
    ...(config.database ? { database: config.database } : {}),
    ...(config.databasePoolSize !== undefined ? { databasePoolSize: config.databasePoolSize } : {}),
    port: config.port,
    host: config.host,
    // Everything on stdout is a JSON line; requests only with --log.
    logger: { level: config.logLevel, stream: { write: (line: string) => io.out(line) }, requests: values.log === true },
    ...(config.policy ? { policy: config.policy } : {}),
    ...(values['pending-timeout'] ? { pendingTimeoutMs: parseDuration(values['pending-timeout']) } : {}),
    ...(values['allowed-hosts'] ? { allowedHosts: values['allowed-hosts'].split(',').map((h) => h.trim()).filter(Boolean) } : {}),
  });
  let url: string;
  try {
    url = await server.listen();
  } catch (error) {
    await server.close().catch(() => {});
    const hint = listenHint(error as NodeJS.ErrnoException, config.host, config.port) ?? storeHint(error, config.database !== undefined);
    if (hint) {
      io.err(`toolgate: ${hint}\n`);
      return EXIT.FAIL;
    }
    throw error;
  }
  const log = server.app.log;
  log.info(
    {
      url,
      dashboard: `${url}/`,
      jwks: `${url}/.well-known/jwks.json`,
      readyz: `${url}/readyz`,
      // Which store, never the database URL (it carries a password).
      store: config.database ? 'postgres' : 'sqlite',
      ...(config.database ? { databasePoolSize: config.databasePoolSize ?? 10 /* createReviewServer's default */ } : { data: config.dataDir }),
      policy: config.policy ?? null,
      hint: `open ${url}/ and sign in with an approve key`,
    },
    `toolgate reviewer listening on ${url}`,
  );
  if (!config.policy) log.warn({ hint: 'pass --policy FILE (or TOOLGATE_POLICY); `toolgate init` writes a starter policy' }, 'no policy: every call waits for a human');
  if ((await server.reviewStore.listKeys()).length === 0) {
    const where = config.database ? '--database "$TOOLGATE_DATABASE_URL"' : `--data ${config.dataDir}`;
    log.warn({ hint: `toolgate keys create --scope eval ${where}` }, 'no API keys yet');
  }
  io.onListening?.(url);
  await (io.stopSignal ?? new Promise(() => {}));
  await server.close();
  log.info('toolgate reviewer stopped');
  return EXIT.OK;
}

/** One line when the PostgreSQL store cannot be opened at start (its message never holds the URL). */
function storeHint(error: unknown, postgres: boolean): string | undefined {
  if (!postgres || !(error instanceof ReviewServerError) || error.code !== ServerErrorCodes.STORE_UNAVAILABLE) return undefined;
  return `${error.message}; check --database / TOOLGATE_DATABASE_URL (host, port, user, password, database name) and that the server accepts connections`;
}

/** One line that says what to do when `listen` fails for a reason the user can fix. */
function listenHint(error: NodeJS.ErrnoException, host: string, port: number): string | undefined {
  switch (error?.code) {
    case 'EADDRINUSE':
      return `port ${port} is in use on ${host}: pass --port 0 for a free port (or another --port / TOOLGATE_PORT), or stop the other process`;
    case 'EACCES':
      return `not allowed to listen on ${host}:${port}: ports below 1024 need privileges; pass a port from 1024 up (default 7070)`;
    case 'EADDRNOTAVAIL':
      return `${host} is not an address of this machine: pass --host 127.0.0.1 (loopback) or 0.0.0.0 (every interface)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the host name ${host}: pass an IP address with --host (e.g. 127.0.0.1)`;
    default:
      return undefined;
  }
}

async function init(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, {}, true);
  if (values.help) return help('init', io);
  if (positionals.length > 1) throw new UsageError('init takes one directory');
  const cwd = io.cwd ?? process.cwd();
  const r = await initProject(positionals[0] ?? '.', cwd);
  io.out(initSummary(r, cwd));
  return EXIT.OK;
}

async function keys(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'create') {
    const { values } = parse(rest, {
      scope: { type: 'string' },
      name: { type: 'string' },
      group: { type: 'string', multiple: true },
      data: { type: 'string' },
      database: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (values.help) return help('keys create', io);
    if (!isScope(values.scope)) throw new UsageError(`--scope must be one of ${SCOPES.join(', ')}`);
    let groups: string[] | undefined;
    try {
      groups = normalizeGroups(values.group);
    } catch (error) {
      throw new UsageError(`--group: ${(error as Error).message}`);
    }
    const options = { scope: values.scope, ...(values.name ? { name: values.name } : {}), ...(groups ? { groups } : {}), by: 'cli' };
    const shown = (k: CreatedKey) => JSON.stringify({ id: k.id, name: k.name, scope: k.scope, ...(k.groups ? { groups: k.groups } : {}), key: k.key });
    const inGroups = (k: CreatedKey) => (k.groups ? ` in group${k.groups.length > 1 ? 's' : ''} ${k.groups.join(', ')}` : '');
    const database = databaseOf(values.database, io);
    if (database) {
      const k = await withPostgres(database, async (store) => {
        const made = newApiKey(options);
        await store.insertKey(made.row, made.entry);
        return made.created;
      });
      if (values.json) io.out(`${shown(k)}\n`);
      else io.out(`${k.key}\n`);
      io.err(`created ${k.scope} key ${k.name} (${k.id})${inGroups(k)} in the PostgreSQL database; it is shown only this once\n`);
      return EXIT.OK;
    }
    const dataDir = dataDirOf(values.data, io);
    const store = openStore(dataDir);
    const trail = openAuditTrail(store);
    try {
      const k = createApiKey(store, trail, options);
      await trail.flush();
      if (values.json) io.out(`${shown(k)}\n`);
      else io.out(`${k.key}\n`);
      io.err(`created ${k.scope} key ${k.name} (${k.id})${inGroups(k)} in ${dataDir}; it is shown only this once\n`);
    } finally {
      await trail.close();
      store.close();
    }
    return EXIT.OK;
  }
  if (sub === 'list') {
    const { values } = parse(rest, { data: { type: 'string' }, database: { type: 'string' }, json: { type: 'boolean' } });
    if (values.help) return help('keys list', io);
    const database = databaseOf(values.database, io);
    const store = database ? undefined : openStore(dataDirOf(values.data, io));
    try {
      const stored = store ? store.listKeys() : await withPostgres(database!, (pgStore) => pgStore.listKeys());
      const rows = stored.map((k) => {
        const groups = groupsOf(k);
        return { id: k.id, name: k.name, scope: k.scope, ...(groups ? { groups } : {}), createdAt: new Date(k.created_at).toISOString(), revokedAt: k.revoked_at === null ? null : new Date(k.revoked_at).toISOString() };
      });
      if (values.json) io.out(`${JSON.stringify(rows)}\n`);
      else for (const r of rows) io.out(`${r.id}  ${r.scope.padEnd(7)}  ${r.name}${r.groups ? `  groups ${r.groups.join(',')}` : ''}  created ${r.createdAt}${r.revokedAt ? `  REVOKED ${r.revokedAt}` : ''}\n`);
    } finally {
      store?.close();
    }
    return EXIT.OK;
  }
  if (sub === 'revoke') {
    const { values, positionals } = parse(rest, { data: { type: 'string' }, database: { type: 'string' } }, true);
    if (values.help) return help('keys revoke', io);
    const id = positionals[0];
    if (!id) throw new UsageError('keys revoke needs a key id (see `toolgate keys list`)');
    const database = databaseOf(values.database, io);
    if (database) {
      const now = Date.now();
      const ok = await withPostgres(database, (store) => store.revokeKey(id, now, adminEntry('key.revoke', { keyId: id, by: 'cli' }, now)));
      if (!ok) {
        io.err(`no active key ${id} (already revoked, or unknown; see \`toolgate keys list\`)\n`);
        return EXIT.FAIL;
      }
      io.out(`revoked ${id}\n`);
      return EXIT.OK;
    }
    const store = openStore(dataDirOf(values.data, io));
    const trail = openAuditTrail(store);
    try {
      const ok = revokeApiKey(store, trail, id, 'cli');
      await trail.flush();
      if (!ok) {
        io.err(`no active key ${id} (already revoked, or unknown; see \`toolgate keys list\`)\n`);
        return EXIT.FAIL;
      }
      io.out(`revoked ${id}\n`);
    } finally {
      await trail.close();
      store.close();
    }
    return EXIT.OK;
  }
  if (sub === 'rotate-signing') {
    const { values } = parse(rest, { data: { type: 'string' }, database: { type: 'string' }, url: { type: 'string' }, key: { type: 'string' } });
    if (values.help) return help('keys rotate-signing', io);
    if (values.url || (values.key && !values.data && !values.database)) {
      const res = await api(io, values, 'POST', '/v1/admin/signing-keys/rotate');
      io.out(`rotated: new signing key ${(res as { kid: string }).kid}\n`);
      return EXIT.OK;
    }
    const database = databaseOf(values.database, io);
    if (database) {
      const file = await withPostgres(database, async (store) => {
        const rotated = await store.rotateSigningKeys();
        await store.appendAudit(adminEntry('signing-key.rotate', { kid: rotated.activeKid, by: 'cli' }));
        return rotated;
      });
      io.out(`rotated: new signing key ${file.activeKid} (${file.keys.length} keys in the database)\n`);
      return EXIT.OK;
    }
    const dataDir = dataDirOf(values.data, io);
    const file = await rotateSigningKeys(dataDir);
    const store = openStore(dataDir);
    const trail = openAuditTrail(store);
    try {
      trail.append(adminEntry('signing-key.rotate', { kid: file.activeKid, by: 'cli' }));
      await trail.flush();
    } finally {
      await trail.close();
      store.close();
    }
    io.out(`rotated: new signing key ${file.activeKid} (${file.keys.length} keys in the JWKS); restart a running server to sign with it\n`);
    return EXIT.OK;
  }
  if (sub === '--help' || sub === '-h' || sub === undefined) {
    io.out(`${HELP['keys create']}\n\n${HELP['keys list']}\n\n${HELP['keys revoke']}\n\n${HELP['keys rotate-signing']}\n`);
    return sub === undefined ? EXIT.USAGE : EXIT.OK;
  }
  throw new UsageError(`unknown keys command "${sub}" (create, list, revoke, rotate-signing)`);
}

async function reviews(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(
    rest,
    {
      url: { type: 'string' },
      key: { type: 'string' },
      status: { type: 'string' },
      tool: { type: 'string' },
      limit: { type: 'string' },
      reason: { type: 'string' },
      args: { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  if (values.help || sub === '--help' || sub === '-h' || sub === undefined) {
    io.out(`${HELP.reviews}\n`);
    return sub === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (sub === 'list') {
    const q = new URLSearchParams();
    if (values.status) q.set('status', values.status);
    if (values.tool) q.set('tool', values.tool);
    if (values.limit) q.set('limit', values.limit);
    const res = (await api(io, values, 'GET', `/v1/reviews${q.size ? `?${q}` : ''}`)) as {
      reviews: Array<{ id: string; status: string; verdict: string; tool: string; createdAt: string; decidedBy?: string; agent?: { id: string }; reason?: string; hiddenCharacters?: boolean }>;
    };
    if (values.json) {
      // JSON.stringify leaves C1 controls and bidi overrides raw: escape them for the terminal.
      io.out(`${visibleJson(res.reviews, 2)}\n`);
      return EXIT.OK;
    }
    if (res.reviews.length === 0) {
      io.out('no reviews\n');
      return EXIT.OK;
    }
    // Every field came from the server, most from the agent: controls (ESC redraws the terminal)
    // and bidi overrides are printed as visible escapes, and such a review is flagged.
    const t = (v: unknown) => visibleText(String(v ?? ''));
    for (const r of res.reviews) {
      const flag = r.hiddenCharacters || hasHiddenCharacters(r) ? `  [!] ${HIDDEN_CHARACTERS_NOTE}` : '';
      io.out(`${t(r.id)}  ${t(r.status).padEnd(7)}  ${t(r.verdict).padEnd(21)}  ${t(r.tool).padEnd(16)}  ${t(r.createdAt)}  ${t(r.agent?.id ?? '-')}  ${t(r.decidedBy)}  ${t(r.reason)}${flag}\n`);
    }
    return EXIT.OK;
  }
  if (sub === 'approve' || sub === 'deny') {
    const id = positionals[0];
    if (!id) throw new UsageError(`reviews ${sub} needs a review id`);
    const body: { verdict: 'allow' | 'deny'; reason?: string; args?: unknown } = { verdict: sub === 'approve' ? 'allow' : 'deny' };
    if (values.reason) body.reason = values.reason;
    if (values.args !== undefined) {
      if (sub !== 'approve') throw new UsageError('--args (approve with edited arguments) only goes with reviews approve');
      try {
        body.args = JSON.parse(values.args) as unknown;
      } catch {
        throw new UsageError('--args must be JSON, e.g. --args \'{"amount":100}\'');
      }
    }
    const res = (await api(io, values, 'POST', `/v1/reviews/${encodeURIComponent(id)}/decision`, body)) as ReviewResponse;
    if (res.status === 'pending' && res.approvals) {
      const a = res.approvals;
      io.out(`${visibleText(id)}: approval recorded, ${a.approvers.length} of ${a.required} approvals (${visibleText(a.approvers.join(', '))}); still pending\n`);
      return EXIT.OK;
    }
    const edited = res.edited ? ` with edited arguments ${visibleText(JSON.stringify(res.edited.args))}` : '';
    io.out(`${visibleText(id)}: ${visibleText(String(res.verdict))}${edited} (${visibleText(res.decidedBy ?? '')})\n`);
    return EXIT.OK;
  }
  throw new UsageError(`unknown reviews command "${sub}" (list, approve, deny)`);
}

async function audit(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'export') return auditExport(rest, io);
  if (sub !== 'verify') {
    if (sub === '--help' || sub === '-h' || sub === undefined) {
      io.out(`${HELP['audit verify']}\n\n${HELP['audit export']}\n`);
      return sub === undefined ? EXIT.USAGE : EXIT.OK;
    }
    throw new UsageError(`unknown audit command "${sub}" (verify, export)`);
  }
  const { values, positionals } = parse(rest, { json: { type: 'boolean' }, data: { type: 'string' }, database: { type: 'string' }, jwks: { type: 'string' } }, true);
  if (values.help) return help('audit verify', io);
  const database = databaseOf(values.database, io);
  if (database) return auditVerifyPostgres(database, positionals[0], values, io);
  const file = resolve(positionals[0] ?? join(dataDirOf(values.data, io), DATA_FILES.auditMirror));
  if (!existsSync(file)) throw new Error(`no audit file at ${file}`);
  // The data dir whose database and signing keys the file is checked against: --data, else the
  // file's own directory when it is a data dir, else $TOOLGATE_DATA / .toolgate.
  const dataDir = values.data !== undefined ? resolve(values.data) : positionals[0] !== undefined ? dirname(file) : dataDirOf(undefined, io);
  const keys = auditKeysFor(dataDir, values.jwks);
  const dbPath = join(dataDir, DATA_FILES.db);
  let table: AuditVerifyResult | undefined;
  if (existsSync(dbPath)) {
    const store = openStore(dataDir);
    try {
      table = verifyAuditRecords(tableRecords(store), keys);
    } finally {
      store.close();
    }
  }
  const r = await verifyAuditLog(file, { ...keys, ...(table?.ok && table.last ? { head: table.last } : {}) });
  const ok = r.ok && (table?.ok ?? true);
  if (values.json) {
    io.out(`${JSON.stringify({ file, ...r, ...(table ? { database: { path: dbPath, ...table } } : {}) })}\n`);
  } else {
    if (table && !table.ok) {
      io.err(`BROKEN database ${dbPath}: ${table.records} records verified, then seq ${table.firstBroken?.seq ?? '?'}: ${table.firstBroken?.reason}\n`);
    }
    if (r.ok) {
      io.out(`ok: ${r.records} records, chain intact${r.last ? ` (last seq ${r.last.seq}, hash ${r.last.hash})` : ''}${r.tornTail ? `; torn last line ${r.tornTail.line} ignored (${r.tornTail.bytes} bytes)` : ''}\n`);
      if (r.checkpoints && r.checkpoints.count > 0) {
        const last = r.checkpoints.last!;
        io.out(`signed checkpoints: ${r.checkpoints.count}${r.checkpoints.signed ? ', signatures valid' : ' (signatures NOT checked: no keys)'}; last covers seq ${last.seq} (${last.ts}); ${r.checkpoints.uncovered} record(s) after it\n`);
      }
      if (table?.ok) io.out(`database head matches the file: seq ${table.last?.seq ?? 0}\n`);
      else if (!table) io.out(`no database at ${dbPath}: the file was not compared with one\n`);
      if (r.note) io.out(`note: ${r.note}\n`);
    } else {
      io.err(`BROKEN: ${r.records} records verified, then line ${r.firstBroken?.line} (seq ${r.firstBroken?.seq ?? '?'}): ${r.firstBroken?.reason}\n`);
    }
  }
  return ok ? EXIT.OK : EXIT.FAIL;
}

/** Keys for checkpoint signatures: --jwks (a JWKS file), else every public key in the data dir's key file. */
function auditKeysFor(dataDir: string, jwksFile: string | undefined): CheckpointKeyOptions | undefined {
  if (jwksFile !== undefined) {
    let jwks: unknown;
    try {
      jwks = JSON.parse(readFileSync(resolve(jwksFile), 'utf8'));
    } catch (error) {
      throw new UsageError(`--jwks ${jwksFile}: not a readable JSON file (${(error as Error).message})`);
    }
    if (!jwks || !Array.isArray((jwks as { keys?: unknown }).keys)) throw new UsageError(`--jwks ${jwksFile}: not a JWKS document ({ "keys": [...] })`);
    return { jwks: jwks as { keys: unknown[] } };
  }
  const file = readSigningKeys(dataDir);
  return file ? { jwks: jwksOf(file, { includeDropped: true }) } : undefined;
}

async function auditExport(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, { data: { type: 'string' }, database: { type: 'string' } }, true);
  if (values.help) return help('audit export', io);
  const out = positionals[0];
  if (!out || positionals.length > 1) throw new UsageError('audit export needs one output file (a new .jsonl)');
  const path = resolve(io.cwd ?? process.cwd(), out);
  const database = databaseOf(values.database, io);
  let r: Awaited<ReturnType<typeof exportAuditJsonl>>;
  if (database) {
    r = await withPostgres(database, (store) => exportAuditJsonl(store, path));
  } else {
    const dataDir = dataDirOf(values.data, io);
    if (!existsSync(join(dataDir, DATA_FILES.db))) throw new Error(`no database in ${dataDir}`);
    const store = openStore(dataDir);
    try {
      r = await exportAuditJsonl({ auditAfter: async (after, limit) => store.auditAfter(after, limit).map((row) => JSON.parse(row.record) as AuditRecord) }, path);
    } finally {
      store.close();
    }
  }
  io.out(`exported ${r.records} audit records to ${path}${r.head ? ` (last seq ${r.head.seq}, hash ${r.head.hash})` : ''}\n`);
  return EXIT.OK;
}

/** `audit verify --database`: the PostgreSQL chain, and the file (if given) against it. */
async function auditVerifyPostgres(database: string, fileArg: string | undefined, values: { json?: boolean; jwks?: string }, io: CliIo): Promise<number> {
  const { table, keys } = await withPostgres(database, async (store) => {
    const stored = await store.readSigningKeys();
    const keys: CheckpointKeyOptions | undefined =
      values.jwks !== undefined ? auditKeysFor('', values.jwks) : stored ? { jwks: jwksOf(stored, { includeDropped: true }) } : undefined;
    const records: AuditRecord[] = [];
    for (let after = 0; ; ) {
      const page = await store.auditAfter(after, 5_000);
      if (page.length === 0) break;
      records.push(...page);
      after = page[page.length - 1]!.seq;
    }
    return { table: verifyAuditRecords(records, keys), keys };
  });
  let file: AuditVerifyResult | undefined;
  const path = fileArg === undefined ? undefined : resolve(io.cwd ?? process.cwd(), fileArg);
  if (path !== undefined) {
    if (!existsSync(path)) throw new Error(`no audit file at ${path}`);
    file = await verifyAuditLog(path, { ...keys, ...(table.ok && table.last ? { head: table.last } : {}) });
  }
  const ok = table.ok && (file?.ok ?? true);
  if (values.json) {
    io.out(`${JSON.stringify({ database: table, ...(file ? { file: { path, ...file } } : {}) })}\n`);
  } else {
    if (table.ok) io.out(`ok: database chain of ${table.records} records intact${table.last ? ` (last seq ${table.last.seq}, hash ${table.last.hash})` : ''}\n`);
    else io.err(`BROKEN database: ${table.records} records verified, then seq ${table.firstBroken?.seq ?? '?'}: ${table.firstBroken?.reason}\n`);
    if (table.checkpoints && table.checkpoints.count > 0) {
      io.out(`signed checkpoints: ${table.checkpoints.count}${table.checkpoints.signed ? ', signatures valid' : ' (signatures NOT checked: no keys)'}; ${table.checkpoints.uncovered} record(s) after the last\n`);
    }
    if (table.note) io.out(`note: ${table.note}\n`);
    if (file?.ok) io.out(`file ${path} matches the database head\n`);
    else if (file) io.err(`BROKEN file ${path}: ${file.records} records verified, then line ${file.firstBroken?.line} (seq ${file.firstBroken?.seq ?? '?'}): ${file.firstBroken?.reason}\n`);
  }
  return ok ? EXIT.OK : EXIT.FAIL;
}

function* tableRecords(store: Store): Generator<AuditRecord> {
  let after = 0;
  for (;;) {
    const rows = store.auditAfter(after, 5_000);
    if (rows.length === 0) return;
    for (const row of rows) yield JSON.parse(row.record) as AuditRecord;
    after = rows[rows.length - 1]!.seq;
  }
}

async function policy(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'check') {
    if (sub === '--help' || sub === '-h' || sub === undefined) {
      io.out(`${HELP['policy check']}\n`);
      return sub === undefined ? EXIT.USAGE : EXIT.OK;
    }
    throw new UsageError(`unknown policy command "${sub}" (check)`);
  }
  const { values, positionals } = parse(rest, { call: { type: 'string', multiple: true }, agent: { type: 'string' }, json: { type: 'boolean' } }, true);
  if (values.help) return help('policy check', io);
  const file = positionals[0];
  if (!file) throw new UsageError('policy check needs a policy file');
  const p: Policy = await loadPolicy(resolve(file));
  const compiled = compilePolicy(p);
  const calls = (values.call ?? []).map((text) => {
    let c: unknown;
    try {
      c = JSON.parse(text);
    } catch {
      throw new UsageError(`--call is not JSON: ${text}`);
    }
    const call = c as { tool?: unknown; args?: unknown; agent?: unknown; context?: unknown };
    if (!call || typeof call.tool !== 'string') throw new UsageError(`--call needs {"tool": "...", "args": {...}}: ${text}`);
    return call as { tool: string; args?: unknown; agent?: { id: string } | string; context?: Record<string, unknown> };
  });
  if (calls.length === 0) {
    const tools = new Set<string>();
    for (const rule of p.rules) for (const t of rule.tools ?? []) if (!/[*?[]/.test(t)) tools.add(t);
    for (const t of tools) calls.push({ tool: t, args: {} });
  }
  const state = memoryPolicyState();
  const results = calls.map((c) => {
    const args = c.args ?? {};
    const agentId = typeof c.agent === 'string' ? c.agent : (c.agent?.id ?? values.agent);
    const r = evaluatePolicy(
      compiled,
      { tool: c.tool, args, digest: callDigest(c.tool, args), ...(agentId ? { agent: { id: agentId } } : {}), ...(c.context ? { context: c.context } : {}) },
      { state, dryRun: true },
    );
    return { call: { tool: c.tool, args }, ...r };
  });
  if (values.json) {
    io.out(`${JSON.stringify({ ok: true, policy: p.name ?? file, rules: p.rules.length, default: p.default ?? null, results }, null, 2)}\n`);
    return EXIT.OK;
  }
  io.out(`ok: ${file} is a valid policy (${p.rules.length} rules, default ${p.default ?? 'none: abstain'})\n`);
  for (const r of results) {
    io.out(`\n${r.call.tool} ${JSON.stringify(r.call.args)}\n  → ${r.verdict ?? 'no verdict (abstain)'}: ${r.reason}\n`);
    if (r.conditions.length) io.out(`    conditions: ${r.conditions.join('; ')}\n`);
    if (r.matchedRules.length) io.out(`    rules: ${r.matchedRules.join(', ')}\n`);
  }
  return EXIT.OK;
}

function help(topic: string, io: CliIo): number {
  io.out(`${HELP[topic]}\n`);
  return EXIT.OK;
}

async function api(io: CliIo, values: { url?: string | undefined; key?: string | undefined }, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const base = values.url ?? io.env.TOOLGATE_URL ?? DEFAULT_URL;
  const key = values.key ?? io.env.TOOLGATE_KEY;
  if (!key) throw new UsageError('--key (or TOOLGATE_KEY) is required: an approve- or admin-scope key');
  let url: URL;
  try {
    url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  } catch {
    throw new UsageError(`--url is not a URL: ${base}`);
  }
  let res;
  try {
    res = await request(url, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new Error(`cannot reach the reviewer at ${base} (${(error as { code?: string }).code ?? (error as Error).message}); is \`toolgate serve\` running?`);
  }
  const text = await res.body.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    throw new Error(`${method} ${path}: the server answered ${res.statusCode} with a body that is not JSON`);
  }
  if (res.statusCode >= 400) {
    const e = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new Error(visibleText(`${method} ${path}: ${res.statusCode} ${e?.code ?? ''} ${e?.message ?? text}`.trim()));
  }
  return json;
}
