import type { Store } from '../store/open-store';
import { authenticateKey, hashApiKey, isWellFormedKey, type KeyInfo } from './api-keys';

export interface KeyCacheOptions {
  /**
   * How long an authenticated key is trusted without reading the database again. A key revoked by
   * another process (the CLI) stops working within this long; one revoked through this server
   * stops at once. Default 1000 ms; 0 disables the cache.
   */
  ttlMs?: number;
  /** Most keys held; when full the cache starts over. Default 10 000. */
  maxEntries?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export interface KeyCache {
  /** Same answer as `authenticateKey(store, presented)`, from memory when recently checked. */
  authenticate(presented: string): KeyInfo | null;
  /** Forgets every entry. */
  clear(): void;
}

/**
 * A small in-memory cache of authenticated API keys, keyed by the key's SHA-256 (the plaintext is
 * never kept). Only successful lookups are cached, so unknown keys cannot fill it. Entries live
 * `ttlMs`; every key added or revoked through the same store drops them all at once.
 */
export function createKeyCache(store: Store, options: KeyCacheOptions = {}): KeyCache {
  const ttlMs = options.ttlMs ?? 1000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { info: KeyInfo; until: number }>();
  let generation = store.keyGeneration;
  return {
    authenticate(presented) {
      if (ttlMs <= 0 || !isWellFormedKey(presented)) return authenticateKey(store, presented);
      if (store.keyGeneration !== generation) {
        entries.clear();
        generation = store.keyGeneration;
      }
      const hash = hashApiKey(presented);
      const t = now();
      const hit = entries.get(hash);
      if (hit && hit.until > t) return hit.info;
      const info = authenticateKey(store, presented, hash);
      if (!info) {
        entries.delete(hash);
        return null;
      }
      if (entries.size >= maxEntries) entries.clear();
      entries.set(hash, { info, until: t + ttlMs });
      return info;
    },
    clear() {
      entries.clear();
    },
  };
}
