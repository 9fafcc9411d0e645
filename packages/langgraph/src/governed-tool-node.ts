import { ToolMessage, type BaseMessage } from '@langchain/core/messages';
import type { ToolCall as LcToolCall } from '@langchain/core/messages/tool';
import { Command, type LangGraphRunnableConfig } from '@langchain/langgraph';
import { ToolNode, type ToolNodeOptions } from '@langchain/langgraph/prebuilt';
import { callDigest, ErrorCodes, isAllowed, OptionsError, type Decision, type Gate } from '@toolgate/core';
import type { DecisionMap } from './governance-state';
import { governanceNode, type GovernanceNodeInput, type GovernanceNodeOptions, type GovernanceNodeUpdate } from './governance-node';
import { assertGate, assertOneOf } from './options';
import { claimExecution, decidedFor, mayBeHighStakes, snapshotArgs } from './reviewed-args';
import { decisionOfGate, UNVOUCHED } from './state-decisions';
import { decisionsOf, denialMessage, toGateCall, unansweredCalls, withEditNotice, type CallBuildOptions } from './tool-calls';

/** Options of `governedToolNode`. */
export interface GovernedToolNodeOptions extends ToolNodeOptions, CallBuildOptions {
  /**
   * A high-stakes call reaches the tool node with no Decision in state (the graph was wired
   * without `governanceNode`): `'review'` (default) reviews it here, and only an allowing
   * Decision lets it run (a `review` verdict cannot pause here, so it does not run); `'deny'`
   * refuses it outright.
   */
  onMissingDecision?: 'review' | 'deny';
  /**
   * Review the model turn here, before running any of it (what `addGovernance` wires): every
   * unanswered high-stakes call without a Decision is reviewed once, in parallel, as
   * `governanceNode` does, and its Decision is written to state. When no call of the turn needs a
   * human, the allowed calls run in this same node — no extra graph step; denied calls get an
   * error ToolMessage and never run. When any call needs a human, NONE of the turn's calls run:
   * the node only writes the Decisions, and `routeAfterTools()` sends the turn to
   * `humanGateNode` (one interrupt), which sends it back here. Default `false` (each call is
   * reviewed on its own and a `review` verdict cannot pause, so that call does not run).
   *
   * `{ humanGate, agent }` (node names) also lets the node route itself: it returns a `Command`
   * that goes to `humanGate` when a call waits for a human and to `agent` otherwise. Declare the
   * node with `{ ends: [humanGate, agent] }` and add no edge out of it; a `Command` costs less
   * than a conditional edge (what `addGovernance` wires).
   */
  reviewTurn?: boolean | TurnRoutes;
  /** With `reviewTurn`: what a deny does, as `governanceNode`'s `onDeny`. Default `'message'`. */
  onDeny?: GovernanceNodeOptions['onDeny'];
}

type Tools = ConstructorParameters<typeof ToolNode>[0];

/** Where a `reviewTurn` tool node that routes itself sends the turn. */
export interface TurnRoutes {
  /** The human gate node, for a turn with a call waiting for a human. */
  humanGate: string;
  /** The model node, for every other turn (as a plain `tools → agent` edge). */
  agent: string;
}

/**
 * A `ToolNode` that will not run a high-stakes call without an allowing Decision for exactly
 * that call (same tool, same args digest) — defence in depth, whatever the graph wiring — and
 * reports each governed call's outcome (success / error, duration) with `gate.reportOutcome`.
 *
 * The body runs with a copy of the arguments parsed from the canonical JSON whose digest was
 * checked, never with the message's own args object (which another node, `graph.updateState`, a
 * getter or a `toJSON` may have changed since the review). An allowing Decision runs once per
 * process: replaying the thread from a checkpoint before the tools (time travel, a fork) gets an
 * `ALREADY_EXECUTED` error ToolMessage instead of a second run.
 *
 * This is where toolgate reports outcomes in a StateGraph: wrap nothing else, so each call is
 * reported once. Non-high-stakes calls run exactly as in `ToolNode`.
 */
