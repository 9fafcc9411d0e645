import canonicalize from 'canonicalize';
import { ErrorCodes, ToolgateError } from '../errors';

/**
 * RFC 8785 (JCS) canonical JSON of `value`: the output of `canonicalize` (the RFC author's
 * implementation), which is also what it falls back to for values nested deeper than
 * `FAST_MAX_DEPTH`. Throws a ToolgateError with code `ARGS_NOT_JSON` for values JSON cannot
 * represent faithfully: cycles, BigInt, non-finite numbers, lone surrogates, and functions or
 * symbols (which JSON would silently drop, so the digest would not cover what the tool gets).
 *
 * One walk over the value does it all (serialising, and noticing a function or symbol that JSON
 * would drop); the library plus a second walk for dropped values cost twice as much per call.
 */
export function canonicalJson(value: unknown): string {
  return plainCanonical(value) ?? walkCanonical(value);
}

/**
 * The walk behind `canonicalJson` for everything `plainCanonical` hands back (toJSON, boxed
 * primitives, class instances, errors, deep values): the reference the fast path is tested against.
 * @internal
 */
export function walkCanonical(value: unknown): string {
  let out: string | undefined;
  const walk: Walk = { dropped: false, ancestors: [] };
  let deep = false;
  try {
    try {
      out = fast(value, walk, 0);
    } catch (cause) {
      if (cause !== TOO_DEEP) throw cause;
      deep = true;
      out = canonicalize(value);
    }
  } catch (cause) {
    throw notJson((cause as Error)?.message ?? String(cause), cause);
  }
  if (out === undefined) throw notJson('the value has no JSON representation (undefined, a function or a symbol)');
  if (walk.dropped || deep) {
    // The walk has finished, so the value is acyclic: a plain recursive check is safe here.
    const path = droppedValuePath(value, '$');
    if (path) throw notJson(`a ${path.kind} at ${path.at}`);
  }
  return out;
}

/** Nesting past which the iterative library serialises instead (no deep recursion here). */
const FAST_MAX_DEPTH = 64;

/** Thrown by `fast` past FAST_MAX_DEPTH: the library serialises the value instead. */
const TOO_DEEP: unique symbol = Symbol('too deep');

interface Walk {
  /** A function or symbol was left out (an object member) or written as null (an array item). */
  dropped: boolean;
  /** The containers (and toJSON wrappers) being serialised: a value met again is a cycle. */
  ancestors: object[];
}

/**
 * The canonical text of `value`, or undefined where JSON has no representation (undefined, a
 * function, a symbol — noted in `walk.dropped` — or a toJSON that returns one). The same text and
 * the same errors as `canonicalize`: toJSON() is called, boxed primitives unwrapped, keys sorted by
 * UTF-16 code units, numbers written as ECMAScript does (`JSON.stringify`).
 */
function fast(input: unknown, walk: Walk, depth: number): string | undefined {
  let value = input;
  switch (typeof value) {
    case 'string':
      return str(value);
    case 'number':
      return num(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    case 'function':
    case 'symbol':
      walk.dropped = true;
      return undefined;
    case 'bigint':
      // The library's message: JSON.stringify's TypeError.
      return JSON.stringify(value);
    default:
      return undefined;
  }
  if (value === null) return 'null';
  const ancestors = walk.ancestors;
  const base = ancestors.length;
  try {
    while (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
      if (ancestors.includes(value)) throw new Error('Circular reference detected');
      ancestors.push(value);
      value = (value as { toJSON: () => unknown }).toJSON();
    }
    if (value instanceof Number || value instanceof String || value instanceof Boolean) value = value.valueOf();
    if (value === null || typeof value !== 'object') {
      // A toJSON result (or an unwrapped box) is serialised as the library does: no drop is noted
      // for a function returned by toJSON (JSON leaves it out as well).
      if (typeof value === 'function' || typeof value === 'symbol' || value === undefined) return undefined;
      return fast(value, walk, depth);
    }
    if (depth >= FAST_MAX_DEPTH) throw TOO_DEEP;
    if (ancestors.includes(value)) throw new Error('Circular reference detected');
    ancestors.push(value);
    if (Array.isArray(value)) {
      const list = value as unknown[];
      let text = '[';
      for (let i = 0; i < list.length; i++) {
        if (i > 0) text += ',';
        const item = list[i];
        const t = item === undefined ? undefined : fast(item, walk, depth + 1);
        text += t === undefined ? 'null' : t;
      }
      return `${text}]`;
    }
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length > 1) keys.sort();
    let text = '{';
    let first = true;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const item = obj[key];
      if (item === undefined) continue;
      const t = fast(item, walk, depth + 1);
      if (t === undefined) continue;
      text += first ? `${str(key)}:${t}` : `,${str(key)}:${t}`;
      first = false;
    }
    return `${text}}`;
  } finally {
    ancestors.length = base;
  }
}

