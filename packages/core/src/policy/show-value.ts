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

/**
 * An actual value as it may be shown (in `evaluated[]` and, through it, in reasons, the audit,
 * the review server's database, its API, dashboard and webhooks): `[REDACTED]` for a secret
 * field, credentials inside a string (`Bearer …`, `sk-…`, `password=…`) replaced, secret keys of
 * an object redacted. Numbers, booleans, null and missing values as they are. Never throws.
 */
export function shownActual(secret: boolean, actual: unknown, path: string): unknown {
  if (actual === undefined || actual === null) return actual;
  if (secret) return REDACTED;
  switch (typeof actual) {
    case 'string':
      return actual.length < MIN_CREDENTIAL_TEXT ? actual : redactText(actual);
    case 'object':
    case 'bigint':
      return redact(actual, undefined, path);
    default:
      return actual;
  }
}