export class GovernedToolNode extends ToolNode {
  readonly gate: Gate;
  readonly governOptions: GovernedToolNodeOptions;
  /** With `reviewTurn`: the turn's review, run at the top of the node. */
  private turnReview: ((state: GovernanceNodeInput, config?: LangGraphRunnableConfig) => Promise<GovernanceNodeUpdate>) | undefined;
  /** With `reviewTurn: { humanGate, agent }`: the node routes itself. */
  private turnRoutes: TurnRoutes | undefined;
  /** With `reviewTurn`: the options the turn is reviewed with (its `runId` is the one a Decision in state must carry). */
  private turnOptions: GovernanceNodeOptions | undefined;
  /** With `reviewTurn`: this turn's Decisions from the gate, by the state object `run` hands ToolNode (never read from state). */
  private readonly turnDecisions = new WeakMap<object, DecisionMap>();

  constructor(tools: Tools, gate: Gate, options: GovernedToolNodeOptions = {}) {
    assertGate(gate, 'governedToolNode');
    assertOneOf(options.onMissingDecision, ['review', 'deny'], 'onMissingDecision', 'governedToolNode');
    assertOneOf(options.onDeny, ['message', 'throw'], 'onDeny', 'governedToolNode');
    const { name, tags, handleToolErrors } = options;
    super(tools, { name: name ?? 'tools', ...(tags ? { tags } : {}), ...(handleToolErrors !== undefined ? { handleToolErrors } : {}) });
    this.gate = gate;
    this.governOptions = options;
    if (options.reviewTurn) this.reviewTurnsWith(gate, governanceOptionsOf(options), options.reviewTurn === true ? undefined : options.reviewTurn);
  }

  /**
   * Turns on `reviewTurn` for this node with the given gate and review options (what
   * `addGovernance` does with a `toolNode` you built). Returns the node.
   * @internal
   */
  reviewTurnsWith(gate: Gate, options: GovernanceNodeOptions = {}, routes?: TurnRoutes): this {
    if (routes !== undefined && (typeof routes !== 'object' || routes === null || typeof routes.humanGate !== 'string' || typeof routes.agent !== 'string')) {
      throw new OptionsError('governedToolNode: reviewTurn must be true or { humanGate, agent } (node names)');
    }
    if (gate !== this.gate) throw new OptionsError('governedToolNode: the turn must be reviewed with the gate the node enforces and claims with');
    if (this.turnRoutes && (routes?.humanGate !== this.turnRoutes.humanGate || routes.agent !== this.turnRoutes.agent)) {
      // One node routes to one graph's nodes: in another graph its Command would name nodes that are not
      // there (LangGraph drops such a goto, and the run would end with the turn neither run nor asked).
      throw new OptionsError('governedToolNode: this node already routes to other node names (it is wired in another graph); build one GovernedToolNode per graph');
    }
    this.turnReview = governanceNode(gate, options);
    this.turnOptions = options;
    this.turnRoutes = routes;
    return this;
  }

  /** True when this node reviews each model turn itself (`reviewTurn`). */
  get reviewsTurns(): boolean {
    return this.turnReview !== undefined;
  }

