import { describe, expect, it } from 'vitest';
import { compileCondition, conditionHolds } from './conditions';
import type { PolicyCondition } from './schema';

const actuals: unknown[] = [
  undefined, null, 0, -0, 1, 9, 10, 11, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY,
  '', '10', 'EUR', 'eur', 'USD', true, false, [], ['EUR'], [10], {}, { v: 10 },
];

const conditions: PolicyCondition[] = [
  ...(['eq', 'ne'] as const).flatMap((op) => [10, 0, -0, 'EUR', '', true, false, null, [10], { v: 10 }].map((value) => ({ field: 'args.a', op, value }))),
  ...(['lt', 'lte', 'gt', 'gte'] as const).flatMap((op) => [10, 0, -0, -1, 1.5].map((value) => ({ field: 'args.a', op, value }))),
  ...(['in', 'nin'] as const).flatMap((op) =>
    [[], ['EUR', 'USD'], [0], [-0], [10, '10', null, true], [Number.NaN, 1], [[10]], [{ v: 10 }], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]].map((value) => ({ field: 'args.a', op, value })),
  ),
  { field: 'args.a', op: 'matches', value: '^E' },
  { field: 'args.a', op: 'contains', value: 'EUR' },
  { field: 'args.a', op: 'exists' },
  { field: 'args.a', op: 'exists', value: false },
];

describe('conditionHolds', () => {
  it('gives the same answer as the compiled test for every op, operand and odd actual value', () => {
    let inline = 0;
    for (const condition of conditions) {
      const c = compileCondition(condition);
      if (c.code !== 0) inline++;
      for (const actual of actuals) {
        expect({ condition, actual, holds: conditionHolds(c, actual) }).toEqual({ condition, actual, holds: c.test(actual) });
      }
    }
    // The fast path is really taken for the common ops (a refactor that drops it should fail here).
    expect(inline).toBeGreaterThan(40);
  });

  it('keeps SameValueZero for in / nin: NaN is found in a list that holds NaN, -0 matches 0', () => {
    const nan = compileCondition({ field: 'args.a', op: 'in', value: [Number.NaN] });
    expect(conditionHolds(nan, Number.NaN)).toBe(true);
    expect(conditionHolds(compileCondition({ field: 'args.a', op: 'in', value: [0] }), -0)).toBe(true);
    expect(conditionHolds(compileCondition({ field: 'args.a', op: 'nin', value: ['EUR'] }), 'EUR')).toBe(false);
  });
});
