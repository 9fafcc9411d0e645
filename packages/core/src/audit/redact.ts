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

/** Normalised (lower case, no `_`, `-`, `.` or spaces) key names that are always secret. */
const SECRET_KEYS = new Set([
  'password',
  'passwd',
  'pwd',
  'passphrase',
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
  'mnemonic',
  'seedphrase',
  'sessionid',
  'sessionkey',
  'signingkey',
  'secretkey',
  'accesskey',
  'encryptionkey',
  'masterkey',
  'otp',
  'cvv',
  'cvc',
]);
/**
 * Normalised endings that make a key secret: `githubToken`, `db_password`, `x-api-key`,
 * `AWS_SECRET_ACCESS_KEY`, `jwt_signing_key`, `user_session_id`.
 */
const SECRET_SUFFIXES = [
  'token',
  'secret',
  'password',
  'passwd',
  'passphrase',
  'apikey',
  'secretkey',
  'accesskey',
  'privatekey',
  'signingkey',
  'encryptionkey',
  'sessionid',
  'mnemonic',
];
/** Normalised parts that make a key secret wherever they are: `private_key_pem`, `passwordHash`, `secretKeyId`. */
const SECRET_PARTS = ['password', 'passphrase', 'privatekey', 'secretkey', 'secretaccesskey', 'mnemonic', 'seedphrase'];

const AUTH_VALUE = /^(?:Bearer|Basic)\s+\S+/i;

/**
 * Credentials inside free text, each replaced by a function of its match. Every pattern is linear
 * (no nested or overlapping quantifiers) because the text is agent-chosen. Kept deliberately
 * narrow: an over-eager pattern hides useful text in an audit trail.
 */
