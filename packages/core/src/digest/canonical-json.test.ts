import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, plainCanonical, walkCanonical } from './canonical-json';

/** What canonicalJson must answer: the library's text, or the library's error (then a dropped function/symbol). */
function reference(value: unknown): { text: string } | { error: string } {
  try {
    const text = canonicalize(value);
    return text === undefined ? { error: 'no JSON representation' } : { text };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function answer(value: unknown): { text: string } | { error: string } {
  try {
    return { text: canonicalJson(value) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

describe('canonicalJson (one walk) against the canonicalize library', () => {
  it('writes the same text for any JSON value (random objects, strings with escapes and non-ASCII, numbers)', () => {
    const json = fc.jsonValue({ maxDepth: 6 });
    fc.assert(
      fc.property(json, (v) => {
        expect(canonicalJson(v)).toBe(canonicalize(v));
      }),
      { numRuns: 2_000 },
    );
  });

  it('writes the same text for toJSON, boxed primitives, undefined members and array holes', () => {
    const date = new Date(0);
    const cases: unknown[] = [
      { d: date, b: new Number(5), s: new String('x'), t: new Boolean(false) },
      { u: undefined, a: [undefined, 1, , 3] }, // eslint-disable-line no-sparse-arrays
      { j: { toJSON: () => ({ z: 1, a: [1, 2] }) } },
      { j: { toJSON: () => undefined }, k: 1 },
      [{ toJSON: () => undefined }],
      { n: -0, big: 1e21, small: 1e-7, f: 0.1 + 0.2 },
      { '\u20ac': 1, '\r': 2, '1': 3, '10': 4, '': 5, a: { '\ud83d\ude00': 6, '\ufb33': 7 } },
      new Map([[1, 2]]),
      new Uint8Array([1, 2]),
    ];
    for (const v of cases) expect(answer(v)).toEqual(reference(v));
  });

  it('refuses what the library refuses, with its message (cycles, NaN, Infinity, lone surrogates, BigInt)', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    const selfJson = { toJSON(): unknown { return this; } };
    for (const bad of [cyclic, selfJson, { x: Number.NaN }, [Infinity], { s: 'a\ud800' }, { ['\udc00']: 1 }, { n: 10n }, 10n]) {
      const want = reference(bad);
      expect('error' in want).toBe(true);
      const got = answer(bad);
      expect('error' in got ? got.error : got.text).toContain((want as { error: string }).error);
    }
  });

  it('the same object twice (not a cycle) is written twice', () => {
    const shared = { a: 1 };
    expect(canonicalJson({ x: shared, y: [shared, shared] })).toBe('{"x":{"a":1},"y":[{"a":1},{"a":1}]}');
  });

  it('names a function or symbol JSON would drop, in objects and arrays, and reads each getter once', () => {
    expect(() => canonicalJson({ a: { b: () => 1 } })).toThrow(/a function at \$\.a\.b/);
    expect(() => canonicalJson([1, Symbol('s')])).toThrow(/a symbol at \$\[1\]/);
    let reads = 0;
    const v = {
      get amount() {
        reads++;
        return 5;
      },
    };
    expect(canonicalJson(v)).toBe('{"amount":5}');
    expect(reads).toBe(1);
  });

  it('values nested deeper than its own walk goes are written by the library, the same text', () => {
    let deep: unknown = { leaf: [1, 'x'] };
    for (let i = 0; i < 500; i++) deep = i % 2 === 0 ? { d: deep } : [deep];
    expect(canonicalJson(deep)).toBe(canonicalize(deep));
    let deepFn: unknown = { f: () => 1 };
    for (let i = 0; i < 100; i++) deepFn = { d: deepFn };
    expect(() => canonicalJson(deepFn)).toThrow(/a function at \$(\.d){100}\.f/);
  });
});

/** Objects that share key lists in other orders (the fast path caches a sorted order per shape). */
const key = fc.oneof(
  fc.constantFrom('a', 'b', 'sku', 'qty', 'price', 'tags', 'meta', '', '1', '10', '9', '-1', 'é', '\u20ac', '\ud83d\ude00', 'a"b', 'a\\b', '\n', 'toJSON2', '__proto__x'),
  fc.string({ maxLength: 4 }),
);
const leaf = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({ maxLength: 8 }),
  fc.double(),
  fc.integer(),
  fc.constantFrom(-0, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, true, false, null, undefined, Number.NaN, Infinity),
);
const shuffledShapes = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object'), tie('family')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(key, tie('value'), { maxKeys: 6 }),
  // Several objects with the same keys inserted in different orders, at the same nesting level.
  family: fc.tuple(fc.uniqueArray(key, { minLength: 2, maxLength: 6 }), fc.array(fc.integer(), { minLength: 1, maxLength: 4 }), tie('value')).map(([keys, seeds, v]) =>
    seeds.map((seed) => {
      const order = [...keys].sort((x, y) => ((x.length * 31 + seed) % 7) - ((y.length * 31 + seed) % 7) || (x < y ? -1 : 1));
      const o: Record<string, unknown> = {};
      for (const k of order) o[k] = k.length % 2 === 0 ? v : seed;
      return o;
    }),
  ),
}));

