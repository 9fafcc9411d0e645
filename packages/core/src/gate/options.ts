import { z } from 'zod';
import { OptionsError } from '../errors';
import type { RedactOptions } from '../audit/redact';
import type { AgentInfo, AuditSink, FailMode, HighStakesSpec, OnReview, Reviewer } from '../types';
import type { GateOptions, JsonWebKeyLike } from './gate-types';
import type { GateLedger } from '../ledger/ledger-types';
import { DEFAULT_MAX_ARGS_BYTES } from '../digest/parse-args';

export interface ResolvedGateOptions {
  reviewer: Reviewer;
  highStakes: HighStakesSpec;
  failMode: { default: FailMode; tools: Record<string, FailMode> };
  timeoutMs: number;
  onReview: OnReview;
  reviewTimeoutMs: number;
  circuitBreaker: { failureThreshold: number; cooldownMs: number } | false;
  trustedKeys: ReadonlyArray<JsonWebKeyLike>;
  jwksUrl?: string;
  requireProof: boolean;
  audit: ReadonlyArray<AuditSink>;
  redact?: RedactOptions;
  agent?: string | AgentInfo;
  maxArgsBytes: number;
  telemetry: boolean;
  now: () => number;
  ledger?: GateLedger;
}

const failModeSchema = z.enum(['closed', 'open']);
const schema = z.object({
  reviewer: z.custom<Reviewer>(
    (r) => typeof r === 'object' && r !== null && typeof (r as Reviewer).review === 'function',
    'must be a Reviewer: an object with review(request, options) (e.g. policyReviewer(...), httpReviewer(...), callbackReviewer(fn))',
  ),
  highStakes: z.custom<HighStakesSpec>(
    (h) => Array.isArray(h) || (typeof h === 'object' && h !== null && (h as { all?: unknown }).all === true),
    'must list the high-stakes tools (names, globs, RegExps, { tool, when }) or be { all: true, except: [...] }',
  ),
  failMode: z
    .union([failModeSchema, z.object({ default: failModeSchema, tools: z.record(z.string(), failModeSchema).optional() })])
    .optional(),
  timeoutMs: z.number().int().positive().max(600_000).optional(),
  onReview: z.enum(['pause', 'wait', 'deny']).optional(),
  reviewTimeoutMs: z.number().int().positive().optional(),
  circuitBreaker: z
    .union([z.literal(false), z.object({ failureThreshold: z.number().int().min(1).optional(), cooldownMs: z.number().int().min(0).optional() })])
    .optional(),
  trustedKeys: z.array(z.looseObject({ kty: z.string() })).optional(),
  jwksUrl: z.url().optional(),
  requireProof: z.boolean().optional(),
  audit: z.unknown().optional(),
  redact: z.object({ keys: z.array(z.union([z.string(), z.instanceof(RegExp)])).optional(), paths: z.array(z.string()).optional() }).optional(),
  agent: z.union([z.string().min(1), z.looseObject({ id: z.string().min(1) })]).optional(),
  maxArgsBytes: z.number().int().positive().optional(),
  telemetry: z.boolean().optional(),
  now: z.custom<() => number>((f) => typeof f === 'function', 'must be a function returning epoch ms').optional(),
  ledger: z
    .custom<GateLedger>(
      (l) => typeof l === 'object' && l !== null && ['get', 'record', 'claim'].every((m) => typeof (l as unknown as Record<string, unknown>)[m] === 'function'),
      'must be a ledger: sqliteLedger(path) from @toolgate/core/ledger-sqlite or postgresLedger(url) from @toolgate/core/ledger-postgres',
    )
    .optional(),
});

/** Validates createGate's options once and fills in defaults. Throws OptionsError naming each problem. */
export function validateGateOptions(options: GateOptions): ResolvedGateOptions {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`);
    throw new OptionsError(`createGate: invalid options — ${problems.join('; ')}`);
  }
  const audit = options.audit === undefined ? [] : Array.isArray(options.audit) ? options.audit : [options.audit];
  audit.forEach((sink, i) => {
    if (typeof (sink as AuditSink)?.append !== 'function') {
      throw new OptionsError(`createGate: audit[${i}] is not an audit sink (use jsonlAudit(path), memoryAudit() or callbackAudit(fn))`);
    }
  });
  const trustedKeys = options.trustedKeys ?? [];
  if (options.requireProof && trustedKeys.length === 0 && !options.jwksUrl) {
    throw new OptionsError('createGate: requireProof needs trustedKeys or jwksUrl, so proofs can be verified');
  }
  const fm = options.failMode ?? 'closed';
  const timeoutMs = options.timeoutMs ?? 5_000;
  const cb = options.circuitBreaker;
  const resolved: ResolvedGateOptions = {
    reviewer: options.reviewer,
    highStakes: options.highStakes,
    failMode: typeof fm === 'string' ? { default: fm, tools: {} } : { default: fm.default, tools: fm.tools ?? {} },
    timeoutMs,
    onReview: options.onReview ?? 'pause',
    reviewTimeoutMs: options.reviewTimeoutMs ?? 300_000,
    circuitBreaker: cb === false ? false : { failureThreshold: cb?.failureThreshold ?? 5, cooldownMs: cb?.cooldownMs ?? 30_000 },
    trustedKeys,
    // Keys configured means proofs are checked, so an allow without one is a relay's forgery.
    requireProof: options.requireProof ?? (trustedKeys.length > 0 || options.jwksUrl !== undefined),
    audit,
    maxArgsBytes: options.maxArgsBytes ?? DEFAULT_MAX_ARGS_BYTES,
    telemetry: options.telemetry ?? true,
    now: options.now ?? Date.now,
  };
  if (options.jwksUrl) resolved.jwksUrl = options.jwksUrl;
  if (options.redact) resolved.redact = options.redact;
  if (options.agent) resolved.agent = options.agent;
  if (options.ledger) resolved.ledger = options.ledger;
  return resolved;
}