  protected override async run(input: unknown, config: LangGraphRunnableConfig): Promise<unknown> {
    const review = this.turnReview;
    if (!review || !isMessagesState(input)) return super.run(input, config);
    // The review (a pure function of state with the gate's idempotent cache behind it) comes
    // first; nothing of the turn runs before every Decision of it is known.
    const update = await review(input, config);
    const routes = this.turnRoutes;
    const decisions = update.toolgateDecisions ? { ...decisionsOf(input), ...update.toolgateDecisions } : decisionsOf(input);
    const messages = update.messages?.length ? [...input.messages, ...update.messages] : input.messages;
    // A call waiting for a human holds back the whole turn: the Decisions are written (checkpointed
    // when this step ends) and the turn goes to the human gate (routeAfterTools, or our Command).
    if (unansweredCalls(messages).some((call) => decisions[call.id]?.verdict === 'review')) {
      return routes ? new Command({ update: { ...update }, goto: routes.humanGate }) : update;
    }
    let ranWith: unknown = input;
    if (update.toolgateDecisions) {
      const state = { ...input, messages, toolgateDecisions: decisions };
      // The Decisions the gate just returned for this turn, handed to runTool beside the state
      // (ToolNode passes runTool the very object given to run): they need no vouching — they did
      // not come from state — and each runs with its own reviewed arguments.
      this.turnDecisions.set(state, update.toolgateDecisions);
      ranWith = state;
    }
    const ran = (await super.run(ranWith, config)) as unknown;
    if (Array.isArray(ran)) {
      // The tools returned Commands: keep them as ToolNode does, with our update first.
      const all: unknown[] = update.toolgateDecisions ? [update, ...(ran as unknown[])] : [...(ran as unknown[])];
      if (routes) all.push(new Command({ goto: routes.agent }));
      return all;
    }
    const out = ran as { messages?: BaseMessage[] };
    const merged = update.toolgateDecisions
      ? { ...out, messages: [...(update.messages ?? []), ...(out.messages ?? [])], toolgateDecisions: update.toolgateDecisions }
      : out;
    return routes ? new Command({ update: merged, goto: routes.agent }) : merged;
  }

  protected override async runTool(given: LcToolCall, config: LangGraphRunnableConfig, state: unknown): Promise<ToolMessage | Command> {
    // One read of each field of the call (a getter on `name` could answer a harmless tool to the
    // high-stakes check and another to ToolNode's own lookup): everything below, ToolNode's
    // runTool included, reads this plain copy.
    const call: LcToolCall = { ...given };
    if (!mayBeHighStakes(this.gate, call.name)) return super.runTool(call, config, state);
    const fromTurn = call.id && typeof state === 'object' && state !== null ? this.turnDecisions.get(state)?.[call.id] : undefined;
    if (fromTurn && isAllowed(fromTurn) && fromTurn.tool === call.name && fromTurn.callId === call.id && Object.hasOwn(fromTurn, 'args')) {
      // This turn's allow, straight from the gate: the body runs with the arguments it reviewed
      // (`decision.args`, parsed from the canonical JSON its digest covers), whatever the message
      // holds now — no copy of the message's arguments to check against the digest again. An allow
      // a human edited on the reviewer runs the edited arguments, and the model is told (as after
      // the human gate); the message's own arguments never run.
      return this.runAllowed({ ...call, args: fromTurn.args as LcToolCall['args'] }, fromTurn, config, state);
    }
    // One frozen copy of the arguments: judged, digest-checked and run. The args object in the
    // message is never read again, so nothing done to it after this line reaches the body.
    const snapshot = snapshotArgs(call.args);
    if (!snapshot) {
      return denialMessage({ name: call.name, id: call.id ?? '' }, refusal(call, undefined, 'the tool call arguments are not JSON, so they cannot be reviewed', ErrorCodes.ARGS_NOT_JSON));
    }
    const reviewed: LcToolCall = { ...call, args: snapshot.args as LcToolCall['args'] };
    if (!this.gate.isHighStakes(call.name, snapshot.args)) return super.runTool(reviewed, config, state);
    const decision = await this.decisionFor(reviewed, config, state);
    if (!isAllowed(decision)) return denialMessage({ name: call.name, id: call.id ?? '' }, decision);
    return this.runAllowed(reviewed, decision, config, state);
  }

