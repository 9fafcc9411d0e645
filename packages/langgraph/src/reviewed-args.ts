import { callDigest, canonicalJson, claimExecution as claimOnGate, ErrorCodes, parseArgs, type Decision, type Gate } from '@toolgate/core';

/**
 * Arguments that throw on any read. `gate.isHighStakes(name, PROBE)` is true for a tool that is
 * high-stakes by name and for one a `{ tool, when(args) }` predicate names (a predicate that reads
 * them throws, and the gate counts a throwing predicate as high-stakes); a tool nothing names never
 * has its arguments read, so it keeps the plain ToolNode path.
 */
const PROBE: unknown = new Proxy(
  {},
  Object.fromEntries(
    (['get', 'has', 'ownKeys', 'getOwnPropertyDescriptor', 'getPrototypeOf'] as const).map((trap) => [
      trap,
      () => {
        throw new TypeError('toolgate: probing for { tool, when } predicates');
      },
    ]),
  ),
);

/** True when the gate may want to look at this tool's calls (by name, or through a predicate). */
export function mayBeHighStakes(gate: Gate, name: string): boolean {
  try {
    return gate.isHighStakes(name, PROBE);
  } catch {
    return true;
  }
}

/**
 * One frozen copy of a call's arguments, parsed from their canonical JSON: what the gate reviews,
 * what the digest is checked against and what the tool body gets, so a getter, a `toJSON` or a
 * later mutation of the message's args object cannot show the reviewer one value and run another.
 * Undefined when the arguments are not JSON.
 */
export function snapshotArgs(args: unknown): { args: unknown } | undefined {
  try {
    return { args: JSON.parse(canonicalJson(parseArgs(args) ?? {})) as unknown };
  } catch {
    return undefined;
  }
}

/** True when `decision` was taken for exactly this tool and these (snapshot) arguments. */
export function decidedFor(decision: Decision, tool: string, args: unknown): boolean {
  if (decision.tool !== tool || decision.digest === '') return false;
  try {
    return callDigest(tool, args) === decision.digest;
  } catch {
    return false;
  }
}

const LIMIT = 10_000;
const claims = new WeakMap<Gate, Map<string, true>>();

/**
 * Claims the one execution an allowing Decision authorises: first in this process (a replay from
 * an earlier checkpoint — time travel, a fork, a second resume — or a tool call id the model
 * repeats must not run the body again; bounded to the latest 10 000 claims per gate), then on the
 * gate, which also claims it in its ledger when it has one, so a resume in another process with a
 * fresh gate meets ALREADY_EXECUTED too. Resolves the deny to return instead of running, or
 * undefined when the body may run.
 */
export async function claimExecution(gate: Gate, decision: Decision): Promise<Decision | undefined> {
  let map = claims.get(gate);
  if (!map) {
    map = new Map();
    claims.set(gate, map);
  }
  const key = `${decision.idempotencyKey ?? `${decision.runId ?? ''}\u0000${decision.callId ?? ''}`}\u0000${decision.digest}`;
  if (map.has(key)) return refused(decision, ErrorCodes.ALREADY_EXECUTED, ALREADY_RAN);
  map.set(key, true);
  if (map.size > LIMIT) map.delete(map.keys().next().value as string);
  return claimOnGate(gate, decision);
}

/** A fail-closed deny standing in for `decision`, with a stable code. */
export function refused(decision: Pick<Decision, 'tool'> & Partial<Decision>, code: string, reason: string): Decision {
  const d: Decision = {
    conditions: [],
    evaluated: [],
    digest: '',
    latencyMs: 0,
    ...decision,
    verdict: 'deny',
    source: 'fail_closed',
    reason,
    error: { code, message: reason },
  };
  delete d.proof;
  return d;
}

export const ALREADY_RAN = 'this call already ran; a review authorises one execution';
export { ErrorCodes };

/**
 * The denial of a call whose `tool_call_id` another call of the model turn uses: a Decision, a
 * human's answer and a ToolMessage are keyed by id, so approving one could authorise the other.
 */
export function duplicateIdDenial(call: { id: string; name: string; args?: unknown }, runId?: string): Decision {
  let digest = '';
  try {
    digest = callDigest(call.name, call.args ?? {});
  } catch {
    // not JSON: no digest, and the denial names the call by id
  }
  const reason = `the model turn has more than one tool call with id ${JSON.stringify(call.id)}; a review, an answer and a result are bound to one id, so none of them runs`;
  return refused({ tool: call.name, digest, callId: call.id, ...(runId !== undefined ? { runId } : {}) }, ErrorCodes.INPUT_INVALID, reason);
}
