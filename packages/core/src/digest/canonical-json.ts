import canonicalize from 'canonicalize';
import { ErrorCodes, ToolgateError } from '../errors';

/**
 * RFC 8785 (JCS) canonical JSON of `value`. Throws a ToolgateError with code `ARGS_NOT_JSON` for
 * values JSON cannot represent faithfully (cycles, BigInt, functions, symbols, non-finite numbers).
 */
export function canonicalJson(value: unknown): string {
  assertJsonValue(value, '$', new Set());
  const out = canonicalize(value);
  if (out === undefined) {
    throw new ToolgateError(ErrorCodes.ARGS_NOT_JSON, 'value has no JSON representation');
  }
  return out;
}

function assertJsonValue(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) fail(path, `non-finite number ${String(value)}`);
      return;
    case 'object': {
      if (value === null) return;
      if (seen.has(value)) fail(path, 'circular reference');
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
        // Dates and similar: JSON.stringify would call toJSON; canonicalize does too.
        return;
      }
      seen.add(value);
      if (Array.isArray(value)) {
        value.forEach((v, i) => assertJsonValue(v, `${path}[${i}]`, seen));
      } else {
        for (const key of Object.keys(value)) {
          const v = (value as Record<string, unknown>)[key];
          if (v === undefined) continue; // dropped by JSON, as JSON.stringify does
          assertJsonValue(v, `${path}.${key}`, seen);
        }
      }
      seen.delete(value);
      return;
    }
    case 'undefined':
      if (path === '$') fail(path, 'undefined');
      return;
    default:
      fail(path, `a ${typeof value}`);
  }
}

function fail(path: string, what: string): never {
  throw new ToolgateError(
    ErrorCodes.ARGS_NOT_JSON,
    `tool arguments are not JSON: ${what} at ${path}. Pass plain JSON values (strings, numbers, booleans, null, arrays, objects).`,
  );
}