  /** Claims the one execution `decision` authorises, runs `reviewed` (its reviewed arguments) and reports the outcome. */
  private async runAllowed(reviewed: LcToolCall, decision: Decision, config: LangGraphRunnableConfig, state: unknown): Promise<ToolMessage | Command> {
    const claimRefused = await claimExecution(this.gate, decision);
    if (claimRefused) return denialMessage({ name: reviewed.name, id: reviewed.id ?? '' }, claimRefused);

    const started = performance.now();
    try {
      const result = await super.runTool(reviewed, config, state);
      const failed = ToolMessage.isInstance(result) && result.status === 'error';
      const outcome = { status: failed ? ('error' as const) : ('success' as const), durationMs: performance.now() - started };
      void this.gate.reportOutcome(decision, failed ? { ...outcome, message: contentText(result) } : outcome);
      return failed ? result : withEditNotice(result, decision);
    } catch (error) {
      void this.gate.reportOutcome(decision, {
        status: 'error',
        message: error instanceof Error ? error.message : String(error),
        durationMs: performance.now() - started,
      });
      throw error;
    }
  }

  /** The Decision that governs this call: from state when it matches the call, else per `onMissingDecision`. */
  private async decisionFor(call: LcToolCall, config: LangGraphRunnableConfig, state: unknown): Promise<Decision> {
    const id = call.id;
    const inState = id ? decisionsOf(state)[id] : undefined;
    // State is not the gate: an allowing Decision there runs only as the gate's own copy of it,
    // issued for this call (this tool call id, under the run id this node's turn is reviewed with).
    const runId = id ? toGateCall({ ...call, id }, config, this.turnOptions ?? this.governOptions).runId : undefined;
    const own = inState && id ? await decisionOfGate(this.gate, inState, { callId: id, runId }) : undefined;
    if (own) {
      if (decidedFor(own, call.name, call.args)) return own;
      return refusal(call, own, 'the Decision in state is for a different tool or different arguments than this call');
    }
    if (this.governOptions.onMissingDecision === 'deny' || !id) {
      const reason = !id
        ? 'the tool call has no id, so no Decision can be bound to it'
        : inState
          ? `${UNVOUCHED}; denied (onMissingDecision: 'deny')`
          : 'no toolgate Decision in state for this call (is governanceNode wired before the tools?)';
      return refusal(call, undefined, reason);
    }
    return this.gate.review(toGateCall({ ...call, id }, config, this.governOptions), config.signal ? { signal: config.signal } : undefined);
  }
}

/**
 * Creates a `GovernedToolNode`: a drop-in for `new ToolNode(tools)` that enforces toolgate
 * Decisions and reports outcomes.
 *
 * @example
 * graph.addNode('tools', governedToolNode([transfer, shell], gate))
 */
export function governedToolNode(tools: Tools, gate: Gate, options: GovernedToolNodeOptions = {}): GovernedToolNode {
  return new GovernedToolNode(tools, gate, options);
}

/** The turn-review options (`onDeny`, `agent`, `context`, `runId`) of a tool node's options. */
export function governanceOptionsOf(options: GovernedToolNodeOptions): GovernanceNodeOptions {
  const out: GovernanceNodeOptions = {};
  if (options.onDeny !== undefined) out.onDeny = options.onDeny;
  if (options.agent !== undefined) out.agent = options.agent;
  if (options.context !== undefined) out.context = options.context;
  if (options.runId !== undefined) out.runId = options.runId;
  return out;
}

function isMessagesState(input: unknown): input is GovernanceNodeInput & Record<string, unknown> {
  return typeof input === 'object' && input !== null && !Array.isArray(input) && !('lg_tool_call' in input) && Array.isArray((input as { messages?: unknown }).messages);
}

function safeDigest(call: LcToolCall): string | undefined {
  try {
    return callDigest(call.name, call.args ?? {});
  } catch {
    return undefined;
  }
}

function refusal(call: LcToolCall, prior: Decision | undefined, reason: string, code: string = ErrorCodes.DENIED): Decision {
  const d: Decision = {
    verdict: 'deny',
    source: 'fail_closed',
    reason,
    conditions: [],
    evaluated: [],
    tool: call.name,
    digest: safeDigest(call) ?? '',
    latencyMs: 0,
    error: { code, message: reason },
  };
  if (call.id) d.callId = call.id;
  if (prior?.runId) d.runId = prior.runId;
  return d;
}

function contentText(message: ToolMessage): string {
  return typeof message.content === 'string' ? message.content : JSON.stringify(message.content);
}
