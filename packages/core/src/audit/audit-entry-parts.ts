import { randomUUID } from '../platform/random-uuid';

/**
 * Audit record ids for one writer (a gate): UUID-shaped (RFC 9562 version 8, "custom"), 74 random
 * bits drawn once per source, then a 48-bit counter — unique within the source by construction
 * and across sources with the odds of a 74-bit collision, at the cost of a counter increment
 * instead of a random UUID per record. Ids of one source sort in the order they were issued.
 *
 * @example
 * const nextId = auditIdSource();
 * nextId(); // → '1f0c2a4e-7b1d-8c3e-9a55-000000000001'
 */
export function auditIdSource(): () => string {
  let prefix = '';
  let n = 0;
  const renew = (): void => {
    const u = randomUUID(); // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx
    prefix = `${u.slice(0, 14)}8${u.slice(15, 24)}`;
    n = 0;
  };
  renew();
  return () => {
    if (++n > 0xffff_ffff_ffff) {
      renew();
      n = 1;
    }
    return prefix + n.toString(16).padStart(12, '0');
  };
}

/**
 * ISO 8601 text of `now()`, reformatted only when the millisecond changes (records written in the
 * same millisecond share the text). Throws `RangeError` for a clock that returns no valid time,
 * as `new Date(x).toISOString()` does.
 */
export function isoClock(now: () => number): () => string {
  let lastMs = Number.NaN;
  let lastText = '';
  return () => {
    const ms = now();
    if (ms !== lastMs) {
      lastText = new Date(ms).toISOString();
      lastMs = ms;
    }
    return lastText;
  };
}

/** True for a promise or any object with a `then` method (what `await` would wait for). */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
