import { ErrorCodes, GovernanceDeniedError, ToolgateError } from '../errors';
import type { Decision } from '../types';

/**
 * Puts the reviewed arguments on a Decision as `decision.args`: a getter that parses, on every
 * read, the exact canonical JSON the digest was computed over. Nothing the caller does to its own
 * arguments object afterwards (a `toJSON`, a getter that answers differently the second time, a
 * mutation) can reach the value a tool body gets from it, and a body that mutates its copy does
 * not change the next read.
 *
 * The property is non-enumerable: spreads, `JSON.stringify`, `structuredClone` and the audit
 * record leave it out (the audit keeps its own, redacted copy of the arguments), so secrets in
 * arguments never leave through a serialised Decision.
 */
export function attachReviewedArgs<D extends Decision>(decision: D, canonicalArgs: string): D {
  // A hidden, read-only slot and one shared getter: a closure per Decision costs ~3x more.
  Object.defineProperty(decision, REVIEWED, { value: canonicalArgs });
  return Object.defineProperty(decision, 'args', ARGS_GETTER);
}

const REVIEWED = Symbol('toolgate.reviewedArgs');
const ARGS_GETTER: PropertyDescriptor = {
  get(this: { [REVIEWED]: string }): unknown {
    return JSON.parse(this[REVIEWED]) as unknown;
  },
  enumerable: false,
  configurable: false,
};

/**
 * The arguments a governed tool body must run with: `decision.args` (the reviewed copy) whenever
 * the gate looked at the arguments; the framework's own arguments only for a plain passthrough
 * (`source: 'not_high_stakes'` with no `args`: the tool name matched no rule, nothing was judged).
 * Throws `GovernanceDeniedError` for a Decision that does not allow the call, and a ToolgateError
 * (`ARGS_NOT_REVIEWED`) for an allowing high-stakes Decision that carries no reviewed arguments
 * (e.g. a copy made with a spread or read back from JSON): run only what was reviewed.
 */
export function reviewedArgs(decision: Decision, frameworkArgs: unknown): unknown {
  if (decision.verdict !== 'allow' && decision.verdict !== 'allow_with_conditions') throw new GovernanceDeniedError(decision);
  if (Object.hasOwn(decision, 'args')) return decision.args;
  if (decision.source === 'not_high_stakes') return frameworkArgs;
  throw new ToolgateError(
    ErrorCodes.ARGS_NOT_REVIEWED,
    `the Decision for "${decision.tool}" carries no reviewed arguments (decision.args); pass the Decision object the gate returned, not a copy`,
  );
}
