import type { AuditEntry, EvaluatedCheck } from '../types';
import { compileRedaction, redact, redactText, REDACTED, type CompiledRedaction, type RedactOptions } from './redact';

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
  const c = compileRedaction(options);
  const out: AuditEntry = { ...entry, call: redactCall(entry.call, options) };
  if (entry.decision) out.decision = redactDecision(entry.decision, options, c);
  if (entry.outcome) out.outcome = redactOutcome(entry.outcome);
  if (entry.meta !== undefined) out.meta = redact(entry.meta, options, 'meta') as Record<string, unknown>;
  return out;
}

/** @internal A redacted copy of an entry's `call` (its `args` redacted deeply, at `args`). */
export function redactCall(call: AuditEntry['call'], options: RedactOptions | undefined): AuditEntry['call'] {
  const out = { ...call };
  if (call.args !== undefined) out.args = redact(call.args, options, 'args');
  return out;
}

/** @internal A redacted copy of an entry's `decision` (checks, reason, conditions, error message). */
export function redactDecision(decision: NonNullable<AuditEntry['decision']>, options: RedactOptions | undefined, c: CompiledRedaction = compileRedaction(options)): NonNullable<AuditEntry['decision']> {
  const d = { ...decision };
  const evaluated: unknown = d.evaluated;
  if (Array.isArray(evaluated)) {
    const checks = new Array<EvaluatedCheck>(evaluated.length);
    for (let i = 0; i < checks.length; i++) {
      const check: unknown = evaluated[i];
      checks[i] = typeof check === 'object' && check !== null ? redactCheck(check as EvaluatedCheck, options, c) : (redact(check, options) as EvaluatedCheck);
    }
    d.evaluated = checks;
  }
  if (typeof d.reason === 'string') d.reason = redactText(d.reason);
  if (Array.isArray(d.conditions) && d.conditions.length > 0) d.conditions = d.conditions.map((x) => (typeof x === 'string' ? redactText(x) : x));
  if (d.error) d.error = { ...d.error, message: redactText(String(d.error.message)) };
  return d;
}

/** @internal A redacted copy of an entry's `outcome` (credentials in its message). */
export function redactOutcome(outcome: NonNullable<AuditEntry['outcome']>): NonNullable<AuditEntry['outcome']> {
  const out = { ...outcome };
  if (typeof outcome.message === 'string') out.message = redactText(outcome.message);
  return out;
}

function redactCheck(check: EvaluatedCheck, options: RedactOptions | undefined, c: CompiledRedaction): EvaluatedCheck {
  const field: unknown = check.field;
  if (typeof field === 'string' && field !== '' && c.isSecretField(field)) {
    return {
      ...check,
      ...(check.actual === undefined || check.actual === null ? {} : { actual: REDACTED }),
      ...(check.expected === undefined || check.expected === null || typeof check.expected === 'boolean'
        ? {}
        : { expected: REDACTED }),
    };
  }
  const a: unknown = check.actual;
  // Numbers, booleans and null are copied as `redact` would (a non-finite number becomes null).
  const actual = a === null || typeof a === 'boolean' ? a : typeof a === 'number' ? (Number.isFinite(a) ? a : null) : redact(a, options, typeof field === 'string' ? field : undefined);
  return { ...check, actual };
}
