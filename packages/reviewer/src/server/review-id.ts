import { randomUUID } from 'node:crypto';

/**
 * A new review id: `rev_` + a UUIDv7 (RFC 9562) — 48 bits of Unix milliseconds, then 74 random
 * bits. Ids made later sort later, so each new row lands at the right edge of the `reviews`
 * primary-key index instead of on a random page (a random UUIDv4 dirties one more index page per
 * review in every commit, and the write-ahead log grows with it).
 */
export function newReviewId(now = Date.now()): string {
  const v4 = randomUUID(); // xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx: keep its random bits and variant
  const ms = now.toString(16).padStart(12, '0').slice(-12);
  return `rev_${ms.slice(0, 8)}-${ms.slice(8)}-7${v4.slice(15)}`;
}
