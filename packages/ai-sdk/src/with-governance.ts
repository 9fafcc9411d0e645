import type { Decision, Gate } from '@toolgate/core';
import { claimExecution, editNotice, GovernanceDeniedError, OptionsError, denialText, isAllowed, runGoverned } from '@toolgate/core';
import type { ToolSet } from 'ai';
import { endsWithApprovalResponse, findApproval, verifyApprovalSignature } from './approvals';
import { answerReview, editNotPending } from './answer-review';
import { readApprovalEdit } from './edit-approval';
import { defaultModelOutput, governanceDenial, isGovernanceDenial } from './denial';
import { editedOutput, isEditedOutput, withNotice } from './edited-output';
import { ToolNameMismatchError, ToolNotGateableError } from './errors';
import { decideOnce, linkTools, recordDecision } from './gate-state';
import {
  isAsyncGeneratorFunction,
  isAsyncIterable,
  ownNeedsApproval,
  type ExecuteOptions,
  type InputAvailableOptions,
  type LooseTool,
  type NeedsApprovalOptions,
} from './loose-tool';
import { resolveOptions, type GovernanceOptions, type ResolvedOptions, type ToolCallInfo } from './options';
import { hasReviewedInput, notReviewedDecision, reviewedInput } from './reviewed-input';
import { warnSecretProblem } from './secret-warning';

/** The `approver` option's answer; a throwing or empty one is no name (the gate records `human`). */
function safeApprover(o: ResolvedOptions, info: ToolCallInfo): string | undefined {
  try {
    const a = o.approver(info);
    return typeof a === 'string' && a.length > 0 ? a : undefined;
  } catch {
    return undefined;
  }
}

const isPromiseLike = (x: unknown): x is PromiseLike<unknown> => typeof (x as { then?: unknown } | null)?.then === 'function';

/**
 * Puts a gate in front of the high-stakes tools of an AI SDK tool set (ai 6 and 7).
 *
 * Each high-stakes tool is copied (all own properties, non-enumerable and symbol ones included)
 * and its `execute` wrapped: the body runs only after a Decision that allows it, and its outcome
 * (success / error, duration) is reported to the gate. A denied call returns the SDK's own
 * `execution-denied` output to the model (or throws / aborts, see `onDeny`). A `review` verdict
 * becomes the SDK's approval flow through `needsApproval` (ai 6; honoured by ai 7 unless you pass
 * `toolApproval` — then pass `toolApproval(gate, options)`). Tools that are not high-stakes are
 * returned as the same objects. Enforcement sits in `execute`, so no caller-side `toolApproval`
 * can skip it.
 *
 * @example
 * const gate = createGate({ reviewer, highStakes: ['transfer'] });
 * const tools = withGovernance({ transfer, lookup }, gate, { approvalSecret: SECRET });
 * const result = await generateText({ model, tools, stopWhen: stepCountIs(5), prompt,
 *   experimental_toolApprovalSecret: SECRET });
 * decisionsOf(tools).get(result.toolCalls[0].toolCallId); // the Decision, with its proof
 */
export function withGovernance<TOOLS extends ToolSet>(tools: TOOLS, gate: Gate, options?: GovernanceOptions): TOOLS {
  if (typeof tools !== 'object' || tools === null) {
    throw new OptionsError('withGovernance(tools, gate): tools must be an AI SDK tool set, e.g. { transfer: tool({...}) }');
  }
  if (!gate || typeof gate.review !== 'function' || typeof gate.isHighStakes !== 'function') {
    throw new OptionsError('withGovernance(tools, gate): gate must come from createGate() in @toolgate/core');
  }
  const o = resolveOptions(options, 'withGovernance');
  const governed: Record<string, unknown> = {};
  for (const [name, tool] of Object.entries(tools) as Array<[string, LooseTool]>) {
    const matches = gate.isHighStakes(name) || judgedByPredicate(gate, name);
    if (!matches) {
      const alias = providerAliases(tool).find((a) => gate.isHighStakes(a) || judgedByPredicate(gate, a));
      if (alias !== undefined) throw new ToolNameMismatchError(name, alias);
    }
    const executable = typeof tool?.execute === 'function';
    if (matches && !executable) throw new ToolNotGateableError(name);
    governed[name] = (matches || o.govern === 'all') && executable ? governTool(name, tool, gate, o) : tool;
  }
  linkTools(governed, gate);
  return governed as TOOLS;
}

