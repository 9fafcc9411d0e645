/** Light brute-force brake on the dashboard sign-in: too many failed keys from one address → wait. */
export interface LoginLimiter {
  /** Milliseconds to wait before this address may try again, or 0 when it may try now. */
  retryAfterMs(address: string): number;
  fail(address: string): void;
  succeed(address: string): void;
}

export interface LoginLimiterOptions {
  /** Failures allowed per window. Default 10. */
  maxFailures?: number;
  /** Default 10 minutes. */
  windowMs?: number;
  /** Addresses remembered at most (oldest forgotten first). Default 10 000. */
  maxAddresses?: number;
  now?: () => number;
}

/**
 * Fixed-window counter of failed sign-ins per client address. Keys are 256-bit random strings, so
 * this is not what keeps them safe; it keeps a noisy client from filling logs and CPU.
 */
export function createLoginLimiter(options: LoginLimiterOptions = {}): LoginLimiter {
  const maxFailures = options.maxFailures ?? 10;
  const windowMs = options.windowMs ?? 10 * 60_000;
  const maxAddresses = options.maxAddresses ?? 10_000;
  const now = options.now ?? Date.now;
  const failures = new Map<string, { since: number; count: number }>();

  const entry = (address: string) => {
    const e = failures.get(address);
    if (e && now() - e.since >= windowMs) {
      failures.delete(address);
      return undefined;
    }
    return e;
  };

  return {
    retryAfterMs(address) {
      const e = entry(address);
      if (!e || e.count < maxFailures) return 0;
      return Math.max(1, e.since + windowMs - now());
    },
    fail(address) {
      const e = entry(address);
      if (e) {
        e.count++;
        return;
      }
      if (failures.size >= maxAddresses) {
        const oldest = failures.keys().next().value;
        if (oldest !== undefined) failures.delete(oldest);
      }
      failures.set(address, { since: now(), count: 1 });
    },
    succeed(address) {
      failures.delete(address);
    },
  };
}
