import {
  Agent,
  Runner,
  RunState,
  setTraceProcessors,
  setTracingDisabled,
  shellTool,
  tool,
  webSearchTool,
  type Shell,
  type Span,
  type TracingProcessor,
} from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import {
  callbackReviewer,
  createGate,
  GovernanceDeniedError,
  memoryAudit,
  type Gate,
  type GateOptions,
  type ReviewerVerdict,
  type ReviewRequest,
} from '@toolgate/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { getDecisions, GovernanceHooks, governAgent, governanceErrorFrom, governTool, UngateableToolError } from './index';

// ------------------------------------------------------------------------------------------------
// fixtures

type Answer = ReviewerVerdict | 'down';

function setup(answer: Answer | ((req: ReviewRequest) => Answer), extra: Partial<GateOptions> = {}) {
  const asked: ReviewRequest[] = [];
  const audit = memoryAudit();
  const reviewer = callbackReviewer((req) => {
    // Reviews only: core re-checks an approved call at resume as a dry run (req.dryRun), which is no second review.
    if (!req.dryRun) asked.push(req);
    const a = typeof answer === 'function' ? answer(req) : answer;
    if (a === 'down') throw new Error('reviewer unreachable');
    return a;
  });
  const gate = createGate({ reviewer, highStakes: ['transfer', 'shell', 'deploy_prod'], audit, telemetry: false, ...extra });
  return { gate, asked, audit };
}

function counterTool(name: string, ran: unknown[]) {
  return tool({
    name,
    description: `${name} things`,
    parameters: z.object({ amount: z.number() }),
    execute: async ({ amount }) => {
      ran.push(amount);
      return `${name} done: ${amount}`;
    },
  });
}

/** The last function_call_result the model received (what the tool "said"). */
function modelSaw(model: ScriptedModel): string | undefined {
  for (const call of [...model.calls].reverse()) {
    const items = (Array.isArray(call.request.input) ? call.request.input : []) as Array<{ type?: string; output?: unknown }>;
    const out = items.filter((i) => i.type === 'function_call_result' || i.type === 'shell_call_output').at(-1);
    if (out) return JSON.stringify(out.output);
  }
  return undefined;
}

const scripted = (name: string, args: Record<string, unknown>, callId = 'call_1') =>
  new ScriptedModel([[functionCall(name, args, { callId })], [assistantMessage('done')]]);

const ALLOW: ReviewerVerdict = { verdict: 'allow', reason: 'within limits', reviewId: 'rev_allow' };
const DENY: ReviewerVerdict = { verdict: 'deny', reason: 'amount over the daily limit', reviewId: 'rev_deny' };
const REVIEW: ReviewerVerdict = { verdict: 'review', reason: 'large transfer needs a human', reviewId: 'rev_human' };

function runnerFor(gate: Gate, options?: ConstructorParameters<typeof GovernanceHooks>[1]) {
  const hooks = new GovernanceHooks(gate, options);
  return { hooks, runner: hooks.attach(new Runner({ tracingDisabled: true })) };
}

// ------------------------------------------------------------------------------------------------

