import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json';
import { callDigest } from './call-digest';
import { parseArgs } from './parse-args';

describe('callDigest', () => {
  it('is sha256 over the RFC 8785 canonical JSON of { tool, args }', () => {
    const expected = createHash('sha256')
      .update('{"args":{"a":1,"b":[true,"x"]},"tool":"transfer"}')
      .digest('hex');
    expect(callDigest('transfer', { b: [true, 'x'], a: 1 })).toBe(`sha256:${expected}`);
  });

  it('does not depend on key order, and changes with any argument', () => {
    expect(callDigest('t', { a: 1, b: 2 })).toBe(callDigest('t', { b: 2, a: 1 }));
    expect(callDigest('t', { a: 1 })).not.toBe(callDigest('t', { a: 2 }));
    expect(callDigest('t', { a: 1 })).not.toBe(callDigest('u', { a: 1 }));
  });

  it('canonicalises numbers as RFC 8785 does', () => {
    expect(canonicalJson({ n: 1e21, m: 0.1, z: -0 })).toBe('{"m":0.1,"n":1e+21,"z":0}');
  });

  it('refuses values JSON cannot hold, with ARGS_NOT_JSON', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [cyclic, { n: 10n }, { f: () => 1 }, { x: Number.NaN }]) {
      expect(() => callDigest('t', bad)).toThrow(expect.objectContaining({ code: 'ARGS_NOT_JSON' }));
    }
  });
});

describe('parseArgs', () => {
  it('parses JSON strings and passes objects through', () => {
    expect(parseArgs('{"amount":5}')).toEqual({ amount: 5 });
    const o = { a: 1 };
    expect(parseArgs(o)).toBe(o);
    expect(parseArgs(undefined)).toEqual({});
  });

  it('gives typed errors for non-JSON and oversize strings', () => {
    expect(() => parseArgs('{amount: 5')).toThrow(expect.objectContaining({ code: 'ARGS_NOT_JSON' }));
    expect(() => parseArgs(`"${'x'.repeat(100)}"`, 10)).toThrow(
      expect.objectContaining({ code: 'ARGS_TOO_LARGE' }),
    );
  });
});