function str(value: string): string {
  if (!value.isWellFormed()) throw new Error('Lone surrogate is not allowed');
  return JSON.stringify(value);
}

function num(value: number): string {
  if (Number.isNaN(value)) throw new Error('NaN is not allowed');
  if (!Number.isFinite(value)) throw new Error('Infinity is not allowed');
  return JSON.stringify(value);
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

/**
 * The canonical text of plain JSON data (plain objects and arrays, strings, finite numbers,
 * booleans, null; `undefined` members left out, `undefined` array items written as null), or
 * undefined for anything else — the caller then runs `walkCanonical`, which starts over and writes
 * the same text or throws the same error. Written for speed on large arguments (issue 13): no
 * sorting of a key list already seen in that shape (the sorted order and the quoted keys are cached
 * per nesting level), strings quoted without a `JSON.stringify` call unless they need escapes,
 * numbers written with `'' + n` (the same ECMAScript Number::toString as `JSON.stringify`).
 *
 * Each property is read once (`Object.keys`, then one read per key), so a getter cannot show one
 * value here and another later. Whatever this path does not handle itself (a toJSON, a function,
 * a symbol, a BigInt, NaN, a lone surrogate, a class instance, nesting past FAST_MAX_DEPTH, a
 * cycle, a getter that throws) sends the whole value to the reference walk. Tested against it and
 * against the `canonicalize` library with random values (canonical-json.test.ts).
 * @internal
 */
export function plainCanonical(value: unknown): string | undefined {
  try {
    return plain(value, [], 0);
  } catch {
    return undefined;
  }
}

/** Thrown inside `plain` when the value needs the reference walk. */
const NOT_PLAIN: unique symbol = Symbol('not plain JSON');

/** Characters JSON escapes in a string: the quote, the backslash and the C0 controls. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;

function quote(s: string): string {
  if (!s.isWellFormed()) throw NOT_PLAIN;
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/** A key list in one shape: its order sorted by UTF-16 code units, and each key quoted with its colon. */
interface Shape {
  keys: string[];
  order: number[];
  heads: string[];
}

/** The last two shapes seen at each nesting level (entries are never changed once made). */
const shapes: Array<[Shape | undefined, Shape | undefined]> = [];

/** Key lists longer than this are sorted each time (not cached). */
const MAX_CACHED_KEYS = 64;

function sameKeys(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function shapeOf(keys: string[], depth: number): Shape {
  let slot = shapes[depth];
  if (slot === undefined) slot = shapes[depth] = [undefined, undefined];
  const [a, b] = slot;
  if (a !== undefined && sameKeys(a.keys, keys)) return a;
  if (b !== undefined && sameKeys(b.keys, keys)) {
    slot[0] = b;
    slot[1] = a;
    return b;
  }
  const order = keys.map((_, i) => i).sort((x, y) => (keys[x]! < keys[y]! ? -1 : keys[x]! > keys[y]! ? 1 : 0));
  const shape: Shape = { keys, order, heads: order.map((i) => `${quote(keys[i]!)}:`) };
  if (keys.length <= MAX_CACHED_KEYS) {
    slot[1] = a;
    slot[0] = shape;
  }
  return shape;
}

function plain(value: unknown, ancestors: object[], depth: number): string {
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
      // NaN and ±Infinity (x - x is NaN): the reference walk throws its error.
      if (value - value !== 0) throw NOT_PLAIN;
      return `${value}`;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw NOT_PLAIN;
  }
  if (value === null) return 'null';
  if (depth >= FAST_MAX_DEPTH) throw NOT_PLAIN;
  for (let i = 0; i < depth; i++) if (ancestors[i] === value) throw NOT_PLAIN;
  ancestors[depth] = value;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') throw NOT_PLAIN;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) throw NOT_PLAIN;
    const list = value as unknown[];
    const n = list.length;
    let text = '[';
    for (let i = 0; i < n; i++) {
      const item = list[i];
      if (i > 0) text += ',';
      text += item === undefined ? 'null' : plain(item, ancestors, depth + 1);
    }
    return `${text}]`;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw NOT_PLAIN;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  const n = keys.length;
  if (n === 0) return '{}';
  if (n === 1) {
    const only = obj[keys[0]!];
    return only === undefined ? '{}' : `{${quote(keys[0]!)}:${plain(only, ancestors, depth + 1)}}`;
  }
  const shape = shapeOf(keys, depth);
  const order = shape.order;
  const heads = shape.heads;
  let text = '{';
  let first = true;
  for (let j = 0; j < n; j++) {
    const item = obj[keys[order[j]!]!];
    if (item === undefined) continue;
    text += first ? heads[j] : `,${heads[j]}`;
    text += plain(item, ancestors, depth + 1);
    first = false;
  }
  return `${text}}`;
}
