import type { ApiKeyRow } from '../store/open-store';
import { hashApiKey, isWellFormedKey, keyInfoOf, type KeyInfo } from './api-keys';

export interface KeyCacheOptions {
  /**
   * How long an authenticated key is trusted without reading the database again. A key revoked by
   * another process (the CLI, another replica) stops working within this long; one revoked through
   * this server stops at once. Default 1000 ms; 0 disables the cache.
   */
  ttlMs?: number;
  /** Most keys held; when full the cache starts over. Default 10 000. */
  maxEntries?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * Where keys are looked up: the SQLite `Store` (synchronous) or any store whose lookup is a
 * promise (PostgreSQL). `keyGeneration` changes whenever a key is added or revoked through it.
 */
export interface KeySource {
  keyByHash(hash: string): ApiKeyRow | undefined | Promise<ApiKeyRow | undefined>;
  readonly keyGeneration: number;
}

export interface KeyCache {
  /**
   * Same answer as `authenticateKey(store, presented)`, from memory when recently checked. Synchronous
   * when the source is (SQLite), a promise when its lookup is (PostgreSQL): callers `await` it.
   */
  authenticate(presented: string): KeyInfo | null | Promise<KeyInfo | null>;
  /** Forgets every entry. */
  clear(): void;
}

/**
 * A small in-memory cache of authenticated API keys, keyed by the key's SHA-256 (the plaintext is
 * never kept). Only successful lookups are cached, so unknown keys cannot fill it. Entries live
 * `ttlMs`; every key added or revoked through the same source drops them all at once.
 */
export function createKeyCache(source: KeySource, options: KeyCacheOptions = {}): KeyCache {
  const ttlMs = options.ttlMs ?? 1000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { info: KeyInfo; until: number }>();
  let generation = source.keyGeneration;
  const lookup = (hash: string): KeyInfo | null | Promise<KeyInfo | null> => {
    const row = source.keyByHash(hash);
    return row instanceof Promise ? row.then((r) => keyInfoOf(r, hash)) : keyInfoOf(row, hash);
  };
  const remember = (hash: string, info: KeyInfo | null, t: number, gen: number): KeyInfo | null => {
    if (!info) {
      entries.delete(hash);
      return null;
    }
    // A key revoked through this source while the lookup was in flight: do not cache the old answer.
    if (gen !== source.keyGeneration) return info;
    if (entries.size >= maxEntries) entries.clear();
    entries.set(hash, { info, until: t + ttlMs });
    return info;
  };
  return {
    authenticate(presented) {
      if (!isWellFormedKey(presented)) return null;
      const hash = hashApiKey(presented);
      if (ttlMs <= 0) return lookup(hash);
      if (source.keyGeneration !== generation) {
        entries.clear();
        generation = source.keyGeneration;
      }
      const t = now();
      const hit = entries.get(hash);
      if (hit && hit.until > t) return hit.info;
      const gen = generation;
      const info = lookup(hash);
      return info instanceof Promise ? info.then((i) => remember(hash, i, t, gen)) : remember(hash, info, t, gen);
    },
    clear() {
      entries.clear();
    },
  };
}
