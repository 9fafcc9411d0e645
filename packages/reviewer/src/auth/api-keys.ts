import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { OptionsError, sha256 } from '@toolgate/core';
import type { AuditTrail } from '../store/audit-trail';
import type { ApiKeyRow, Store } from '../store/open-store';

/** What a key may do. `admin` may do everything; `approve` decides reviews; `eval` submits them. */
export type Scope = 'eval' | 'approve' | 'admin';
export const SCOPES: readonly Scope[] = ['eval', 'approve', 'admin'];

/** An authenticated key (never the plaintext). */
export interface KeyInfo {
  id: string;
  name: string;
  scope: Scope;
  /** Approver groups (`approverGroups` in a policy rule counts only approvers of those groups). */
  groups?: string[];
}

export interface CreatedKey extends KeyInfo {
  /** The plaintext key. Shown once; only its SHA-256 is stored. */
  key: string;
}

const KEY_PREFIX = 'tgk_';

/**
 * SHA-256 of a key, hex. Keys are 256 bits from the CSPRNG, so a fast hash is enough: nobody can
 * guess a preimage, and a slow password hash (scrypt, argon2) would only add milliseconds to
 * every request. What the hash buys is that a copy of the database holds no usable key.
 */
export function hashApiKey(key: string): string {
  return hash('sha256', key, 'hex');
}

/** True when a key of `scope` may act with `needed`. */
export function hasScope(scope: Scope, needed: Scope): boolean {
  return scope === 'admin' || scope === needed;
}

export function isScope(v: unknown): v is Scope {
  return v === 'eval' || v === 'approve' || v === 'admin';
}

/**
 * Creates an API key with one scope, stores its hash, and records an `admin` audit record.
 * Returns the plaintext key once.
 */
export function createApiKey(store: Store, audit: AuditTrail, options: NewKeyOptions): CreatedKey {
  const { row, entry, created } = newApiKey(options);
  store.transaction(() => {
    store.insertKey(row);
    audit.append(entry);
  });
  return created;
}

/** What a new key is: its scope, optional name and approver groups, and who made it (for the audit). */
export interface NewKeyOptions {
  scope: Scope;
  name?: string;
  /** Approver groups (a policy rule's `approverGroups` counts only approvers in one of them). */
  groups?: readonly string[];
  by?: string;
}

/** The same names a policy rule's `approverGroups` accepts. */
const GROUP_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Checks approver group names (1-64 of letters, digits, `_`, `-`, `.`, `:`; at most 32) and drops repeats. */
export function normalizeGroups(groups: readonly string[] | undefined): string[] | undefined {
  if (groups === undefined) return undefined;
  if (!Array.isArray(groups)) throw new OptionsError('groups must be an array of group names');
  const out = [...new Set(groups.map((g) => (typeof g === 'string' ? g.trim() : g)))];
  for (const g of out) {
    if (typeof g !== 'string' || !GROUP_NAME.test(g)) {
      throw new OptionsError(`group ${JSON.stringify(g)} is not a group name: use 1-64 letters, digits, '_', '-', '.' or ':' (as in a policy rule's approverGroups)`);
    }
  }
  if (out.length > 32) throw new OptionsError(`a key can be in at most 32 groups; got ${out.length}`);
  return out.length ? out : undefined;
}

/**
 * A new API key (not stored yet): its row (the hash only), its `key.create` audit entry and the
 * plaintext to show once. For stores other than the SQLite `Store` (`ReviewStore.insertKey(row, entry)`).
 */
export function newApiKey(options: NewKeyOptions): { row: ApiKeyRow; entry: ReturnType<typeof adminEntry>; created: CreatedKey } {
  if (!isScope(options.scope)) throw new OptionsError(`scope must be one of ${SCOPES.join(', ')}; got ${JSON.stringify(options.scope)}`);
  const groups = normalizeGroups(options.groups);
  const id = `key_${randomBytes(6).toString('hex')}`;
  const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  const name = options.name?.trim() || `${options.scope}-${id.slice(4)}`;
  const now = Date.now();
  const created: CreatedKey = { id, name, scope: options.scope, key };
  if (groups) created.groups = groups;
  return {
    row: { id, name, scope: options.scope, hash: hashApiKey(key), created_at: now, revoked_at: null, groups_json: groups ? JSON.stringify(groups) : null },
    entry: adminEntry('key.create', { keyId: id, name, scope: options.scope, ...(groups ? { groups } : {}), by: options.by ?? 'cli' }, now),
    created,
  };
}

/** The approver groups of a stored key row (none: undefined). */
export function groupsOf(row: Pick<ApiKeyRow, 'groups_json'>): string[] | undefined {
  if (!row.groups_json) return undefined;
  const groups = JSON.parse(row.groups_json) as unknown;
  return Array.isArray(groups) && groups.length ? groups.filter((g): g is string => typeof g === 'string') : undefined;
}

/** Revokes a key by id (admin action, audited). */
export function revokeApiKey(store: Store, audit: AuditTrail, id: string, by = 'cli'): boolean {
  const now = Date.now();
  return store.transaction(() => {
    const ok = store.revokeKey(id, now);
    if (ok) audit.append(adminEntry('key.revoke', { keyId: id, by }, now));
    return ok;
  });
}

/** Looks up a presented key (`hash`: its `hashApiKey`, if already computed). Returns null for unknown or revoked keys. */
export function authenticateKey(store: Store, presented: string, knownHash?: string): KeyInfo | null {
  if (!isWellFormedKey(presented)) return null;
  const hash = knownHash ?? hashApiKey(presented);
  return keyInfoOf(store.keyByHash(hash), hash);
}

/** The `KeyInfo` of a stored key row looked up by `hash`; null when missing or revoked. */
export function keyInfoOf(row: ApiKeyRow | undefined, hash: string): KeyInfo | null {
  if (!row || row.revoked_at !== null) return null;
  // The lookup is by hash already; compare again in constant time for good measure.
  if (!timingSafeEqual(Buffer.from(row.hash), Buffer.from(hash))) return null;
  const info: KeyInfo = { id: row.id, name: row.name, scope: row.scope as Scope };
  const groups = groupsOf(row);
  if (groups) info.groups = groups;
  return info;
}

/** True when `presented` could be a key this server issued (prefix, length): checked before any hashing. */
export function isWellFormedKey(presented: string): boolean {
  return presented.startsWith(KEY_PREFIX) && presented.length <= 128;
}

/** Reads `Authorization: Bearer <key>`; undefined if the header is missing or malformed. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/** An audit entry for an admin action. */
export function adminEntry(action: string, meta: Record<string, unknown>, now = Date.now()) {
  return {
    id: `adm_${randomBytes(8).toString('hex')}`,
    ts: new Date(now).toISOString(),
    kind: 'admin' as const,
    call: { tool: `toolgate.${action}`, digest: sha256(JSON.stringify({ action, ...meta })) },
    meta: { action, ...meta },
  };
}
