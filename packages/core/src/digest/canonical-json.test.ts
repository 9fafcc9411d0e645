import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json';

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
