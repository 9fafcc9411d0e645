/**
 * Brute-force brake on the dashboard sign-in, per client address AND per presented key prefix.
 *
 * Keys are 256-bit random strings, so guessing one is hopeless either way; what this stops is a
 * client hammering the sign-in (logs, CPU) — without letting that client lock everyone else out.
 * Behind a reverse proxy, or on one host, every approver shares an address (loopback): a plain
 * per-address lock let ten wrong guesses from anyone lock every approver out for the window.
 *
 * - Too many failures from an address lock that address, except for attempts whose key prefix
 *   (`tgk_` and the next 8 characters, 48 random bits) belongs to a key that has signed in here
 *   before: an approver keeps access while a guesser, who cannot know such a prefix, stays locked.
 * - Too many failures with one prefix from one address lock that pair, trusted or not, so
 *   knowing (say, from a screenshot) a real key's prefix buys no unlimited guesses at the rest.
 */
export interface LoginLimiter {
  /** Milliseconds to wait before this address may try this key prefix, or 0 when it may try now. */
  retryAfterMs(address: string, keyPrefix?: string): number;
  fail(address: string, keyPrefix?: string): void;
  /** A key with this prefix signed in from this address: its failures are forgotten and the prefix is trusted. */
  succeed(address: string, keyPrefix?: string): void;
}

export interface LoginLimiterOptions {
  /** Failures allowed per window (per address, and per address and key prefix). Default 10. */
  maxFailures?: number;
  /** Default 10 minutes. */
  windowMs?: number;
  /** Counters (and trusted prefixes) remembered at most, oldest forgotten first. Default 10 000. */
  maxAddresses?: number;
  now?: () => number;
}

/** Characters of a presented key the limiter keys on: `tgk_` plus 8 random characters (48 bits). */
export const KEY_PREFIX_LENGTH = 12;

/** The part of a presented key the limiter keys on ('' for anything that is not a toolgate key). */
export function loginKeyPrefix(presented: string): string {
  return presented.startsWith('tgk_') && presented.length > KEY_PREFIX_LENGTH ? presented.slice(0, KEY_PREFIX_LENGTH) : '';
}

export function createLoginLimiter(options: LoginLimiterOptions = {}): LoginLimiter {
  const maxFailures = options.maxFailures ?? 10;
  const windowMs = options.windowMs ?? 10 * 60_000;
  const maxEntries = options.maxAddresses ?? 10_000;
  const now = options.now ?? Date.now;
  const failures = new Map<string, { since: number; count: number }>();
  const trusted = new Set<string>();

  const entry = (key: string) => {
    const e = failures.get(key);
    if (e && now() - e.since >= windowMs) {
      failures.delete(key);
      return undefined;
    }
    return e;
  };
  const wait = (key: string) => {
    const e = entry(key);
    if (!e || e.count < maxFailures) return 0;
    return Math.max(1, e.since + windowMs - now());
  };
  const bump = (key: string) => {
    const e = entry(key);
    if (e) {
      e.count++;
      return;
    }
    if (failures.size >= maxEntries) {
      const oldest = failures.keys().next().value;
      if (oldest !== undefined) failures.delete(oldest);
    }
    failures.set(key, { since: now(), count: 1 });
  };
  const addressKey = (address: string) => `a\u0000${address}`;
  const pairKey = (address: string, prefix: string) => `p\u0000${address}\u0000${prefix}`;

  return {
    retryAfterMs(address, keyPrefix = '') {
      if (keyPrefix) {
        const pair = wait(pairKey(address, keyPrefix));
        if (pair > 0) return pair;
        if (trusted.has(keyPrefix)) return 0;
      }
      return wait(addressKey(address));
    },
    fail(address, keyPrefix = '') {
      bump(addressKey(address));
      if (keyPrefix) bump(pairKey(address, keyPrefix));
    },
    succeed(address, keyPrefix = '') {
      if (!keyPrefix) return;
      failures.delete(pairKey(address, keyPrefix));
      if (trusted.size >= maxEntries) {
        const oldest = trusted.values().next().value;
        if (oldest !== undefined) trusted.delete(oldest);
      }
      trusted.delete(keyPrefix);
      trusted.add(keyPrefix);
    },
  };
}
