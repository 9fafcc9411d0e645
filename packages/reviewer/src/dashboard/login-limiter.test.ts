import { describe, expect, it } from 'vitest';
import { createLoginLimiter, loginKeyPrefix } from './login-limiter';

describe('createLoginLimiter', () => {
  it('blocks an address after too many failures until the window passes; others are unaffected', () => {
    let t = 0;
    const limiter = createLoginLimiter({ maxFailures: 2, windowMs: 1_000, now: () => t });
    limiter.fail('1.2.3.4', 'tgk_aaaaaaaa');
    expect(limiter.retryAfterMs('1.2.3.4', 'tgk_bbbbbbbb')).toBe(0);
    limiter.fail('1.2.3.4', 'tgk_cccccccc');
    t = 400;
    expect(limiter.retryAfterMs('1.2.3.4', 'tgk_dddddddd')).toBe(600);
    expect(limiter.retryAfterMs('1.2.3.4')).toBe(600);
    expect(limiter.retryAfterMs('5.6.7.8', 'tgk_dddddddd')).toBe(0);
    t = 1_000;
    expect(limiter.retryAfterMs('1.2.3.4', 'tgk_dddddddd')).toBe(0);
  });

  it("a key prefix that signed in before is not locked out by other keys' failures from the same address", () => {
    const limiter = createLoginLimiter({ maxFailures: 2 });
    limiter.succeed('127.0.0.1', 'tgk_approver');
    for (let i = 0; i < 10; i++) limiter.fail('127.0.0.1', `tgk_guess${i}xxx`);
    expect(limiter.retryAfterMs('127.0.0.1', 'tgk_guess99xx')).toBeGreaterThan(0);
    expect(limiter.retryAfterMs('127.0.0.1', '')).toBeGreaterThan(0);
    expect(limiter.retryAfterMs('127.0.0.1', 'tgk_approver')).toBe(0);
  });

  it('failures with one prefix lock that prefix from that address even when it is trusted', () => {
    const limiter = createLoginLimiter({ maxFailures: 2 });
    limiter.succeed('a', 'tgk_approver');
    limiter.fail('a', 'tgk_approver');
    limiter.fail('a', 'tgk_approver');
    expect(limiter.retryAfterMs('a', 'tgk_approver')).toBeGreaterThan(0);
    expect(limiter.retryAfterMs('b', 'tgk_approver')).toBe(0);
  });

  it('a success clears that prefix’s count', () => {
    const limiter = createLoginLimiter({ maxFailures: 2 });
    limiter.fail('a', 'tgk_12345678');
    limiter.succeed('a', 'tgk_12345678');
    limiter.fail('a', 'tgk_12345678');
    expect(limiter.retryAfterMs('a', 'tgk_12345678')).toBe(0);
  });

  it('keys on tgk_ and 8 more characters', () => {
    expect(loginKeyPrefix('tgk_abcdefghijklmnop')).toBe('tgk_abcdefgh');
    expect(loginKeyPrefix('nope')).toBe('');
    expect(loginKeyPrefix('tgk_short')).toBe('');
  });
});