const INLINE: ReadonlyArray<readonly [RegExp, (match: string, ...groups: string[]) => string, named?: boolean]> = [
  // PEM private keys (the body has no "-", so `[^-]*` stops at the END line or the next dash).
  [/-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----[^-]*(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----)?/g, () => REDACTED],
  // Authorization headers: `Authorization: Bearer x`, `authorization="Basic x"` keep the name.
  [/\b((?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:(?:Bearer|Basic|Token|Digest|Bot)\s+)?[^\s"'`,;]+/gi, (_m, head) => `${head}${REDACTED}`],
  // Cookie headers: the whole value up to the end of the line or a quote.
  [/\b((?:set-)?cookie\s*:\s*)[^\r\n"'`]+/gi, (_m, head) => `${head}${REDACTED}`],
  // A Bearer/Basic credential anywhere: the token must look like one (a digit or a token
  // character, or 16+ letters), so prose such as "basic plan" stays.
  [/\b(?:Bearer|Basic)\s+([A-Za-z0-9._~+/=-]+)/gi, (m, tok) => (looksLikeToken(tok) ? REDACTED : m)],
  // Well-known token formats: OpenAI/Anthropic `sk-…`, Stripe `sk_live_…`, GitHub `ghp_…` and
  // `github_pat_…`, Slack `xox?-…`, AWS access key ids, Google API keys, JWTs.
  [
    /\b(?:sk-[A-Za-z0-9_-]{20,}|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})/g,
    () => REDACTED,
  ],
  // A password in a URL: `postgres://user:pw@host` keeps the user and host.
  [/\b([a-z][a-z0-9+.-]{0,20}:\/\/[^\s:/@]{1,128}):[^\s/@]{1,256}@/gi, (_m, head) => `${head}:${REDACTED}@`],
  // `name=value` (query strings, env lines, connection strings) and `"name": "value"` (JSON in a
  // text) where `name` is a secret key by the default rules.
  // Only run when the text holds a secret-looking name at all (see NAMED_SCREEN): a text of many
  // harmless `a=b` pairs then costs one scan, not a callback per pair.
  [/\b([A-Za-z][A-Za-z0-9_.-]{0,63})=([^\s&"'`,;]+)/g, (m, name) => (DEFAULT_IS_SECRET(name) ? `${name}=${REDACTED}` : m), true],
  [/"([A-Za-z][A-Za-z0-9_.-]{0,63})"(\s*:\s*)"(?:[^"\\]|\\.)*"/g, (m, name, sep) => (DEFAULT_IS_SECRET(name) ? `"${name}"${sep}"${REDACTED}"` : m), true],
];

/** Parts of every default secret name (`isDefaultSecret`), for the `name=value` screens. */
const NAMED_SCREEN = /pass|pwd|secret|token|key|auth|cookie|credential|ssn|mnemonic|phrase|session|otp|cvv|cvc/i;

/** A cheap screen: text without any of these cannot hold an inline credential but a named one. */
const INLINE_SCREEN = /bearer|basic|authoriz|cookie|private key|sk-|[sr]k_|gh[pousr]_|github_pat_|xox|AKIA|AIza|eyJ|:\/\//i;
/** The named patterns (`name=value`, `"name": "value"`) need one of these and a secret-looking name. */
const NAMED_PAIR = /[="]/;

function looksLikeToken(tok: string): boolean {
  return tok.length >= 16 || /[0-9._~+/=-]/.test(tok);
}

/** Options compiled once (cached per options object). */
export interface CompiledRedaction {
  isSecretKey(key: string): boolean;
  /** `isSecretField(field, options)` for these options, memoised (fields repeat from record to record). */
  isSecretField(field: string): boolean;
  /** Compiled `paths`, split on dots. */
  paths: ReadonlyArray<ReadonlyArray<string>>;
  maxDepth: number;
}

const compiledCache = new WeakMap<RedactOptions, CompiledRedaction>();
const DEFAULT_COMPILED = compile(undefined);

function normaliseKey(key: string): string {
  return key.replace(/[_\-.\s]/g, '').toLowerCase();
}

function isDefaultSecret(n: string): boolean {
  return SECRET_KEYS.has(n) || SECRET_SUFFIXES.some((s) => n.endsWith(s)) || SECRET_PARTS.some((s) => n.includes(s));
}

const defaultMemo = new Map<string, boolean>();
/** The default rules for one key name, memoised (bounded): text can repeat a name many times. */
const DEFAULT_IS_SECRET = (key: string): boolean => {
  let hit = defaultMemo.get(key);
  if (hit === undefined) {
    hit = isDefaultSecret(normaliseKey(key));
    if (defaultMemo.size >= 4096) defaultMemo.clear();
    defaultMemo.set(key, hit);
  }
  return hit;
};

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
      isDefaultSecret(n) ||
      extraNames.has(n) ||
      extraPatterns.some((re) => re.test(key));
    if (memo.size < 10_000) memo.set(key, secret);
    return secret;
  };
  const paths = (options?.paths ?? []).filter((p) => typeof p === 'string' && p !== '').map((p) => p.split('.'));
  const maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
  const compiled: CompiledRedaction = { isSecretKey, isSecretField: (field) => false, paths, maxDepth };
  const fieldMemo = new Map<string, boolean>();
  compiled.isSecretField = (field: string): boolean => {
    let hit = fieldMemo.get(field);
    if (hit === undefined) {
      hit = field.split('.').some((seg) => isSecretKey(seg)) || startCursors(compiled, field).hit;
      if (fieldMemo.size >= 10_000) fieldMemo.clear();
      fieldMemo.set(field, hit);
    }
    return hit;
  };
  return compiled;
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

/** No configured paths: nothing to follow (shared, never mutated). */
const NO_CURSORS: { cursors: PathCursor[]; hit: boolean } = { cursors: [], hit: false };

function startCursors(c: CompiledRedaction, at: string | undefined): { cursors: PathCursor[]; hit: boolean } {
  if (c.paths.length === 0) return NO_CURSORS;
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
  return compileRedaction(options).isSecretField(field);
}

/**
 * Replaces credentials inside free text (error and outcome messages, reasons, any string value)
 * with `[REDACTED]`: `Authorization: …` and `Cookie: …` header values, `Bearer …` / `Basic …`
 * tokens, PEM private keys, well-known token formats (`sk-…`, `sk_live_…`, `ghp_…`,
 * `github_pat_…`, `xoxb-…`, `AKIA…`, `AIza…`, JWTs), the password in `scheme://user:pw@host`, and
 * `name=value` / `"name": "value"` pairs whose name is a default secret key (`password=…`,
 * `?api_key=…`). Linear in the length of the text; never throws.
 *
 * @example
 * ```ts
 * redactText('curl -H "Authorization: Bearer abc123" https://u:pw@host/?token=t1');
 * // → 'curl -H "Authorization: [REDACTED]" https://u:[REDACTED]@host/?token=[REDACTED]'
 * ```
 */
export function redactText(text: string): string {
  if (typeof text !== 'string') return text;
  // Every credential pattern needs at least 5 characters (`otp=1`): shorter text is kept as is.
  if (text.length < 5) return text;
  // Most texts (reasons such as `rule "small-transfer" (allow)`, ids, memos) hold no credential
  // marker and, if they quote or assign anything, no secret-looking name: one or two scans.
  let named: boolean | undefined;
  if (!INLINE_SCREEN.test(text)) {
    if (!NAMED_PAIR.test(text)) return text;
    named = NAMED_SCREEN.test(text);
    if (!named) return text;
  }
  let out = text;
  for (const [re, replace, needsName] of INLINE) {
    if (needsName === true && !(named ??= NAMED_SCREEN.test(out))) continue;
    out = out.replace(re, replace as (m: string, ...rest: unknown[]) => string);
  }
  return out;
}

/**
 * The one redaction to apply to anything agent-supplied before it is stored, logged or shown
 * (call args, agent objects, outcome messages, evaluated checks): a deep, JSON-safe copy with
 * secret-named keys and configured paths replaced by `[REDACTED]` and credentials inside every
 * string replaced by `redactText`. A string in, a string out. The same as `redact`.
 *
 * @param at Where `value` sits (`'args'`, `'agent'`, `'meta'`), so `options.paths` apply.
 *
 * @example
 * ```ts
 * redactValue({ id: 'bot', labels: { session_id: 's1' } }, undefined, 'agent');
 * // → { id: 'bot', labels: { session_id: '[REDACTED]' } }
 * redactValue('upstream said: Authorization: Bearer abc123'); // → 'upstream said: Authorization: [REDACTED]'
 * ```
 */
export function redactValue(value: unknown, options?: RedactOptions, at?: string): unknown {
  return redact(value, options, at);
}

/**
 * Returns a redacted deep copy of `value`; the input is never mutated.
 *
 * - Values under secret keys become `"[REDACTED]"`: `password`, `passwd`, `pwd`, `passphrase`,
 *   `secret`, `token`, `apiKey`, `authorization`, `cookie`, `privateKey`, `accessToken`,
 *   `refreshToken`, `clientSecret`, `credential(s)`, `ssn`, `mnemonic`, `sessionId`,
 *   `signingKey`, `secretKey`, `accessKey`, `otp`, `cvv`, any key ending in `token`, `secret`,
 *   `password`, `passphrase`, `apikey`, `secretkey`, `accesskey`, `privatekey`, `signingkey`,
 *   `sessionid`, and any key containing `password`, `privatekey`, `secretkey`, `passphrase` or
 *   `mnemonic` (matched case-insensitively with `_`, `-`, `.` and spaces removed, so `githubToken`,
 *   `AWS_SECRET_ACCESS_KEY` and `private_key_pem` are secret while `maxTokens` is not), plus
 *   `options.keys`. `null` stays `null`.
 * - Values at `options.paths` (dotted, `*` = one segment) become `"[REDACTED]"`.
 * - Strings that start with `Bearer <x>` / `Basic <x>` become `"[REDACTED]"`; credentials inside
 *   other strings are replaced as `redactText` does.
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
  return copy(value, c, start.cursors, 0, []);
}

function isEmpty(v: unknown): boolean {
  return v === null || v === undefined;
}

function copy(value: unknown, c: CompiledRedaction, cursors: ReadonlyArray<PathCursor>, depth: number, ancestors: object[]): unknown {
  switch (typeof value) {
    case 'string':
      // `Basic x` needs 7 characters; redactText screens short text itself.
      return value.length >= 7 && AUTH_VALUE.test(value) ? REDACTED : redactText(value);
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
  // The ancestors are at most maxDepth (+ toJSON wrappers) long: a scan beats a Set's add/delete.
  if (ancestors.includes(value)) return CIRCULAR;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    let json: unknown;
    try {
      json = (toJSON as (key: string) => unknown).call(value, '');
    } catch {
      return '[Unserializable]';
    }
    if (json !== value) {
      ancestors.push(value);
      try {
        return copy(json, c, cursors, depth, ancestors);
      } finally {
        ancestors.pop();
      }
    }
  }
  if (depth >= c.maxDepth) return MAX_DEPTH;
  ancestors.push(value);
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
    ancestors.pop();
  }
}

const NO_ADVANCE: { next: PathCursor[]; hit: boolean } = { next: [], hit: false };
