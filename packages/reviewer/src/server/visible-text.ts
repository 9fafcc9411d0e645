/**
 * Characters a human reading a call cannot see, or that change what the rest of the line looks
 * like: C0/C1 controls (ESC starts terminal escape sequences), format characters (bidi
 * overrides and isolates such as U+202E, zero-width spaces and joiners, the BOM, Unicode tag
 * characters), line/paragraph separators, lone surrogates, and blank-looking Hangul fillers.
 */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u115F\u1160\u3164\uFFA0]/gu;
const HIDDEN_TEST = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u115F\u1160\u3164\uFFA0]/u;

/** What a review that contains such characters is flagged with where humans read it. */
export const HIDDEN_CHARACTERS_NOTE = 'contains hidden/control characters (shown as \\u escapes)';

function escapeOne(ch: string): string {
  const cp = ch.codePointAt(0)!;
  return cp > 0xffff ? `\\u{${cp.toString(16).toUpperCase()}}` : `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Text as it may be shown to a human: every hidden or control character becomes a visible
 * escape (`\u202E`, `\u001B`, `\u{E0041}`), so an agent-chosen tool name cannot redraw the
 * terminal or reverse what the approver reads.
 */
export function visibleText(text: string): string {
  return HIDDEN_TEST.test(text) ? text.replace(HIDDEN, escapeOne) : text;
}

/** True when any string (or object key) in `value` holds a hidden or control character. */
export function hasHiddenCharacters(value: unknown): boolean {
  const stack: Array<{ v: unknown; depth: number }> = [{ v: value, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (HIDDEN_TEST.test(v)) return true;
      continue;
    }
    if (typeof v !== 'object' || v === null || depth > 256) continue;
    if (Array.isArray(v)) {
      for (const item of v) stack.push({ v: item, depth: depth + 1 });
      continue;
    }
    for (const [k, item] of Object.entries(v)) {
      if (HIDDEN_TEST.test(k)) return true;
      stack.push({ v: item, depth: depth + 1 });
    }
  }
  return false;
}

/** A deep copy of a JSON value with `visibleText` applied to every string and object key. */
export function visibleValue<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return visibleText(value) as T;
  if (typeof value !== 'object' || value === null || depth > 256) return value;
  if (Array.isArray(value)) return value.map((v) => visibleValue(v, depth + 1)) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    Object.defineProperty(out, visibleText(k), { value: visibleValue(v, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return out as T;
}

/**
 * JSON text safe to print to a terminal: `JSON.stringify` escapes C0 controls but leaves C1
 * controls, bidi overrides and zero-width characters raw; this escapes those too (as JSON `\uXXXX`
 * escapes, so the text still parses to the same value).
 */
export function visibleJson(value: unknown, space?: number): string {
  const text = JSON.stringify(value, null, space) ?? 'null';
  return text.replace(HIDDEN, (ch) => {
    // Raw newlines are only the indentation's (inside strings JSON.stringify escapes them).
    if (ch === '\n') return ch;
    let out = '';
    for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return out;
  });
}
