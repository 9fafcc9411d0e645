import canonicalize from 'canonicalize';
import { ErrorCodes, ToolgateError } from '../errors';

/**
 * RFC 8785 (JCS) canonical JSON of `value`, by `canonicalize` (the RFC author's implementation).
 * Throws a ToolgateError with code `ARGS_NOT_JSON` for values JSON cannot represent faithfully:
 * cycles, BigInt, non-finite numbers, lone surrogates (the library refuses these), and functions
 * or symbols (which JSON would silently drop, so the digest would not cover what the tool gets).
 */
export function canonicalJson(value: unknown): string {
  let out: string | undefined;
  try {
    out = canonicalize(value);
  } catch (cause) {
    throw notJson((cause as Error)?.message ?? String(cause), cause);
  }
  if (out === undefined) throw notJson('the value has no JSON representation (undefined, a function or a symbol)');
  // The library has walked the value, so it is acyclic: a plain recursive check is safe here.
  const path = droppedValuePath(value, '$');
  if (path) throw notJson(`a ${path.kind} at ${path.at}`);
  return out;
}

/** Where a function or symbol sits (JSON would drop it silently), or undefined. */
function droppedValuePath(value: unknown, at: string): { kind: string; at: string } | undefined {
  const t = typeof value;
  if (t === 'function' || t === 'symbol') return { kind: t, at };
  if (t !== 'object' || value === null) return undefined;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v === 'object' ? v !== null : typeof v === 'function' || typeof v === 'symbol') {
        const hit = droppedValuePath(v, `${at}[${i}]`);
        if (hit) return hit;
      }
    }
    return undefined;
  }
  for (const key in value as object) {
    if (!Object.hasOwn(value as object, key)) continue;
    const v: unknown = (value as Record<string, unknown>)[key];
    if (typeof v === 'object' ? v !== null : typeof v === 'function' || typeof v === 'symbol') {
      const hit = droppedValuePath(v, `${at}.${key}`);
      if (hit) return hit;
    }
  }
  return undefined;
}

function notJson(what: string, cause?: unknown): ToolgateError {
  return new ToolgateError(
    ErrorCodes.ARGS_NOT_JSON,
    `tool arguments are not JSON (${what}). Pass plain JSON values: strings, numbers, booleans, null, arrays, objects.`,
    cause === undefined ? undefined : { cause },
  );
}
