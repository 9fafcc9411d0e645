import { describe, expect, it } from 'vitest';
import { createLoginLimiter } from './login-limiter';

describe('createLoginLimiter', () => {
  it('blocks an address after too many failures until the window passes; others are unaffected', () => {
    let t = 0;
    const limiter = createLoginLimiter({ maxFailures: 2, windowMs: 1_000, now: () => t });
    limiter.fail('1.2.3.4');
    expect(limiter.retryAfterMs('1.2.3.4')).toBe(0);
    limiter.fail('1.2.3.4');
    t = 400;
    expect(limiter.retryAfterMs('1.2.3.4')).toBe(600);
    expect(limiter.retryAfterMs('5.6.7.8')).toBe(0);
    t = 1_000;
    expect(limiter.retryAfterMs('1.2.3.4')).toBe(0);
  });

  it('a success clears the count', () => {
    const limiter = createLoginLimiter({ maxFailures: 2 });
    limiter.fail('a');
    limiter.succeed('a');
    limiter.fail('a');
    expect(limiter.retryAfterMs('a')).toBe(0);
  });
});
