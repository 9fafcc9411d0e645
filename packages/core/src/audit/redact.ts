/** Extra secret keys (names or RegExps, matched case-insensitively) and dotted paths to redact. */
export interface RedactOptions {
  /**
   * Extra secret key names. Strings match a key case-insensitively after `_` and `-` are removed
   * (`'cardNumber'` matches `card_number` and `CARD-NUMBER`); RegExps are tested against the key as
   * written, case-insensitively.
   */
  keys?: ReadonlyArray<string | RegExp>;
  /**
   * Dotted paths whose value (and everything under it) is redacted, e.g. `args.card.number`;
   * `*` matches exactly one segment (`args.items.*.iban`), array indices are segments (`args.to.0`).
   * Paths are rooted where `redact` is told its value sits (see `redact`'s `at`); in audit entries
   * the roots are `args`, `meta` and the `field` of evaluated checks.
   */
  paths?: ReadonlyArray<string>;
  /** Deeper values become `"[MaxDepth]"`. Default 32. */
  maxDepth?: number;
}

/** What a secret becomes. */
export const REDACTED = '[REDACTED]';
/** What a reference back to an enclosing object becomes. */
export const CIRCULAR = '[Circular]';
/** What a value nested deeper than `maxDepth` becomes. */
export const MAX_DEPTH = '[MaxDepth]';

const DEFAULT_MAX_DEPTH = 32;

/** Normalised (lower case, no `_`/`-`) key names that are always secret. */
const SECRET_KEYS = new Set([
  'password',
  'passwd',
  'secret',
  'token',
  'apikey',
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'privatekey',
  'accesstoken',
  'refreshtoken',
  'clientsecret',
  'credential',
  'credentials',
  'ssn',
]);
/** Normalised endings that make a key secret: `githubToken`, `db_password`, `x-api-key`. */
const SECRET_SUFFIXES = ['token', 'secret', 'password', 'apikey'];