describe('GovernanceHooks.attach(runner): function tools', () => {
  it('allow: the tool runs once, the Decision is on the run context, the outcome is audited', async () => {
    const { gate, asked, audit } = setup(ALLOW);
    const ran: unknown[] = [];
    const model = scripted('transfer', { amount: 500 });
    const agent = new Agent({ name: 'bank', model, tools: [counterTool('transfer', ran)] });
    const { runner } = runnerFor(gate);

    const result = await runner.run(agent, 'send 500');

    expect(ran).toEqual([500]);
    expect(asked).toHaveLength(1);
    expect(asked[0]!.call).toMatchObject({ tool: 'transfer', args: { amount: 500 }, callId: 'call_1' });
    expect(asked[0]!.agent).toEqual({ id: 'bank' });
    expect(modelSaw(model)).toContain('transfer done: 500');
    const d = getDecisions(result).get('call_1');
    expect(d).toMatchObject({ verdict: 'allow', source: 'reviewer', reviewId: 'rev_allow', tool: 'transfer' });
    const outcome = audit.records.find((r) => r.kind === 'outcome');
    expect(outcome?.outcome?.status).toBe('success');
    expect(outcome?.call.callId).toBe('call_1');
    expect(typeof outcome?.outcome?.durationMs).toBe('number');
  });

  it('deny: the body never runs, the model receives the denial and the run continues', async () => {
    const { gate } = setup(DENY);
    const ran: unknown[] = [];
    const model = scripted('transfer', { amount: 9000 });
    const agent = new Agent({ name: 'bank', model, tools: [counterTool('transfer', ran)] });
    const { runner } = runnerFor(gate);

    const result = await runner.run(agent, 'send 9000');

    expect(ran).toHaveLength(0);
    const saw = modelSaw(model);
    expect(saw).toContain('toolgate denied');
    expect(saw).toContain('amount over the daily limit');
    expect(saw).toContain('rev_deny');
    expect(result.finalOutput).toBe('done');
    expect(getDecisions(result).get('call_1')).toMatchObject({ verdict: 'deny', source: 'reviewer' });
  });

  it('fail-closed: reviewer down → not run, Decision source fail_closed, model told why', async () => {
    const { gate } = setup('down');
    const ran: unknown[] = [];
    const model = scripted('transfer', { amount: 5 });
    const agent = new Agent({ name: 'bank', model, tools: [counterTool('transfer', ran)] });
    const { runner } = runnerFor(gate);

    const result = await runner.run(agent, 'send 5');

    expect(ran).toHaveLength(0);
    expect(getDecisions(result).get('call_1')).toMatchObject({ verdict: 'deny', source: 'fail_closed' });
    expect(modelSaw(model)).toContain('fail_closed');
  });

  it('fail-open: reviewer down with failMode open → runs, Decision source fail_open', async () => {
    const { gate } = setup('down', { failMode: 'open' });
    const ran: unknown[] = [];
    const agent = new Agent({ name: 'bank', model: scripted('transfer', { amount: 5 }), tools: [counterTool('transfer', ran)] });
    const { runner } = runnerFor(gate);

    const result = await runner.run(agent, 'send 5');

    expect(ran).toEqual([5]);
    const d = getDecisions(result).get('call_1');
    expect(d).toMatchObject({ verdict: 'allow', source: 'fail_open' });
    expect(d?.error?.code).toBeDefined();
  });

  it('a tool that is not high-stakes runs without asking the reviewer', async () => {
    const { gate, asked } = setup(DENY);
    const ran: unknown[] = [];
    const agent = new Agent({ name: 'bank', model: scripted('balance', { amount: 1 }), tools: [counterTool('balance', ran)] });
    const { runner } = runnerFor(gate);
    await runner.run(agent, 'balance?');
    expect(ran).toEqual([1]);
    expect(asked).toHaveLength(0);
  });

  it("onDeny 'throw': the run aborts with ToolCallError wrapping a GovernanceDeniedError; nothing ran", async () => {
    const { gate } = setup(DENY);
    const ran: unknown[] = [];
    const agent = new Agent({ name: 'bank', model: scripted('transfer', { amount: 9000 }), tools: [counterTool('transfer', ran)] });
    const { runner } = runnerFor(gate, { onDeny: 'throw' });

    const error = await runner.run(agent, 'send 9000').then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(ran).toHaveLength(0);
    expect((error as Error).constructor.name).toBe('ToolCallError');
    const denied = governanceErrorFrom(error);
    expect(denied).toBeInstanceOf(GovernanceDeniedError);
    expect(denied?.code).toBe('DENIED');
    expect(denied?.decision.reviewId).toBe('rev_deny');
  });
});

