import { RE2JS } from 're2js';

/**
 * A `matches` pattern compiled for RE2, a linear-time engine (the pure-JS `re2js` port, so it runs
 * on edge runtimes too). Matching costs time proportional to the input whatever the pattern: an
 * agent-chosen 80 KB argument cannot stall the event loop the way a backtracking RegExp can.
 */
export type LinearPattern = RE2JS;

/** Why a pattern cannot be compiled; `message` says what to change. */
export class LinearPatternError extends Error {
  readonly code = 'POLICY_PATTERN_INVALID';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LinearPatternError';
  }
}

const FLAG_BITS: Readonly<Record<string, number>> = {
  i: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
  // RE2 always matches by code point: `u` changes nothing.
  u: 0,
};

/**
 * The first construct of `source` that needs a backtracking engine: lookahead, lookbehind or a
 * backreference (`\1`, `\k<name>`). Escapes and character classes are skipped, so `\\1`
 * (a backslash, then 1) and `[(?=]` are not flagged.
 */
function backtrackingConstruct(source: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === '\\') {
      const next = source[i + 1] ?? '';
      if (!inClass && (/[1-9]/.test(next) || (next === 'k' && source[i + 2] === '<'))) return 'a backreference';
      i++;
    } else if (inClass) {
      if (ch === ']') inClass = false;
    } else if (ch === '[') {
      inClass = true;
    } else if (ch === '(' && source[i + 1] === '?') {
      const rest = source.slice(i + 2, i + 4);
      if (rest.startsWith('=') || rest.startsWith('!')) return 'a lookahead';
      if (rest === '<=' || rest === '<!') return 'a lookbehind';
    }
  }
  return undefined;
}

/**
 * Compiles a JavaScript-style RegExp source (flags any of `imsu`) for RE2. Throws a
 * `LinearPatternError` for a pattern RE2 cannot express (lookahead, lookbehind, backreferences)
 * or that is not valid.
 *
 * @example
 * compileLinearPattern('\\brm\\s+-rf', 'i').test('sudo rm -rf /'); // → true
 */
export function compileLinearPattern(source: string, flags = ''): LinearPattern {
  let bits = 0;
  for (const f of flags) {
    const bit = FLAG_BITS[f];
    if (bit === undefined) throw new LinearPatternError(`unknown regex flag "${f}": use any of i, m, s, u`);
    bits |= bit;
  }
  const construct = backtrackingConstruct(source);
  if (construct !== undefined) {
    throw new LinearPatternError(
      `uses ${construct}, which cannot be matched in linear time (lookahead, lookbehind or a backreference); policy patterns use RE2 syntax (https://github.com/google/re2/wiki/Syntax): rewrite it without them`,
    );
  }
  try {
    return RE2JS.compile(RE2JS.translateRegExp(source), bits);
  } catch (error) {
    const detail = (error as Error).message ?? String(error);
    throw new LinearPatternError(`invalid regular expression for RE2 (https://github.com/google/re2/wiki/Syntax): ${detail}`, { cause: error });
  }
}