const AUTH_VALUE = /^(?:Bearer|Basic)\s+\S+/i;
const AUTH_IN_TEXT = /\b(?:Bearer|Basic)\s+[^\s"'`,;]+/gi;

/** Options compiled once (cached per options object). */
export interface CompiledRedaction {
  isSecretKey(key: string): boolean;
  /** Compiled `paths`, split on dots. */
  paths: ReadonlyArray<ReadonlyArray<string>>;
  maxDepth: number;
}

const compiledCache = new WeakMap<RedactOptions, CompiledRedaction>();
const DEFAULT_COMPILED = compile(undefined);

function normaliseKey(key: string): string {
  return key.replace(/[_-]/g, '').toLowerCase();
}

function compile(options: RedactOptions | undefined): CompiledRedaction {
  const extraNames = new Set<string>();
  const extraPatterns: RegExp[] = [];
  for (const k of options?.keys ?? []) {
    if (typeof k === 'string') extraNames.add(normaliseKey(k));
    else if (k instanceof RegExp) {
      // Drop g/y so test() has no lastIndex state; add i for case-insensitivity.
      const flags = k.flags.replace(/[gy]/g, '');
      extraPatterns.push(new RegExp(k.source, flags.includes('i') ? flags : `${flags}i`));
    }
  }
  const memo = new Map<string, boolean>();
  const isSecretKey = (key: string): boolean => {
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    const n = normaliseKey(key);
    const secret =
      SECRET_KEYS.has(n) ||
      SECRET_SUFFIXES.some((s) => n.endsWith(s)) ||
      extraNames.has(n) ||
      extraPatterns.some((re) => re.test(key));
    if (memo.size < 10_000) memo.set(key, secret);
    return secret;
  };
  const paths = (options?.paths ?? []).filter((p) => typeof p === 'string' && p !== '').map((p) => p.split('.'));
  const maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
  return { isSecretKey, paths, maxDepth };
}

/** Compiles redaction options once; repeated calls with the same object are free. */
export function compileRedaction(options?: RedactOptions): CompiledRedaction {
  if (!options) return DEFAULT_COMPILED;
  let c = compiledCache.get(options);
  if (!c) {
    c = compile(options);
    compiledCache.set(options, c);
  }
  return c;
}

/** A cursor into the compiled paths: pattern index and how many segments already matched. */
type PathCursor = readonly [pattern: number, matched: number];

function startCursors(c: CompiledRedaction, at: string | undefined): { cursors: PathCursor[]; hit: boolean } {
  let cursors: PathCursor[] = c.paths.map((_, i) => [i, 0] as const);
  if (!at) return { cursors, hit: false };
  for (const seg of at.split('.')) {
    const r = advance(c, cursors, seg);
    if (r.hit) return { cursors: [], hit: true };
    cursors = r.next;
  }
  return { cursors, hit: false };
}

function advance(c: CompiledRedaction, cursors: ReadonlyArray<PathCursor>, seg: string): { next: PathCursor[]; hit: boolean } {
  const next: PathCursor[] = [];
  for (const [p, m] of cursors) {
    const pattern = c.paths[p]!;
    const want = pattern[m];
    if (want === '*' || want === seg) {
      if (m + 1 === pattern.length) return { next: [], hit: true };
      next.push([p, m + 1]);
    }
  }
  return { next, hit: false };
}

/**
 * True when a dotted field (e.g. an evaluated check's `args.db.password`) names a secret: one of
 * its segments is a secret key, or it lies at or under a configured path.
 */
export function isSecretField(field: string, options?: RedactOptions): boolean {
  if (typeof field !== 'string' || field === '') return false;
  const c = compileRedaction(options);
  if (field.split('.').some((seg) => c.isSecretKey(seg))) return true;
  return startCursors(c, field).hit;
}

/**
 * Replaces `Bearer …` / `Basic …` credentials anywhere inside free text (error and outcome
 * messages) with `[REDACTED]`.
 */
export function redactText(text: string): string {
  return text.replace(AUTH_IN_TEXT, REDACTED);
}

/**
 * Returns a redacted deep copy of `value`; the input is never mutated.
 *
 * - Values under secret keys become `"[REDACTED]"`: `password`, `passwd`, `secret`, `token`,
 *   `apiKey`, `authorization`, `cookie`, `privateKey`, `accessToken`, `refreshToken`,
 *   `clientSecret`, `credential(s)`, `ssn` and any key ending in `token`, `secret`, `password` or
 *   `apikey` (matched case-insensitively with `_`/`-` removed, so `githubToken` and `db_password`
 *   are secret while `maxTokens` is not), plus `options.keys`. `null` stays `null`.
 * - Values at `options.paths` (dotted, `*` = one segment) become `"[REDACTED]"`.
 * - Strings that start with `Bearer <x>` / `Basic <x>` become `"[REDACTED]"`.
 * - The copy is JSON-safe: cycles become `"[Circular]"`, values deeper than `maxDepth` become
 *   `"[MaxDepth]"`, `toJSON()` is honoured, BigInts become strings, functions, symbols and
 *   `undefined` are dropped from objects (`null` in arrays), non-finite numbers become `null`.
 * - A `__proto__` key is copied as an own data property: nothing can pollute a prototype.
 *
 * @param at Where `value` sits, as a dotted path, so `options.paths` like `args.card.number`
 *   apply: pass `'args'` when redacting a call's arguments.
 *
 * @example
 * ```ts
 * redact({ user: 'ann', db_password: 'x', auth: 'Bearer abc' });
 * // → { user: 'ann', db_password: '[REDACTED]', auth: '[REDACTED]' }
 * redact({ card: { number: '4111…' } }, { paths: ['args.card.number'] }, 'args');
 * ```
 */
export function redact(value: unknown, options?: RedactOptions, at?: string): unknown {
  const c = compileRedaction(options);
  const start = startCursors(c, at);
  if (start.hit) return isEmpty(value) ? value : REDACTED;
  return copy(value, c, start.cursors, 0, new Set());
}

function isEmpty(v: unknown): boolean {
  return v === null || v === undefined;
}

function copy(value: unknown, c: CompiledRedaction, cursors: ReadonlyArray<PathCursor>, depth: number, ancestors: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
      return AUTH_VALUE.test(value) ? REDACTED : value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'object':
      break;
    default:
      return undefined; // undefined, function, symbol
  }
  if (value === null) return null;
  if (ancestors.has(value)) return CIRCULAR;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    let json: unknown;
    try {
      json = (toJSON as (key: string) => unknown).call(value, '');
    } catch {
      return '[Unserializable]';
    }
    if (json !== value) {
      ancestors.add(value);
      try {
        return copy(json, c, cursors, depth, ancestors);
      } finally {
        ancestors.delete(value);
      }
    }
  }
  if (depth >= c.maxDepth) return MAX_DEPTH;
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      const out: unknown[] = new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i++) {
        const { next, hit } = cursors.length ? advance(c, cursors, String(i)) : NO_ADVANCE;
        const item: unknown = value[i];
        const v = hit ? (isEmpty(item) ? item : REDACTED) : copy(item, c, next, depth + 1, ancestors);
        out[i] = v === undefined ? null : v;
      }
      return out;
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[key];
      let v: unknown;
      if (c.isSecretKey(key)) {
        v = isEmpty(item) ? item : REDACTED;
      } else {
        const { next, hit } = cursors.length ? advance(c, cursors, key) : NO_ADVANCE;
        v = hit ? (isEmpty(item) ? item : REDACTED) : copy(item, c, next, depth + 1, ancestors);
      }
      if (v === undefined) continue;
      if (key === '__proto__') {
        Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      } else {
        out[key] = v;
      }
    }
    return out;
  } finally {
    ancestors.delete(value);
  }
}

const NO_ADVANCE: { next: PathCursor[]; hit: boolean } = { next: [], hit: false };