describe('outcome of a tool that throws', () => {
  it('an exception escaping invoke (errorFunction: null) is reported as an error outcome', async () => {
    const { gate, audit } = setup(ALLOW);
    const boom = tool({
      name: 'transfer',
      description: 'fails',
      parameters: z.object({ amount: z.number() }),
      errorFunction: null,
      execute: async () => {
        throw new Error('bank offline');
      },
    });
    const agent = new Agent({ name: 'bank', model: scripted('transfer', { amount: 1 }), tools: [boom] });
    const { runner } = runnerFor(gate);
    await expect(runner.run(agent, 'go')).rejects.toThrow(/bank offline/);
    await new Promise((r) => setImmediate(r));
    const outcome = audit.records.find((r) => r.kind === 'outcome');
    expect(outcome?.outcome?.status).toBe('error');
    expect(outcome?.outcome?.message).toContain('bank offline');
  });
});

describe('review → the SDK interruption → human', () => {
  it('approve: runs exactly once, the human decision is recorded before the outcome', async () => {
    const { gate, asked, audit } = setup(REVIEW);
    const ran: unknown[] = [];
    const model = scripted('transfer', { amount: 700 });
    const agent = new Agent({ name: 'bank', model, tools: [counterTool('transfer', ran)] });
    const { runner } = runnerFor(gate);

    const first = await runner.run(agent, 'send 700');
    expect(first.interruptions).toHaveLength(1);
    expect(ran).toHaveLength(0);
    expect(getDecisions(first).get('call_1')).toMatchObject({ verdict: 'review', reviewId: 'rev_human' });

    first.state.approve(first.interruptions[0]!);
    const second = await runner.run(agent, first.state);

    expect(ran).toEqual([700]);
    expect(asked).toHaveLength(1);
    expect(second.finalOutput).toBe('done');
    expect(getDecisions(second).get('call_1')).toMatchObject({ verdict: 'allow', source: 'human', reviewId: 'rev_human' });
    const kinds = audit.records.map((r) => r.kind);
    expect(kinds).toEqual(['review', 'human_decision', 'outcome']);
  });

  it('reject: never runs; the rejection is recorded on the gate', async () => {
    const { gate, audit } = setup(REVIEW);
    const ran: unknown[] = [];
    const model = scripted('transfer', { amount: 700 });
    const agent = new Agent({ name: 'bank', model, tools: [counterTool('transfer', ran)] });
    const { runner, hooks } = runnerFor(gate);

    const first = await runner.run(agent, 'send 700');
    first.state.reject(first.interruptions[0]!, { message: 'not today' });
    const second = await runner.run(agent, first.state);

    expect(ran).toHaveLength(0);
    expect(modelSaw(model)).toContain('not today');
    expect(second.finalOutput).toBe('done');
    const human = audit.records.find((r) => r.kind === 'human_decision');
    expect(human?.decision).toMatchObject({ verdict: 'deny', source: 'human' });
    expect(hooks.decisionFor('call_1')).toMatchObject({ verdict: 'deny', source: 'human' });
    expect(audit.records.some((r) => r.kind === 'outcome')).toBe(false);
  });

  it('resume through RunState.toString/fromString asks the reviewer once and runs once', async () => {
    const { gate, asked } = setup(REVIEW);
    const ran: unknown[] = [];
    const transfer = counterTool('transfer', ran);
    const model = scripted('transfer', { amount: 800 }, 'call_9');
    const agent = new Agent({ name: 'bank', model, tools: [transfer] });
    const { runner } = runnerFor(gate);

    const first = await runner.run(agent, 'send 800');
    const saved = first.state.toString();
    const restored = await RunState.fromString(agent, saved);
    restored.approve(restored.getInterruptions()[0]!);
    const second = await runner.run(agent, restored);

    expect(ran).toEqual([800]);
    expect(asked).toHaveLength(1);
    expect(getDecisions(second).get('call_9')).toMatchObject({ verdict: 'allow', source: 'human' });
  });
});

