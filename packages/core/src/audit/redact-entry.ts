import type { AuditEntry, EvaluatedCheck } from '../types';
import { isSecretField, redact, redactText, REDACTED, type RedactOptions } from './redact';

/**
 * Returns a redacted copy of an audit entry (the input is not mutated):
 * - `call.args` with `redact(args, options, 'args')` (paths such as `args.card.number` apply);
 * - `decision.evaluated[]`: `actual` and `expected` become `"[REDACTED]"` when the check's `field`
 *   names a secret (a secret key segment such as `args.db_password`, or a configured path);
 *   otherwise `actual` is redacted deeply like args (the policy evaluator already reports them
 *   so; this also covers remote reviewers and custom `redact` options);
 * - `decision.reason`, `decision.conditions`, `decision.error.message` and `outcome.message`:
 *   credentials inside the text (see `redactText`: `Authorization: …`, `Bearer …`, `sk-…`,
 *   `password=…`, PEM keys, URL passwords);
 * - `meta` with `redact(meta, options, 'meta')`.
 *
 * The proof (a signed JWS) is kept: it holds no secrets and lets anyone verify the record offline.
 */
export function redactEntry(entry: AuditEntry, options?: RedactOptions): AuditEntry {
  const out: AuditEntry = { ...entry, call: { ...entry.call } };
  if (entry.call.args !== undefined) out.call.args = redact(entry.call.args, options, 'args');
  if (entry.decision) {
    const d = { ...entry.decision };
    if (Array.isArray(d.evaluated)) d.evaluated = d.evaluated.map((check) => redactCheck(check, options));
    if (typeof d.reason === 'string') d.reason = redactText(d.reason);
    if (Array.isArray(d.conditions)) d.conditions = d.conditions.map((c) => (typeof c === 'string' ? redactText(c) : c));
    if (d.error) d.error = { ...d.error, message: redactText(String(d.error.message)) };
    out.decision = d;
  }
  if (entry.outcome) {
    out.outcome = { ...entry.outcome };
    if (typeof entry.outcome.message === 'string') out.outcome.message = redactText(entry.outcome.message);
  }
  if (entry.meta !== undefined) out.meta = redact(entry.meta, options, 'meta') as Record<string, unknown>;
  return out;
}

function redactCheck(check: EvaluatedCheck, options: RedactOptions | undefined): EvaluatedCheck {
  if (isSecretField(check.field, options)) {
    return {
      ...check,
      ...(check.actual === undefined || check.actual === null ? {} : { actual: REDACTED }),
      ...(check.expected === undefined || check.expected === null || typeof check.expected === 'boolean'
        ? {}
        : { expected: REDACTED }),
    };
  }
  return {
    ...check,
    actual: redact(check.actual, options, typeof check.field === 'string' ? check.field : undefined),
  };
}
