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