describe('every agent the runner reaches', () => {
  it("a handoff target's high-stakes tool is gated", async () => {
    const { gate, asked } = setup(DENY);
    const ran: unknown[] = [];
    const payModel = scripted('transfer', { amount: 50 });
    const payments = new Agent({ name: 'payments', model: payModel, tools: [counterTool('transfer', ran)] });
    const triage = new Agent({
      name: 'triage',
      model: new ScriptedModel([[functionCall('transfer_to_payments', {}, { callId: 'h1' })]]),
      handoffs: [payments],
    });
    const { runner } = runnerFor(gate);

    const result = await runner.run(triage, 'pay bob');

    expect(ran).toHaveLength(0);
    expect(asked[0]?.agent).toEqual({ id: 'payments' });
    expect(modelSaw(payModel)).toContain('toolgate denied');
    expect(result.finalOutput).toBe('done');
  });

  it("an asTool() sub-agent's high-stakes tool is gated", async () => {
    const { gate, asked } = setup(DENY);
    const ran: unknown[] = [];
    const innerModel = scripted('deploy_prod', { amount: 1 }, 'inner_1');
    const deployer = new Agent({ name: 'deployer', model: innerModel, tools: [counterTool('deploy_prod', ran)] });
    const outerModel = new ScriptedModel([
      [functionCall('deployer_tool', { input: 'ship it' }, { callId: 'outer_1' })],
      [assistantMessage('outer done')],
    ]);
    const boss = new Agent({
      name: 'boss',
      model: outerModel,
      tools: [deployer.asTool({ toolName: 'deployer_tool', toolDescription: 'deploys' })],
    });
    const { runner, hooks } = runnerFor(gate);

    const result = await runner.run(boss, 'deploy');

    expect(ran).toHaveLength(0);
    expect(asked.map((r) => r.call.tool)).toEqual(['deploy_prod']);
    expect(modelSaw(innerModel)).toContain('toolgate denied');
    expect(result.finalOutput).toBe('outer done');
    expect(hooks.decisionFor('inner_1')).toMatchObject({ verdict: 'deny' });
  });

  it('an asTool() tool that is itself high-stakes is gated (the sub-agent never starts)', async () => {
    const { gate } = setup(DENY, { highStakes: ['deployer_tool'] });
    const innerModel = new ScriptedModel([[assistantMessage('inner ran')]]);
    const deployer = new Agent({ name: 'deployer', model: innerModel });
    const boss = new Agent({
      name: 'boss',
      model: new ScriptedModel([[functionCall('deployer_tool', { input: 'x' }, { callId: 'o1' })], [assistantMessage('ok')]]),
      tools: [deployer.asTool({ toolName: 'deployer_tool', toolDescription: 'deploys' })],
    });
    const { runner } = runnerFor(gate);
    await runner.run(boss, 'deploy');
    expect(innerModel.calls).toHaveLength(0);
  });
});

describe('hosted tools cannot be gated', () => {
  it('a high-stakes hosted tool is refused before anything runs', async () => {
    const { gate, asked } = setup(ALLOW, { highStakes: ['web_search', 'transfer'] });
    const model = new ScriptedModel([[assistantMessage('never')]]);
    const agent = new Agent({ name: 'researcher', model, tools: [webSearchTool()] });
    const { runner } = runnerFor(gate);

    const error = await runner.run(agent, 'search').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UngateableToolError);
    expect((error as UngateableToolError).code).toBe('HOSTED_TOOL_UNGATEABLE');
    expect((error as UngateableToolError).message).toContain('web_search');
    expect(model.calls).toHaveLength(0);
    expect(asked).toHaveLength(0);
    expect(() => governAgent(new Agent({ name: 'r2', tools: [webSearchTool()] }), gate)).toThrow(UngateableToolError);
  });

  it("allowHostedTools 'warn' lets it through with a warning; a non-high-stakes hosted tool is fine", () => {
    const { gate } = setup(ALLOW, { highStakes: ['web_search'] });
    const warnings: string[] = [];
    const agent = governAgent(new Agent({ name: 'r', tools: [webSearchTool()] }), gate, {
      allowHostedTools: 'warn',
      onWarning: (m) => warnings.push(m),
    });
    expect(agent).toBeInstanceOf(Agent);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('UNGATED');
    const other = setup(ALLOW, { highStakes: ['transfer'] });
    expect(() => governAgent(new Agent({ name: 'r3', tools: [webSearchTool()] }), other.gate)).not.toThrow();
  });
});