/**
 * Arguments that throw on any read. `isHighStakes(name)` alone says false for a tool that only a
 * `{ tool, when(args) }` predicate names (`when` sees no amount, so no `amount > 100`); such a
 * tool must still be wrapped, or a call the predicate would flag runs unreviewed. A predicate that
 * reads these arguments throws, and the gate counts a throwing predicate as high-stakes; a tool no
 * predicate names never has its arguments read.
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

function judgedByPredicate(gate: Gate, name: string): boolean {
  try {
    return gate.isHighStakes(name, PROBE);
  } catch {
    return true;
  }
}

/**
 * Other names a provider tool goes by: its id (`anthropic.bash_20250124`), the id without the
 * provider (`bash_20250124`) and without a date version (`bash`) — the names a user may have put
 * in highStakes, while the SDK reports calls under the tool set key.
 */
function providerAliases(tool: LooseTool): string[] {
  const id = (tool as { type?: unknown; id?: unknown } | undefined)?.id;
  if ((tool as { type?: unknown } | undefined)?.type !== 'provider' || typeof id !== 'string') return [];
  const short = id.slice(id.indexOf('.') + 1);
  return [...new Set([id, short, short.replace(/_\d{8}$/, '')])].filter((a) => a.length > 0);
}

interface Authorization {
  decision: Decision;
  /** What the model reads when the call may not run. */
  reason: string;
}

