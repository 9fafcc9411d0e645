export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitBreaker {
  /** True if a call may go to the reviewer now. In half-open, lets one probe through at a time. */
  tryAcquire(): boolean;
  onSuccess(): void;
  onFailure(): void;
  readonly state: CircuitState;
}

/**
 * Opens after `failureThreshold` consecutive failures; while open every call is refused at once
 * for `cooldownMs`; then one half-open probe at a time: success closes it, failure re-opens it.
 */
export function circuitBreaker(options: {
  failureThreshold: number;
  cooldownMs: number;
  now?: () => number;
}): CircuitBreaker {
  const now = options.now ?? Date.now;
  let state: CircuitState = 'closed';
  let failures = 0;
  let openedAt = 0;
  let probing = false;
  return {
    get state() {
      if (state === 'open' && now() - openedAt >= options.cooldownMs) return 'half_open';
      return state;
    },
    tryAcquire() {
      if (state === 'closed') return true;
      if (state === 'open') {
        if (now() - openedAt < options.cooldownMs) return false;
        state = 'half_open';
      }
      if (probing) return false;
      probing = true;
      return true;
    },
    onSuccess() {
      failures = 0;
      probing = false;
      state = 'closed';
    },
    onFailure() {
      probing = false;
      failures += 1;
      if (state === 'half_open' || failures >= options.failureThreshold) {
        state = 'open';
        openedAt = now();
      }
    },
  };
}
