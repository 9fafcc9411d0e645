// Ways a high-stakes call could run without an allowing decision (issue: trust), each against the
// real SDK with a ScriptedModel. The decisive assertion is always the side-effect counter.
import { Agent, Runner, RunState, shellTool, tool, toolNamespace, type Shell } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { callbackReviewer, createGate, memoryAudit, type Gate, type GateOptions, type ReviewerVerdict, type ReviewRequest } from '@toolgate/core';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { AlreadyGovernedError, getDecisions, GovernanceHooks, governAgent } from './index';

type Answer = ReviewerVerdict | 'down';

function setup(answer: Answer | ((req: ReviewRequest) => Answer | Promise<Answer>), extra: Partial<GateOptions> = {}) {
  const asked: ReviewRequest[] = [];
  const audit = memoryAudit();
  const reviewer = callbackReviewer(async (req) => {
    // Reviews only: core re-checks an approved call at resume as a dry run (req.dryRun), which is no second review.
    if (!req.dryRun) asked.push(req);
    const a = typeof answer === 'function' ? await answer(req) : answer;
    if (a === 'down') throw new Error('reviewer unreachable');
    return a;
  });
  const gate = createGate({ reviewer, highStakes: ['transfer'], audit, telemetry: false, ...extra });
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

function runnerFor(gate: Gate, model?: ScriptedModel) {
  return new GovernanceHooks(gate).attach(new Runner({ tracingDisabled: true, ...(model ? { model } : {}) }));
}

const REVIEW: ReviewerVerdict = { verdict: 'review', reason: 'a human must approve', reviewId: 'rev_human' };
const ALLOW: ReviewerVerdict = { verdict: 'allow', reason: 'fine' };
const DENY: ReviewerVerdict = { verdict: 'deny', reason: 'no' };

describe('replaying an approved RunState', () => {
  it('running a saved, approved state a second time does not run the tool again', async () => {
    const { gate, audit } = setup(REVIEW);
    const ran: unknown[] = [];
    const model = new ScriptedModel([
      [functionCall('transfer', { amount: 700 }, { callId: 'call_1' })],
      [assistantMessage('done')],
      [assistantMessage('done again')],
    ]);
    const agent = new Agent({ name: 'bank', model, tools: [counterTool('transfer', ran)] });
    const runner = runnerFor(gate);

    const first = await runner.run(agent, 'send 700');
    first.state.approve(first.interruptions[0]!);
    const saved = first.state.toString();
    await runner.run(agent, first.state);
    expect(ran).toEqual([700]);

    const replay = await runner.run(agent, await RunState.fromString(agent, saved));

    expect(ran).toEqual([700]);
    expect(getDecisions(replay).get('call_1')).toMatchObject({ verdict: 'deny', error: { code: 'ALREADY_EXECUTED' } });
    expect(audit.records.filter((r) => r.kind === 'outcome')).toHaveLength(1);
  });
});

describe('sticky SDK approvals', () => {
  it('state.approve(item, { alwaysApprove: true }) answers that call only; a later call the gate sends for review does not run', async () => {
    const { gate, asked, audit } = setup(REVIEW);
    const ran: unknown[] = [];
    const model = new ScriptedModel([
      [functionCall('transfer', { amount: 700 }, { callId: 'call_1' })],
      [functionCall('transfer', { amount: 9000 }, { callId: 'call_2' })],
      [assistantMessage('done')],
    ]);
    const agent = new Agent({ name: 'bank', model, tools: [counterTool('transfer', ran)] });
    const runner = runnerFor(gate);

    const first = await runner.run(agent, 'send 700');
    first.state.approve(first.interruptions[0]!, { alwaysApprove: true });
    const second = await runner.run(agent, first.state);

    expect(ran).toEqual([700]);
    expect(asked.map((r) => (r.call.args as { amount: number }).amount)).toEqual([700, 9000]);
    const humans = audit.records.filter((r) => r.kind === 'human_decision');
    expect(humans).toHaveLength(1);
    expect(humans[0]?.call.callId).toBe('call_1');
    expect(getDecisions(second).get('call_2')).toMatchObject({ verdict: 'deny', error: { code: 'HUMAN_ANSWER_MISSING' } });
  });
});

describe('sticky SDK approvals with several pending calls', () => {
  it('alwaysApprove on one of two pending calls answers neither: nothing runs without its own answer', async () => {
    const { gate, audit } = setup(REVIEW);
    const ran: unknown[] = [];
    const model = new ScriptedModel([
      [functionCall('transfer', { amount: 700 }, { callId: 'call_1' }), functionCall('transfer', { amount: 9000 }, { callId: 'call_2' })],
      [assistantMessage('done')],
    ]);
    const agent = new Agent({ name: 'bank', model, tools: [counterTool('transfer', ran)] });
    const runner = runnerFor(gate);
    const first = await runner.run(agent, 'send both');
    expect(first.interruptions).toHaveLength(2);
    first.state.approve(first.interruptions[0]!, { alwaysApprove: true });
    const second = await runner.run(agent, first.state);
    expect(ran).toEqual([]);
    expect(audit.records.filter((r) => r.kind === 'human_decision')).toHaveLength(0);
    expect(getDecisions(second).get('call_2')).toMatchObject({ verdict: 'deny', error: { code: 'HUMAN_ANSWER_MISSING' } });
  });

  it('per-call approvals of both pending calls run each once', async () => {
    const { gate } = setup(REVIEW);
    const ran: unknown[] = [];
    const model = new ScriptedModel([
      [functionCall('transfer', { amount: 700 }, { callId: 'call_1' }), functionCall('transfer', { amount: 9000 }, { callId: 'call_2' })],
      [assistantMessage('done')],
    ]);
    const agent = new Agent({ name: 'bank', model, tools: [counterTool('transfer', ran)] });
    const runner = runnerFor(gate);
    const first = await runner.run(agent, 'send both');
    for (const item of first.interruptions) first.state.approve(item);
    await runner.run(agent, first.state);
    expect([...ran].sort()).toEqual([700, 9000]);
  });
});

describe('tool names the SDK rewrites', () => {
  it("tool({ name: 'db.drop' }) (called db_drop) is matched by 'db.*' and reviewed under its declared spelling", async () => {
    const { gate, asked } = setup(DENY, { highStakes: ['db.*'] });
    const ran: unknown[] = [];
    const drop = counterTool('db.drop', ran);
    expect(drop.name).toBe('db_drop'); // the SDK's rewrite
    const model = new ScriptedModel([[functionCall('db_drop', { amount: 1 }, { callId: 'c1' })], [assistantMessage('done')]]);
    const agent = new Agent({ name: 'dba', model, tools: [drop] });

    await runnerFor(gate).run(agent, 'drop it');

    expect(ran).toHaveLength(0);
    expect(asked.map((r) => r.call.tool)).toEqual(['db.drop']);
  });

  it("exact names with '-', ' ', ':' and '/' are matched too", async () => {
    for (const declared of ['deploy-prod', 'deploy prod', 'ops:deploy', 'ops/deploy.prod']) {
      const { gate, asked } = setup(DENY, { highStakes: [declared] });
      const ran: unknown[] = [];
      const t = counterTool(declared, ran);
      const model = new ScriptedModel([[functionCall(t.name, { amount: 1 }, { callId: 'c1' })], [assistantMessage('done')]]);
      await runnerFor(gate).run(new Agent({ name: 'ops', model, tools: [t] }), 'go');
      expect(ran, declared).toHaveLength(0);
      expect(asked.map((r) => r.call.tool), declared).toEqual([declared]);
    }
  });
});

describe('namespaced tools', () => {
  it("a tool in toolNamespace({ name: 'billing' }) is matched by 'billing.*' (the name the model calls is billing.refund)", async () => {
    const { gate, asked } = setup(DENY, { highStakes: ['billing.*'] });
    const ran: unknown[] = [];
    const tools = toolNamespace({ name: 'billing', description: 'billing tools', tools: [counterTool('refund', ran)] });
    const model = new ScriptedModel([[functionCall('refund', { amount: 5 }, { callId: 'c1', namespace: 'billing' })], [assistantMessage('done')]]);
    await runnerFor(gate).run(new Agent({ name: 'billing-bot', model, tools }), 'refund');
    expect(ran).toHaveLength(0);
    expect(asked.map((r) => r.call.tool)).toEqual(['billing.refund']);
  });
});

describe('one Agent, several runners and gates', () => {
  const ran: unknown[] = [];
  const shared = new Agent({ name: 'bank', tools: [counterTool('transfer', ran)] }); // module-level, no model
  const script = (amount: number) => new ScriptedModel([[functionCall('transfer', { amount }, { callId: 'call_1' })], [assistantMessage('done')]]);

  it('a later runner with another gate does not inherit the earlier gate (even a closed, failing one)', async () => {
    ran.length = 0;
    const a = setup('down');
    await runnerFor(a.gate, script(1)).run(shared, 'go');
    expect(ran).toEqual([]);
    const b = setup(ALLOW);
    await runnerFor(b.gate, script(2)).run(shared, 'go');
    expect(ran).toEqual([2]);
    expect(a.asked).toHaveLength(1);
    expect(b.asked).toHaveLength(1);
  });

  it('hooks made per request do not pile up on the shared agent', async () => {
    ran.length = 0;
    const t0 = shared.tools[0] as { needsApproval: unknown };
    let firstNeedsApproval: unknown;
    for (let i = 0; i < 25; i++) {
      const g = setup(ALLOW);
      await runnerFor(g.gate, script(i)).run(shared, 'go');
      expect(g.asked).toHaveLength(1);
      firstNeedsApproval ??= t0.needsApproval;
      expect(t0.needsApproval).toBe(firstNeedsApproval); // not re-wrapped per request
    }
    expect(ran).toHaveLength(25);
    const t = shared.tools[0] as { inputGuardrails?: unknown[]; outputGuardrails?: unknown[] };
    expect(t.inputGuardrails?.length).toBeLessThanOrEqual(1);
    expect(t.outputGuardrails?.length).toBeLessThanOrEqual(1);
  });

  it('concurrent runs of the same agent on two runners each use their own gate', async () => {
    ran.length = 0;
    let releaseA!: () => void;
    const aWaits = new Promise<void>((r) => (releaseA = r));
    const a = setup(async () => {
      await aWaits; // A answers only after B was asked: the two runs interleave
      return DENY;
    });
    const b = setup(() => {
      releaseA();
      return ALLOW;
    });
    await Promise.all([runnerFor(a.gate, script(10)).run(shared, 'a'), runnerFor(b.gate, script(20)).run(shared, 'b')]);
    expect(ran).toEqual([20]);
    expect(a.asked.map((r) => (r.call.args as { amount: number }).amount)).toEqual([10]);
    expect(b.asked.map((r) => (r.call.args as { amount: number }).amount)).toEqual([20]);
  });
});

describe('the design holds for the flows it must keep', () => {
  it('a RunState resumed in a fresh process (new gate, new hooks, new agent) runs the approved call once', async () => {
    const ran: unknown[] = [];
    const first = setup(REVIEW);
    const model1 = new ScriptedModel([[functionCall('transfer', { amount: 700 }, { callId: 'call_1' })]]);
    const r1 = await runnerFor(first.gate).run(new Agent({ name: 'bank', model: model1, tools: [counterTool('transfer', ran)] }), 'send 700');
    const saved = r1.state.toString();

    const second = setup(REVIEW); // the reviewer answers `review` again: only the human's answer lets it run
    const agent2 = new Agent({ name: 'bank', model: new ScriptedModel([[assistantMessage('done')]]), tools: [counterTool('transfer', ran)] });
    const restored = await RunState.fromString(agent2, saved);
    restored.approve(restored.getInterruptions()[0]!);
    const r2 = await runnerFor(second.gate).run(agent2, restored);

    expect(ran).toEqual([700]);
    expect(getDecisions(r2).get('call_1')).toMatchObject({ verdict: 'allow', source: 'human' });
    expect(second.audit.records.map((r) => r.kind)).toEqual(['review', 'human_decision', 'outcome']);
  });

  it('a renamed tool sent for review runs once after state.approve', async () => {
    const { gate, audit } = setup(REVIEW, { highStakes: ['db.drop'] });
    const ran: unknown[] = [];
    const model = new ScriptedModel([[functionCall('db_drop', { amount: 1 }, { callId: 'c1' })], [assistantMessage('done')]]);
    const agent = new Agent({ name: 'dba', model, tools: [counterTool('db.drop', ran)] });
    const runner = runnerFor(gate);
    const first = await runner.run(agent, 'drop');
    expect(first.interruptions).toHaveLength(1);
    first.state.approve(first.interruptions[0]!);
    await runner.run(agent, first.state);
    expect(ran).toEqual([1]);
    expect(audit.records.map((r) => [r.kind, r.call.tool])).toEqual([['review', 'db.drop'], ['human_decision', 'db.drop'], ['outcome', 'db.drop']]);
  });

  it('a streamed run of a shared agent is decided by its own runner\'s gate', async () => {
    const ran: unknown[] = [];
    const agent = new Agent({ name: 'bank', tools: [counterTool('transfer', ran)] });
    const a = setup(DENY);
    const b = setup(ALLOW);
    const script = (amount: number) => new ScriptedModel([[functionCall('transfer', { amount }, { callId: 'call_1' })], [assistantMessage('done')]]);
    const sa = await runnerFor(a.gate, script(1)).run(agent, 'a', { stream: true });
    const sb = await runnerFor(b.gate, script(2)).run(agent, 'b', { stream: true });
    await Promise.all([sa.completed, sb.completed]);
    expect(ran).toEqual([2]);
    expect(a.asked).toHaveLength(1);
    expect(b.asked).toHaveLength(1);
  });

  it('a streamed run consumed outside the runner call is still decided by its gate', async () => {
    const ran: unknown[] = [];
    const agent = new Agent({ name: 'bank', tools: [counterTool('transfer', ran)] });
    const a = setup(DENY);
    const script = new ScriptedModel([[functionCall('transfer', { amount: 3 }, { callId: 'call_1' })], [assistantMessage('done')]]);
    const stream = await runnerFor(a.gate, script).run(agent, 'a', { stream: true });
    const events: string[] = [];
    for await (const ev of stream) events.push(ev.type);
    await stream.completed;
    expect(events.length).toBeGreaterThan(0);
    expect(ran).toEqual([]);
    expect(a.asked).toHaveLength(1);
  });

  it('an agent run by a runner without a gate after an attached one is warned about (its tools are not gated there)', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const ran: unknown[] = [];
      const agent = new Agent({ name: 'loose', tools: [counterTool('transfer', ran)] });
      const script = () => new ScriptedModel([[functionCall('transfer', { amount: 1 }, { callId: 'call_1' })], [assistantMessage('done')]]);
      await runnerFor(setup(DENY).gate, script()).run(agent, 'a');
      expect(ran).toEqual([]);
      await new Runner({ tracingDisabled: true, model: script() }).run(agent, 'b');
      expect(warn.mock.calls.flat().join(' ')).toMatch(/agent "loose" .*NOT gated/);
    } finally {
      warn.mockRestore();
    }
  });

  it("governAgent reaches asTool() sub-agents when the agent runs, and a second gate on the same agent is refused", async () => {
    const { gate, asked } = setup(DENY, { highStakes: ['deploy_prod'] });
    const ran: unknown[] = [];
    const inner = new Agent({ name: 'deployer', model: new ScriptedModel([[functionCall('deploy_prod', { amount: 1 }, { callId: 'i1' })], [assistantMessage('inner done')]]), tools: [counterTool('deploy_prod', ran)] });
    const boss = new Agent({
      name: 'boss',
      model: new ScriptedModel([[functionCall('deployer', { input: 'go' }, { callId: 'o1' })], [assistantMessage('done')]]),
      tools: [inner.asTool({ toolName: 'deployer', toolDescription: 'deploys' })],
    });
    governAgent(boss, gate);
    await new Runner({ tracingDisabled: true }).run(boss, 'deploy');
    expect(ran).toHaveLength(0);
    expect(asked.map((r) => r.call.tool)).toEqual(['deploy_prod']);

    const other = setup(ALLOW);
    expect(() => governAgent(boss, other.gate)).toThrow(AlreadyGovernedError);
    expect(() => governAgent(boss, gate)).not.toThrow();
  });
});

