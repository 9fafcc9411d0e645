import { describe, expect, it } from 'vitest';
import { newReviewId } from './review-id';

describe('review ids', () => {
  it('are UUIDv7 after rev_, unique, and sort by creation time', () => {
    const a = newReviewId(1_700_000_000_000);
    const b = newReviewId(1_700_000_000_001);
    expect(a).toMatch(/^rev_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
    expect(a.slice(4, 17)).toBe('018bcfe5-6800');
    const many = new Set(Array.from({ length: 10_000 }, () => newReviewId(1_700_000_000_000)));
    expect(many.size).toBe(10_000);
  });
});
