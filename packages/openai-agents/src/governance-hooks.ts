import { Runner, type Agent, type RunState } from '@openai/agents';
import type { Decision, Gate } from '@toolgate/core';
import { OptionsError } from '@toolgate/core';
import { Governor } from './governor';
import { checkGraph, governStatically, installAgent, patchRunnerClass, recordHumanAnswers } from './install';
import { resolveOptions, type GovernanceOptions } from './options';
import { addRunnerGovernor } from './scope';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyAgent = Agent<any, any>;

/**
 * Puts a toolgate gate in front of every high-stakes tool a Runner runs.
 *
 * `attach(runner)` governs each `runner.run(...)`: the starting agent, every handoff target,
 * every `agent.asTool()` sub-agent (its nested run inherits the runner's gate) and every local
 * MCP tool they list: a tool input guardrail enforces allow/deny, a dynamic `needsApproval` turns
 * a `review` verdict into the SDK's own interruption, and the outcome is reported back after the
 * tool ran. The gate belongs to the runner, not to the Agent: one module-level Agent run by
 * several runners is decided by each runner's own gate, also concurrently, and hooks made per
 * request leave nothing behind on the Agent. Before a RunState resumes, the human answers given
 * with `state.approve` / `state.reject` to the calls in its interruptions are recorded on the gate.
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
   * Adds governance to `runner` and returns it. Idempotent per gate. Governing happens when
   * `runner.run` is called (agents are not known before); a high-stakes hosted tool then makes
   * `runner.run` reject with `UngateableToolError` before anything runs.
   */
  attach<R extends Runner>(runner: R): R {
    if (!addRunnerGovernor(runner, this.#governor)) return runner;
    patchRunnerClass(runner);
    // Agents reached some other way (e.g. a handoff list changed mid-run) get their dispatchers here.
    runner.on('agent_start', (_ctx, agent) => installAgent(agent as AnyAgent));
    return runner;
  }

  /**
   * Governs one agent graph with this gate for every run, in place (its tools, handoff targets and,
   * when it runs, its `asTool()` sub-agents and MCP tools). An object has one gate of its own:
   * another gate throws `AlreadyGovernedError`; to choose a gate per run, use `attach(runner)`.
   */
  governAgent<A extends AnyAgent>(agent: A): A {
    governStatically(this.#governor, agent);
    checkGraph(this.#governor, agent);
    patchRunnerClass(Runner.prototype);
    return agent;
  }

  /**
   * Records on the gate the human answers (`state.approve`, `state.reject`, `approveWithEdits`) in
   * `state`. An attached runner (or a governed agent's run) does this itself before resuming.
   */
  recordHumanDecisions(state: RunState<unknown, AnyAgent>): Promise<void> {
    return recordHumanAnswers([this.#governor], state as unknown as RunState<unknown, never>);
  }

  /** @internal */
  get governor(): Governor {
    return this.#governor;
  }
}
