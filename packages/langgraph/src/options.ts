import { OptionsError, type Gate } from '@toolgate/core';

/** Throws a clear OptionsError unless `gate` looks like a toolgate Gate. */
export function assertGate(gate: unknown, where: string): asserts gate is Gate {
  const g = gate as Partial<Gate> | null | undefined;
  if (!g || typeof g.review !== 'function' || typeof g.isHighStakes !== 'function' || typeof g.reportOutcome !== 'function') {
    throw new OptionsError(`${where}: the first argument must be a gate from createGate({ reviewer, highStakes })`);
  }
}

/** Throws a clear OptionsError when `value` is set and not one of `allowed`. */
export function assertOneOf(value: unknown, allowed: ReadonlyArray<string>, name: string, where: string): void {
  if (value !== undefined && !allowed.includes(value as string)) {
    throw new OptionsError(`${where}: ${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}; got ${JSON.stringify(value)}`);
  }
}

/** The state lacks toolgate's channel: say how to add it. */
export function missingChannelError(where: string): OptionsError {
  return new OptionsError(
    `${where}: the graph state has no "toolgateDecisions" channel. Add it with ` +
      '`Annotation.Root({ ...MessagesAnnotation.spec, ...GovernanceAnnotation.spec })` or ' +
      '`new StateSchema({ messages: MessagesValue, ...GovernanceState.fields })`.',
  );
}