describe('canonicalJson fast path (plain data) against the reference walk and the library', () => {
  it('gives the text (or the error) of the reference walk and of canonicalize for random values, shapes reused in other key orders', () => {
    fc.assert(
      fc.property(shuffledShapes.value, (v) => {
        const got = answer(v);
        let want: { text: string } | { error: string };
        try {
          want = { text: walkCanonical(v) };
        } catch (e) {
          want = { error: (e as Error).message };
        }
        expect(got).toEqual(want);
        const lib = reference(v);
        if ('text' in lib) expect(got).toEqual(lib);
        const fast = plainCanonical(v);
        if (fast !== undefined) expect(fast).toBe((want as { text: string }).text);
      }),
      { numRuns: 3_000 },
    );
  });

  it('takes the fast path for plain JSON values and agrees with canonicalize on them', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (v) => {
        // fc.jsonValue may produce -0 and "__proto__" keys as own properties; all plain data.
        expect(plainCanonical(v)).toBe(canonicalize(v));
      }),
      { numRuns: 3_000 },
    );
  });

  it('hands everything else to the reference walk: toJSON, boxes, class instances, cycles, deep values, getters that throw', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    let deep: unknown = { x: 1 };
    for (let i = 0; i < 70; i++) deep = { d: deep };
    class Point {
      constructor(readonly x: number) {}
    }
    const throwing = {
      get x(): number {
        throw new Error('nope');
      },
    };
    const cases: unknown[] = [{ d: new Date(0) }, { b: new Number(1) }, [new Point(1)], { p: new Point(2) }, cyclic, deep, throwing, { f: () => 1 }, [Symbol('s')], { n: 1n }, { s: '\ud800' }, { ['\udc00']: 1 }, { x: Number.NaN }, Object.assign([1], { toJSON: () => 'arr' })];
    for (const v of cases) expect(plainCanonical(v)).toBeUndefined();
    expect(answer(deep)).toEqual(reference(deep));
    expect(canonicalJson([new Point(1)])).toBe('[{"x":1}]');
    expect(() => canonicalJson(throwing)).toThrow(/nope/);
  });

  it('reads each getter once on the fast path, and a getter that calls canonicalJson itself changes nothing', () => {
    let reads = 0;
    const inner = { z: 1, a: 2 };
    const v = {
      b: [1, 2],
      get a(): unknown {
        reads++;
        // Re-entering with other shapes at the same nesting levels must not disturb the outer walk.
        canonicalJson({ q: { y: 1, x: 2, w: 3 }, p: [{ k: 1, j: 2 }] });
        return inner;
      },
      c: { y: 1, x: 2, w: 3 },
    };
    expect(canonicalJson(v)).toBe('{"a":{"a":2,"z":1},"b":[1,2],"c":{"w":3,"x":2,"y":1}}');
    expect(reads).toBe(1);
    expect(canonicalJson(v)).toBe(walkCanonical(v));
  });

  it('one shape in many key orders, and many shapes at one level (the per-level cache misses)', () => {
    const items = Array.from({ length: 300 }, (_, i) => {
      const keys = ['sku', 'qty', 'price', 'tags', 'meta', `k${i % 5}`];
      const o: Record<string, unknown> = {};
      for (let j = 0; j < keys.length; j++) o[keys[(j + i) % keys.length]!] = i % 3 === 0 ? { ok: true, note: null } : [j, `s${i}`];
      return o;
    });
    expect(canonicalJson({ items })).toBe(canonicalize({ items }));
  });
});
