import { redact, redactText, REDACTED } from '../audit/redact';

/**
 * A value as shown in a generated reason: numbers, booleans and null as written, strings as they
 * are, anything else as JSON; cut to 80 characters. Never throws.
 */
export function showValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  let s: string;
  try {
    s = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** The constant start of a check's text in a reason: `args.amount gt 1000 (actual `. */
export function checkTextHead(field: string, op: string, expected: unknown): string {
  return `${field} ${op} ${showValue(expected)} (actual `;
}

/** An actual value in a check's text: `5000`, or `missing` for a field that is not there. */
export function showActual(actual: unknown): string {
  return actual === undefined ? 'missing' : showValue(actual);
}

/** Ops whose `expected` is a value the field is compared with (so, for a secret field, a secret). */
const VALUE_OPS: ReadonlySet<string> = new Set(['eq', 'ne', 'in', 'nin', 'contains']);

/**
 * The `expected` of a check as it may be shown (in `evaluated[]` and in reasons): for a secret
 * field (`args.api_key`, `args.db.password`) a compared value becomes `[REDACTED]`; patterns
 * (`matches`), numeric thresholds and `exists` stay, they are policy, not data.
 */
export function shownExpected(secret: boolean, op: string, expected: unknown): unknown {
  return secret && VALUE_OPS.has(op) && expected !== null && expected !== undefined ? REDACTED : expected;
}

/** Strings shorter than this hold no credential `redactText` would find (`pwd=x` is 5). */
export const MIN_CREDENTIAL_TEXT = 5;

/** Longest string shown as an actual value; longer ones are cut (agent-chosen, possibly 1 MB). */
export const MAX_SHOWN_TEXT = 1024;
/** Budget for an object shown as an actual value: entries plus characters / 64. */
const MAX_SHOWN_SIZE = 256;

/**
 * An actual value as it may be shown (in `evaluated[]` and, through it, in reasons, the audit,
 * the review server's database, its API, dashboard and webhooks): `[REDACTED]` for a secret
 * field, credentials inside a string (`Bearer …`, `sk-…`, `password=…`) replaced, secret keys of
 * an object redacted. Numbers, booleans, null and missing values as they are.
 *
 * Bounded, because the value is agent-chosen and one field may be checked by many rules: a string
 * over 1024 characters is cut (at a word boundary, so no half token is left) and ends in
 * `…[+N chars]`; an object or list beyond a small size is shown as `[Array(50000)]` /
 * `[Object(1200 keys)]`. The decision itself always uses the whole value. Never throws.
 */
export function shownActual(secret: boolean, actual: unknown, path: string): unknown {
  if (actual === undefined || actual === null) return actual;
  if (secret) return REDACTED;
  switch (typeof actual) {
    case 'string':
      return actual.length < MIN_CREDENTIAL_TEXT ? actual : redactText(cut(actual));
    case 'object':
      try {
        return small(actual, { left: MAX_SHOWN_SIZE }, 0) ? redact(actual, undefined, path) : summary(actual);
      } catch {
        return '[Unreadable]';
      }
    case 'bigint':
      return actual.toString();
    default:
      return actual;
  }
}

function cut(text: string): string {
  if (text.length <= MAX_SHOWN_TEXT) return text;
  let head = text.slice(0, MAX_SHOWN_TEXT);
  // Drop a trailing partial word: half a token is still a secret `redactText` cannot recognise.
  const last = head.search(/\S{1,256}$/);
  if (last > 0) head = head.slice(0, last);
  return `${head}…[+${text.length - head.length} chars]`;
}

/** True when `value` fits the budget (entries, plus string characters / 64), deep. */
function small(value: unknown, budget: { left: number }, depth: number): boolean {
  if (typeof value === 'string') return (budget.left -= 1 + value.length / 64) >= 0;
  if (typeof value !== 'object' || value === null) return --budget.left >= 0;
  if (depth > 16 || --budget.left < 0) return false;
  // Every entry costs at least 1, so either loop stops within the budget, however big the value.
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!small(value[i], budget, depth + 1)) return false;
    return true;
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (--budget.left < 0 || !small((value as Record<string, unknown>)[key], budget, depth + 1)) return false;
  }
  return true;
}

function summary(value: object): string {
  return Array.isArray(value) ? `[Array(${value.length})]` : `[Object(${Object.keys(value).length} keys)]`;
}
