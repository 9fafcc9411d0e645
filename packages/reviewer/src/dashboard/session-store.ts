import { randomBytes } from 'node:crypto';
import type { KeyInfo } from '../auth/api-keys';

/** One signed-in approver. The plaintext key is never kept: only its hash, to re-check revocation. */
export interface DashboardSession {
  /** Random 256-bit id, the cookie value. */
  id: string;
  /** Synchronizer CSRF token: every state-changing POST of this session must carry it. */
  csrf: string;
  key: KeyInfo;
  /** SHA-256 of the key, to look it up again (a revoked key ends its sessions). */
  keyHash: string;
  createdAt: number;
  lastSeenAt: number;
}

export interface SessionStoreOptions {
  /** A session unused this long ends. Default 30 minutes. */
  idleMs?: number;
  /** A session ends this long after sign-in, used or not. Default 12 hours. */
  absoluteMs?: number;
  /** At most this many live sessions; the least recently used goes first. Default 1000. */
  maxSessions?: number;
  now?: () => number;
}

export interface SessionStore {
  create(key: KeyInfo, keyHash: string): DashboardSession;
  /** The live session with this id (touching it), or undefined when unknown or expired. */
  get(id: string | undefined): DashboardSession | undefined;
  /** Like `get`, without counting as use (for checks made on the user's behalf, e.g. on open event streams). */
  peek(id: string): DashboardSession | undefined;
  delete(id: string): void;
  /** Ends every session; `onEnd` listeners hear about each. */
  clear(): void;
  /** Called when a session ends (logout, expiry, eviction) so its live streams can close. */
  onEnd(listener: (id: string) => void): void;
  readonly size: number;
  readonly idleMs: number;
}

/** Random URL-safe token with 256 bits of entropy. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Server-side dashboard sessions, in memory (a restart signs everyone out, which is the safe
 * default for an approval console). Idle and absolute expiry; bounded size.
 */
export function createSessionStore(options: SessionStoreOptions = {}): SessionStore {
  const idleMs = options.idleMs ?? 30 * 60_000;
  const absoluteMs = options.absoluteMs ?? 12 * 60 * 60_000;
  const maxSessions = options.maxSessions ?? 1000;
  const now = options.now ?? Date.now;
  // Map iteration order = insertion order; re-inserting on touch keeps it least-recently-used first.
  const sessions = new Map<string, DashboardSession>();
  const listeners: Array<(id: string) => void> = [];

  const end = (id: string) => {
    if (!sessions.delete(id)) return;
    for (const l of listeners) l(id);
  };
  const alive = (s: DashboardSession, t: number) => t - s.lastSeenAt < idleMs && t - s.createdAt < absoluteMs;

  return {
    create(key, keyHash) {
      const t = now();
      for (const [id, s] of sessions) if (!alive(s, t)) end(id);
      while (sessions.size >= maxSessions) {
        const oldest = sessions.keys().next().value;
        if (oldest === undefined) break;
        end(oldest);
      }
      const s: DashboardSession = { id: randomToken(), csrf: randomToken(), key, keyHash, createdAt: t, lastSeenAt: t };
      sessions.set(s.id, s);
      return s;
    },
    get(id) {
      if (!id) return undefined;
      const s = sessions.get(id);
      if (!s) return undefined;
      const t = now();
      if (!alive(s, t)) {
        end(id);
        return undefined;
      }
      s.lastSeenAt = t;
      sessions.delete(id);
      sessions.set(id, s);
      return s;
    },
    peek(id) {
      const s = sessions.get(id);
      if (!s) return undefined;
      if (!alive(s, now())) {
        end(id);
        return undefined;
      }
      return s;
    },
    delete: end,
    clear() {
      for (const id of [...sessions.keys()]) end(id);
    },
    onEnd(listener) {
      listeners.push(listener);
    },
    get size() {
      return sessions.size;
    },
    idleMs,
  };
}