describe('governAgent / governTool', () => {
  it('return the same objects, governed; the default run() is gated', async () => {
    const { gate } = setup(DENY);
    const ran: unknown[] = [];
    const t = counterTool('transfer', ran);
    expect(governTool(t, gate)).toBe(t);
    const agent = new Agent({ name: 'bank', model: scripted('transfer', { amount: 3 }), tools: [t] });
    expect(governAgent(agent, gate)).toBe(agent);
    await new Runner({ tracingDisabled: true }).run(agent, 'go');
    expect(ran).toHaveLength(0);
  });

  it('governing twice with the same gate asks the reviewer once per call', async () => {
    const { gate, asked } = setup(ALLOW);
    const ran: unknown[] = [];
    const agent = new Agent({ name: 'bank', model: scripted('transfer', { amount: 3 }), tools: [counterTool('transfer', ran)] });
    governAgent(agent, gate);
    const { runner } = runnerFor(gate);
    await runner.run(agent, 'go');
    expect(ran).toEqual([3]);
    expect(asked).toHaveLength(1);
  });

  it('rejects bad options with a clear message', () => {
    const { gate } = setup(ALLOW);
    expect(() => new GovernanceHooks(gate, { onDeny: 'explode' as 'throw' })).toThrow(/onDeny must be 'message' or 'throw'/);
    expect(() => new GovernanceHooks(gate, { nope: 1 } as object)).toThrow(/unknown option "nope"/);
    expect(() => new GovernanceHooks({} as Gate)).toThrow(/createGate/);
  });
});

describe('local shell tool: needsApproval + onApproval', () => {
  function shellSetup(answer: Answer) {
    const s = setup(answer);
    const ran: string[][] = [];
    const shell: Shell = {
      async run(action) {
        ran.push(action.commands);
        return { output: [{ stdout: 'ok', stderr: '', outcome: { type: 'exit', exitCode: 0 } }] };
      },
    };
    const model = new ScriptedModel([
      [{ type: 'shell_call', callId: 'sh_1', status: 'completed', action: { commands: ['rm -rf /data'] } }],
      [assistantMessage('done')],
    ]);
    const agent = new Agent({ name: 'ops', model, tools: [shellTool({ shell })] });
    return { ...s, ran, model, agent, ...runnerFor(s.gate) };
  }

  it('allow runs the command and reports the outcome', async () => {
    const { ran, agent, runner, audit } = shellSetup(ALLOW);
    const result = await runner.run(agent, 'clean');
    expect(ran).toEqual([['rm -rf /data']]);
    expect(result.interruptions).toHaveLength(0);
    expect(audit.records.find((r) => r.kind === 'outcome')?.outcome?.status).toBe('success');
    expect(getDecisions(result).get('sh_1')).toMatchObject({ verdict: 'allow' });
  });

  it('deny does not run it; the model gets the denial on stderr', async () => {
    const { ran, agent, runner, model } = shellSetup(DENY);
    const result = await runner.run(agent, 'clean');
    expect(ran).toHaveLength(0);
    expect(modelSaw(model)).toContain('toolgate denied');
    expect(result.finalOutput).toBe('done');
  });

  it('review pauses; approve runs it once and records the human decision first', async () => {
    const { ran, agent, runner, audit, asked } = shellSetup(REVIEW);
    const first = await runner.run(agent, 'clean');
    expect(first.interruptions).toHaveLength(1);
    expect(ran).toHaveLength(0);
    first.state.approve(first.interruptions[0]!);
    await runner.run(agent, first.state);
    expect(ran).toEqual([['rm -rf /data']]);
    expect(asked).toHaveLength(1);
    expect(audit.records.map((r) => r.kind)).toEqual(['review', 'human_decision', 'outcome']);
  });

  it('review → reject never runs it', async () => {
    const { ran, agent, runner, audit } = shellSetup(REVIEW);
    const first = await runner.run(agent, 'clean');
    first.state.reject(first.interruptions[0]!);
    await runner.run(agent, first.state);
    expect(ran).toHaveLength(0);
    expect(audit.records.find((r) => r.kind === 'human_decision')?.decision?.verdict).toBe('deny');
  });
});

