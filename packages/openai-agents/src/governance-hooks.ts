import { RunState, type Agent, type Runner } from '@openai/agents';
import type { Decision, Gate } from '@toolgate/core';
import { OptionsError } from '@toolgate/core';
import { Governor } from './governor';
import { resolveOptions, type GovernanceOptions } from './options';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyAgent = Agent<any, any>;

const ATTACHED = Symbol.for('toolgate.openai-agents.attached');

/**
 * Puts a toolgate gate in front of every high-stakes tool a Runner runs.
 *
 * `attach(runner)` governs, before each `runner.run(...)` starts or resumes, the starting agent,
 * every handoff target, every `agent.asTool()` sub-agent and every local MCP tool they list:
 * a tool input guardrail enforces allow/deny, a dynamic `needsApproval` turns a `review` verdict
 * into the SDK's own interruption, and the outcome is reported back after the tool ran. Before a
 * RunState resumes, the human answers given with `state.approve` / `state.reject` are recorded on
 * the gate. Hook listeners alone cannot block a tool (they are not awaited), so the hooks only
 * keep track of the current agent and of local shell/apply_patch call ids.
 *
 * @example
 * const gate = createGate({ reviewer, highStakes: ['transfer', 'shell'] });
 * const runner = new GovernanceHooks(gate).attach(new Runner());
 * const result = await runner.run(agent, 'send 500 to bob');
 */
export class GovernanceHooks<TContext = unknown> {
  readonly #governor: Governor;

  constructor(gate: Gate, options?: GovernanceOptions<TContext>) {
    if (!gate || typeof gate.review !== 'function' || typeof gate.isHighStakes !== 'function') {
      throw new OptionsError('new GovernanceHooks(gate): gate must come from createGate({ reviewer, highStakes })');
    }
    this.#governor = new Governor(gate, resolveOptions(options, 'new GovernanceHooks(gate, options)'));
  }

  /** The gate this governs with. */
  get gate(): Gate {
    return this.#governor.gate;
  }

  /** Every Decision made through these hooks, keyed by `tool` + NUL + `callId`. See `getDecisions(result)` for one run. */
  get decisions(): ReadonlyMap<string, Decision> {
    return this.#governor.byKey;
  }

  /** The Decision for one call id (from any run these hooks governed). */
  decisionFor(callId: string): Decision | undefined {
    let found: Decision | undefined;
    for (const d of this.#governor.byKey.values()) if (d.callId === callId) found = d;
    return found;
  }

  /**
   * Adds governance to `runner` and returns it. Idempotent. Governing happens when `runner.run`
   * is called (agents are not known before); a high-stakes hosted tool then makes `runner.run`
   * reject with `UngateableToolError` before anything runs.
   */
  attach<R extends Runner>(runner: R): R {
    const r = runner as R & { [ATTACHED]?: Set<Gate> };
    const attached = r[ATTACHED] ?? new Set<Gate>();
    if (attached.has(this.gate)) return runner;
    if (!r[ATTACHED]) Object.defineProperty(r, ATTACHED, { value: attached, enumerable: false });
    attached.add(this.gate);
    const governor = this.#governor;
    const run = runner.run;
    const governedRun = async function governedRun(this: Runner, agent: AnyAgent, input: unknown, options?: unknown) {
      governor.governAgent(agent);
      if (input instanceof RunState) await governor.recordHumanDecisions(input as RunState<unknown, AnyAgent>);
      return (run as (...a: unknown[]) => unknown).call(this ?? runner, agent, input, options);
    };
    (runner as unknown as { run: unknown }).run = governedRun;
    // Safety net for agents reached some other way (e.g. a handoff list changed mid-run).
    runner.on('agent_start', (_ctx, agent) => governor.governAgent(agent as AnyAgent));
    return runner;
  }

  /** Governs one agent (and its handoff targets and asTool sub-agents) in place, without a Runner. */
  governAgent<A extends AnyAgent>(agent: A): A {
    this.#governor.governAgent(agent);
    return agent;
  }

  /**
   * Records on the gate the human answers (`state.approve` / `state.reject`) in `state`. An
   * attached runner does this itself before resuming; call it when you resume with `run()` or
   * another runner.
   */
  recordHumanDecisions(state: RunState<unknown, AnyAgent>): Promise<void> {
    return this.#governor.recordHumanDecisions(state);
  }

  /** @internal */
  get governor(): Governor {
    return this.#governor;
  }
}