function governTool(name: string, original: LooseTool, gate: Gate, o: ResolvedOptions): LooseTool {
  // Copy every own property, including non-enumerable ones (experimental_toolCaller) and symbols.
  const wrapped = Object.create(Object.getPrototypeOf(original), Object.getOwnPropertyDescriptors(original)) as LooseTool;
  const execute = original.execute as NonNullable<LooseTool['execute']>;
  const toModelOutput = original.toModelOutput;
  const onInputAvailable = original.onInputAvailable;

  async function authorize(input: unknown, options: ExecuteOptions): Promise<Authorization> {
    const { toolCallId, messages } = options;
    let decision = await decideOnce(gate, o, { toolName: name, toolCallId, input, messages }, options.abortSignal);
    let note = '';
    if (decision.verdict === 'review') {
      const approval = findApproval(messages, toolCallId);
      if (approval?.approved) {
        const trusted =
          o.approvalSecret !== undefined &&
          approval.signature !== undefined &&
          (await verifyApprovalSignature({
            secret: o.approvalSecret,
            signature: approval.signature,
            approvalId: approval.approvalId,
            toolCallId,
            toolName: name,
            input,
          }).catch(() => false));
        if (trusted) {
          try {
            const approver = safeApprover(o, { toolName: name, toolCallId, input, messages });
            decision = await answerReview(gate, decision, approval, original.inputSchema, approver);
          } catch (error) {
            note = ` — recording the human approval failed (${error instanceof Error ? error.message : String(error)})`;
          }
        } else if (o.approvalSecret === undefined) {
          warnSecretProblem(gate, 'no-secret');
          note = ' — an approval was found in the messages but withGovernance has no approvalSecret to verify it, so it is not trusted';
        } else {
          if (approval.signature === undefined) warnSecretProblem(gate, 'unsigned-request');
          note = ' — the approval in the messages has a missing or invalid signature, so it is not trusted';
        }
      }
    } else if (isAllowed(decision) && decision.source !== 'not_high_stakes' && endsWithApprovalResponse(messages)) {
      // The gate now allows the call as the model asked it, but the human approved something else:
      // running the original would go against the human, running the edit would skip its review.
      const approval = findApproval(messages, toolCallId);
      if (approval?.approved && readApprovalEdit(approval.reason).kind !== 'none') decision = editNotPending(decision);
    }
    // The review may have started in needsApproval/toolApproval, which get no abort signal; a run
    // aborted meanwhile must not run the body, whatever the (possibly fail-open) Decision says.
    if (options.abortSignal?.aborted && isAllowed(decision)) throw options.abortSignal.reason ?? new Error('aborted');
    // The body gets exactly what was reviewed (for a human edit: exactly the edited input): a
    // getter, a toJSON or a mutation of the SDK's input object after the review cannot reach it.
    // (Checked here, read where the body starts: `decision.args` parses the reviewed JSON on each read.)
    if (isAllowed(decision) && !hasReviewedInput(decision)) decision = notReviewedDecision(decision);
    recordDecision(gate, o, name, toolCallId, decision, 'execute');
    return { decision, reason: isAllowed(decision) ? '' : denialText(decision) + note };
  }

  function refuse(a: Authorization) {
    if (o.onDeny === 'return') return governanceDenial(a.decision, a.reason);
    // 'throw', and 'abort' where onInputAvailable did not run (approval continuations).
    throw new GovernanceDeniedError(a.decision);
  }

  if (isAsyncGeneratorFunction(execute)) {
    // Streaming tool: stay an async generator so preliminary results keep flowing.
    wrapped.execute = async function* (this: unknown, input: unknown, options: ExecuteOptions) {
      const a = await authorize(input, options);
      if (!isAllowed(a.decision)) {
        yield refuse(a);
        return;
      }
      const bodyInput = reviewedInput(a.decision, input)?.input;
      if (a.decision.source === 'not_high_stakes') {
        yield* execute.call(this, bodyInput, options) as AsyncIterable<unknown>;
        return;
      }
      // The one execution the Decision authorises, claimed on the gate (and its ledger, in every
      // process) before the body starts — what runGoverned does for plain tools.
      const claimRefused = await claimExecution(gate, a.decision);
      if (claimRefused) {
        yield refuse({ decision: claimRefused, reason: denialText(claimRefused) });
        return;
      }
      const body = execute.call(this, bodyInput, options) as AsyncIterable<unknown>;
      const started = performance.now();
      let outcome: 'success' | 'error' | 'failure' = 'failure';
      let message = 'the tool stream was closed before it finished';
      let last: unknown;
      try {
        for await (const part of body) {
          last = part;
          yield part;
        }
        outcome = 'success';
      } catch (error) {
        outcome = 'error';
        message = error instanceof Error ? error.message : String(error);
        throw error;
      } finally {
        const durationMs = performance.now() - started;
        void gate.reportOutcome(a.decision, outcome === 'success' ? { status: outcome, durationMs } : { status: outcome, message, durationMs });
      }
      // The last value is the tool's output; with a human's edit, it goes out once more with the notice.
      const notice = editNotice(a.decision);
      if (notice && a.decision.edited) yield editedOutput(last, notice, a.decision.edited);
    } as LooseTool['execute'];
  } else {
    wrapped.execute = async function (this: unknown, input: unknown, options: ExecuteOptions) {
      const a = await authorize(input, options);
      if (!isAllowed(a.decision)) return refuse(a);
      // runGoverned hands the body the reviewed input (decision.args, or the input for a passthrough), parsed once.
      const output = await runGoverned(
        gate,
        a.decision,
        async (reviewed) => {
          const result = await execute.call(this, reviewed, options);
          if (!isAsyncIterable(result)) return result;
          // A plain function returning an iterable: the wrapper is async, so return the final value.
          let last: unknown;
          for await (const part of result) last = part;
          return last;
        },
        input,
      );
      // Ran with a human's edited input: the model must be told, or it asks for the original again.
      const notice = a.decision.edited ? editNotice(a.decision) : undefined;
      return notice && a.decision.edited ? editedOutput(output, notice, a.decision.edited) : output;
    };
  }

  wrapped.needsApproval = async function (this: unknown, input: unknown, options: NeedsApprovalOptions) {
    // Approval continuation: keep answering true, or ai@6 turns the human's yes into a denial.
    // Whether the approval counts is decided in execute (signature + gate).
    if (findApproval(options?.messages, options?.toolCallId)) return true;
    const decision = await decideOnce(gate, o, { toolName: name, toolCallId: options.toolCallId, input, messages: options.messages });
    if (decision.verdict === 'review') {
      recordDecision(gate, o, name, options.toolCallId, decision, 'approval');
      if (o.approvalSecret === undefined) warnSecretProblem(gate, 'no-secret');
      return true;
    }
    // deny cannot be said here; execute enforces it. allow: the tool's own rule still applies.
    if (!isAllowed(decision)) return false;
    return ownNeedsApproval(original, input, options);
  };

  if (o.onDeny === 'abort') {
    wrapped.onInputAvailable = async function (this: unknown, options: InputAvailableOptions) {
      await onInputAvailable?.call(this, options);
      const info = { toolName: name, toolCallId: options.toolCallId, input: options.input, messages: options.messages };
      const decision = await decideOnce(gate, o, info, options.abortSignal);
      if (decision.verdict === 'deny') {
        recordDecision(gate, o, name, options.toolCallId, decision, 'input');
        // Thrown from onInputAvailable, it rejects generateText / errors streamText.
        throw new GovernanceDeniedError(decision);
      }
    };
  }

  wrapped.toModelOutput = function (this: unknown, arg: { toolCallId: string; input: unknown; output: unknown }) {
    if (isGovernanceDenial(arg.output)) return { type: 'execution-denied', reason: arg.output.reason };
    if (isEditedOutput(arg.output)) {
      const { notice, output } = arg.output;
      const inner: unknown = toModelOutput ? toModelOutput.call(this, { ...arg, output }) : defaultModelOutput(output);
      return isPromiseLike(inner) ? Promise.resolve(inner).then((r) => withNotice(r, notice)) : withNotice(inner, notice);
    }
    if (toModelOutput) return toModelOutput.call(this, arg);
    return defaultModelOutput(arg.output);
  };

  return wrapped;
}