describe('trace spans', () => {
  const spans: Span<any>[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
  const processor: TracingProcessor = {
    async onTraceStart() {},
    async onTraceEnd() {},
    async onSpanStart() {},
    async onSpanEnd(span) {
      spans.push(span);
    },
    async shutdown() {},
    async forceFlush() {},
  };
  beforeEach(() => {
    spans.length = 0;
    setTraceProcessors([processor]);
    setTracingDisabled(false);
  });
  afterEach(() => {
    setTraceProcessors([]);
    setTracingDisabled(true);
  });

  it('adds a toolgate.review custom span per gated call, nested in the tool span', async () => {
    const { gate } = setup(DENY);
    const agent = new Agent({ name: 'bank', model: scripted('transfer', { amount: 9 }), tools: [counterTool('transfer', [])] });
    const hooks = new GovernanceHooks(gate);
    const runner = hooks.attach(new Runner());
    await runner.run(agent, 'go');
    const custom = spans.map((s) => s.spanData as { type: string; name?: string; data?: Record<string, unknown> }).filter((d) => d.type === 'custom' && d.name === 'toolgate.review');
    expect(custom).toHaveLength(1);
    expect(custom[0]!.data).toMatchObject({
      'toolgate.verdict': 'deny',
      'toolgate.source': 'reviewer',
      'toolgate.reviewId': 'rev_deny',
      'gen_ai.tool.name': 'transfer',
      'gen_ai.tool.call.id': 'call_1',
    });
    const span = spans.find((s) => (s.spanData as { name?: string }).name === 'toolgate.review')!;
    const parent = spans.find((s) => s.spanId === span.parentId);
    expect(parent?.spanData.type).toBe('function');
  });
});

describe('abort', () => {
  it('a run aborted while the reviewer hangs never runs the tool, even with failMode open', async () => {
    const audit = memoryAudit();
    const gate = createGate({
      reviewer: { name: 'hang', review: () => new Promise(() => {}) },
      highStakes: ['transfer'],
      failMode: 'open',
      timeoutMs: 300,
      audit,
      telemetry: false,
    });
    const ran: unknown[] = [];
    const agent = new Agent({ name: 'bank', model: scripted('transfer', { amount: 5 }), tools: [counterTool('transfer', ran)] });
    const { runner } = runnerFor(gate);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('user pressed stop')), 50);
    await runner.run(agent, 'pay', { signal: controller.signal }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 400)); // past the gate's deadline: the fail-open allow has landed
    expect(ran).toHaveLength(0);
  });
});

describe('reused call ids', () => {
  it("an allow for call_1 does not authorise a later call_1 with other arguments", async () => {
    const { gate, asked } = setup((req) => ((req.call.args as { amount: number }).amount > 100 ? DENY : ALLOW));
    const ran: unknown[] = [];
    const transfer = counterTool('transfer', ran);
    const { runner } = runnerFor(gate);
    await runner.run(new Agent({ name: 'bank', model: scripted('transfer', { amount: 5 }), tools: [transfer] }), 'small');
    await runner.run(new Agent({ name: 'bank', model: scripted('transfer', { amount: 9000 }), tools: [transfer] }), 'big');
    expect(ran).toEqual([5]);
    expect(asked).toHaveLength(2);
  });
});