describe('zod-normalised input', () => {
  it('a call whose schema fills in defaults runs once after state.approve (needsApproval sees parsed input, the guardrail the raw call)', async () => {
    const { gate } = setup(REVIEW);
    const ran: unknown[] = [];
    const t = tool({
      name: 'transfer',
      description: 'send',
      parameters: z.object({ amount: z.number(), memo: z.string().default('none') }),
      execute: async ({ amount, memo }) => {
        ran.push(`${amount}:${memo}`);
        return 'ok';
      },
    });
    const model = new ScriptedModel([[functionCall('transfer', { amount: 700 }, { callId: 'call_1' })], [assistantMessage('done')]]);
    const agent = new Agent({ name: 'bank', model, tools: [t] });
    const runner = runnerFor(gate);
    const first = await runner.run(agent, 'send');
    expect(first.interruptions).toHaveLength(1);
    first.state.approve(first.interruptions[0]!);
    await runner.run(agent, first.state);
    expect(ran).toEqual(['700:none']);
  });
});

describe('local shell: what runs is what was reviewed, once', () => {
  function shellAgent(ran: string[][], steps: number) {
    const shell: Shell = {
      async run(action) {
        ran.push([...action.commands]);
        return { output: [{ stdout: 'ok', stderr: '', outcome: { type: 'exit', exitCode: 0 } }] };
      },
    };
    const model = new ScriptedModel([
      [{ type: 'shell_call', callId: 'sh_1', status: 'completed', action: { commands: ['ls /data'] } }],
      ...Array.from({ length: steps }, () => [assistantMessage('done')]),
    ]);
    return new Agent({ name: 'ops', model, tools: [shellTool({ shell })] });
  }
  const onlyLs = (req: ReviewRequest): Answer =>
    JSON.stringify(req.call.args).includes('rm -rf') ? DENY : ALLOW;

  it('a listener that rewrites the command after the review does not get the rewrite run', async () => {
    const { gate } = setup(onlyLs, { highStakes: ['shell'] });
    const ran: string[][] = [];
    const agent = shellAgent(ran, 1);
    agent.on('agent_tool_start', (_ctx, _tool, details) => {
      const action = (details.toolCall as { action?: { commands: string[] } }).action;
      if (action) action.commands[0] = 'rm -rf /data';
    });
    await runnerFor(gate).run(agent, 'look');
    expect(ran.flat()).not.toContain('rm -rf /data');
  });

  it('replaying an approved shell call does not run it again', async () => {
    const { gate } = setup(REVIEW, { highStakes: ['shell'] });
    const ran: string[][] = [];
    const agent = shellAgent(ran, 2);
    const runner = runnerFor(gate);
    const first = await runner.run(agent, 'look');
    first.state.approve(first.interruptions[0]!);
    const saved = first.state.toString();
    await runner.run(agent, first.state);
    await runner.run(agent, await RunState.fromString(agent, saved));
    expect(ran).toEqual([['ls /data']]);
  });
});
