// The human loop on the OpenAI Agents SDK (issue 11): approve, approve with edits (a toolgate
// helper on the RunState), reject with a message, expiry, and resumes that never run a call twice —
// against the real SDK with a scripted model; every body counts its runs and the arguments it got.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, Runner, RunState, tool } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { createGate, memoryAudit, OptionsError, policyReviewer, type GateLedger, type GateOptions } from '@toolgate/core';
import { sqliteLedger } from '@toolgate/core/ledger-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { approveWithEdits, getDecisions, GovernanceHooks } from './index';

// transfer: over 50,000 is denied, over 1,000 needs a human, the rest runs.
const bank = () =>
  policyReviewer({
    default: 'allow',
    rules: [
      { name: 'huge', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 50_000 }], verdict: 'deny', reason: 'over 50,000 is never allowed' },
      { name: 'big', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 1_000 }], verdict: 'review', reason: 'over 1,000 needs a human' },
    ],
  });

const ledgers: GateLedger[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(ledgers.splice(0).map((l) => l.close?.()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** One process: a gate, hooks, runner and agent whose transfer body counts its runs (the args it got). */
function world(opts: { ran?: unknown[]; script?: ConstructorParameters<typeof ScriptedModel>[0]; gate?: Partial<GateOptions>; governed?: boolean } = {}) {
  const ran = opts.ran ?? [];
  const audit = memoryAudit();
  const gate = createGate({ reviewer: bank(), highStakes: ['transfer'], audit, telemetry: false, ...opts.gate });
  const transfer = tool({
    name: 'transfer',
    description: 'send money',
    parameters: z.object({ to: z.string(), amount: z.number() }),
    execute: async (args) => {
      ran.push(args);
      return `sent ${args.amount} to ${args.to}`;
    },
  });
  const model = new ScriptedModel(opts.script ?? [[functionCall('transfer', { to: 'bob', amount: 25_000 }, { callId: 'call_1' })], [assistantMessage('done')]]);
  const agent = new Agent({ name: 'bank', model, tools: [transfer] });
  const runner = opts.governed === false ? new Runner({ tracingDisabled: true }) : new GovernanceHooks(gate).attach(new Runner({ tracingDisabled: true }));
  return { gate, audit, ran, model, agent, runner };
}

/** The last function_call_result the model received. */
function modelSaw(model: ScriptedModel): string | undefined {
  for (const call of [...model.calls].reverse()) {
    const items = (Array.isArray(call.request.input) ? call.request.input : []) as Array<{ type?: string; output?: unknown }>;
    const out = items.filter((i) => i.type === 'function_call_result').at(-1);
    if (out) return JSON.stringify(out.output);
  }
  return undefined;
}

async function interrupted(w: ReturnType<typeof world>) {
  const first = await w.runner.run(w.agent, 'send 25,000 to bob');
  expect(first.interruptions).toHaveLength(1);
  expect(w.ran).toHaveLength(0);
  return { state: first.state, item: first.interruptions[0]! };
}

describe('human loop on a RunState', () => {
  it('approve: the call runs once, as asked', async () => {
    const w = world();
    const { state, item } = await interrupted(w);
    state.approve(item);
    const result = await w.runner.run(w.agent, state);
    expect(w.ran).toEqual([{ to: 'bob', amount: 25_000 }]);
    expect(getDecisions(result).get('call_1')).toMatchObject({ verdict: 'allow', source: 'human' });
    expect(getDecisions(result).get('call_1')?.edited).toBeUndefined();
  });

  it('approveWithEdits: the body runs once with exactly the edited args; the model is told it ran edited', async () => {
    const w = world();
    const { state, item } = await interrupted(w);
    approveWithEdits(state, item, { to: 'bob', amount: 2_500 }, { approver: 'alice' });
    const result = await w.runner.run(w.agent, state);

    expect(w.ran).toEqual([{ to: 'bob', amount: 2_500 }]);
    const saw = modelSaw(w.model);
    expect(saw).toContain('sent 2500 to bob');
    expect(saw).toContain('The call ran with edited arguments: {\\"amount\\":2500,\\"to\\":\\"bob\\"}. Do not repeat the original call.');
    const d = getDecisions(result).get('call_1');
    expect(d).toMatchObject({ verdict: 'allow', source: 'human', decidedBy: 'human:alice', tool: 'transfer' });
    expect(d?.edited).toMatchObject({ args: { to: 'bob', amount: 2_500 } });
    const human = w.audit.records.filter((r) => r.kind === 'human_decision');
    expect(human.at(-1)?.meta).toMatchObject({ answer: 'edit', approver: 'alice', originalDigest: d?.edited?.originalDigest, editedDigest: d?.digest });
    expect(result.finalOutput).toBe('done');
  });

  it('an edit the policy allows outright runs once with it (source policy), and the model is told', async () => {
    const w = world();
    const { state, item } = await interrupted(w);
    approveWithEdits(state, item, { to: 'bob', amount: 500 });
    const result = await w.runner.run(w.agent, state);
    expect(w.ran).toEqual([{ to: 'bob', amount: 500 }]);
    expect(getDecisions(result).get('call_1')).toMatchObject({ verdict: 'allow', source: 'policy', edited: { args: { to: 'bob', amount: 500 } } });
    expect(modelSaw(w.model)).toContain('The call ran with edited arguments');
  });

  it('two pending calls of one tool, one edited and one approved: each runs once, with its own arguments', async () => {
    const w = world({
      script: [
        [functionCall('transfer', { to: 'bob', amount: 25_000 }, { callId: 'call_1' }), functionCall('transfer', { to: 'carol', amount: 3_000 }, { callId: 'call_2' })],
        [assistantMessage('done')],
      ],
    });
    const first = await w.runner.run(w.agent, 'pay both');
    expect(first.interruptions).toHaveLength(2);
    const byCall = (id: string) => first.interruptions.find((i) => (i.rawItem as { callId?: string }).callId === id)!;
    approveWithEdits(first.state, byCall('call_1'), { to: 'bob', amount: 2_500 });
    first.state.approve(byCall('call_2'));
    const result = await w.runner.run(w.agent, await RunState.fromString(w.agent, first.state.toString()));
    expect([...w.ran].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([{ to: 'bob', amount: 2_500 }, { to: 'carol', amount: 3_000 }]);
    expect(getDecisions(result).get('call_1')).toMatchObject({ verdict: 'allow', edited: { args: { to: 'bob', amount: 2_500 } } });
    expect(getDecisions(result).get('call_2')?.edited).toBeUndefined();
  });

  it('an edit the policy denies never runs; the model sees the denial', async () => {
    const w = world();
    const { state, item } = await interrupted(w);
    approveWithEdits(state, item, { to: 'bob', amount: 90_000 }, { approver: 'alice' });
    const result = await w.runner.run(w.agent, state);
    expect(w.ran).toEqual([]);
    expect(modelSaw(w.model)).toContain('over 50,000 is never allowed');
    expect(getDecisions(result).get('call_1')).toMatchObject({ verdict: 'deny', source: 'policy', edited: { args: { to: 'bob', amount: 90_000 } } });
  });

  it('an edit that names another tool is refused (EDIT_TOOL_CHANGED) and nothing runs', async () => {
    const w = world();
    const { state, item } = await interrupted(w);
    approveWithEdits(state, item, { to: 'bob', amount: 10 }, { toolName: 'refund' });
    const result = await w.runner.run(w.agent, state);
    expect(w.ran).toEqual([]);
    expect(getDecisions(result).get('call_1')).toMatchObject({ verdict: 'deny', error: { code: 'EDIT_TOOL_CHANGED' } });
    expect(modelSaw(w.model)).toContain('EDIT_TOOL_CHANGED');
  });

  it('reject with a message: nothing runs, the model sees the message, the gate records it as the reason', async () => {
    const w = world();
    const { state, item } = await interrupted(w);
    state.reject(item, { message: 'Not today: ask Bob to confirm his account first.' });
    const result = await w.runner.run(w.agent, state);
    expect(w.ran).toEqual([]);
    expect(modelSaw(w.model)).toContain('Not today: ask Bob to confirm his account first.');
    expect(getDecisions(result).get('call_1')).toMatchObject({ verdict: 'deny', source: 'human', reason: 'Not today: ask Bob to confirm his account first.' });
  });

  it('expired: an approval (or an edit) after the deadline does not run and reads as expired, not rejected', async () => {
    for (const answer of ['approve', 'edit'] as const) {
      let now = 1_000_000;
      const w = world({ gate: { now: () => now, reviewTimeoutMs: 60_000 } });
      const { state, item } = await interrupted(w);
      now += 120_000;
      if (answer === 'approve') state.approve(item);
      else approveWithEdits(state, item, { to: 'bob', amount: 2_500 });
      const result = await w.runner.run(w.agent, state);
      expect(w.ran).toEqual([]);
      const d = getDecisions(result).get('call_1');
      expect(d, answer).toMatchObject({ verdict: 'deny', error: { code: 'REVIEW_EXPIRED' }, decidedBy: 'expiry' });
      const saw = modelSaw(w.model) ?? '';
      expect(saw).toContain('expired');
      expect(saw).not.toContain('rejected');
    }
  });

  it('resumed twice from the same serialized state (approve, and approve with edits): the body runs once', async () => {
    for (const answer of ['approve', 'edit'] as const) {
      const script: ConstructorParameters<typeof ScriptedModel>[0] = [
        [functionCall('transfer', { to: 'bob', amount: 25_000 }, { callId: 'call_1' })],
        [assistantMessage('done')],
        [assistantMessage('done again')],
      ];
      const w = world({ script });
      const { state, item } = await interrupted(w);
      if (answer === 'approve') state.approve(item);
      else approveWithEdits(state, item, { to: 'bob', amount: 2_500 });
      const saved = state.toString();
      await w.runner.run(w.agent, await RunState.fromString(w.agent, saved));
      const again = await w.runner.run(w.agent, await RunState.fromString(w.agent, saved));
      expect(w.ran, answer).toEqual([answer === 'approve' ? { to: 'bob', amount: 25_000 } : { to: 'bob', amount: 2_500 }]);
      expect(getDecisions(again).get('call_1'), answer).toMatchObject({ verdict: 'deny', error: { code: 'ALREADY_EXECUTED' } });
    }
  });

  it('an edit survives toString / fromString into fresh processes (fresh gates, one ledger): it runs once, with the edit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-oai-edit-'));
    dirs.push(dir);
    const path = join(dir, 'ledger.db');
    const withLedger = (script?: ConstructorParameters<typeof ScriptedModel>[0], ran?: unknown[]) => {
      const ledger = sqliteLedger(path);
      ledgers.push(ledger);
      return world({ gate: { ledger }, ...(script ? { script } : {}), ...(ran ? { ran } : {}) });
    };
    const p1 = withLedger();
    const { state, item } = await interrupted(p1);
    approveWithEdits(state, item, { to: 'bob', amount: 2_500 }, { approver: 'alice' });
    const saved = state.toString();

    const ran = p1.ran;
    const p2 = withLedger([[assistantMessage('done')]], ran);
    const resumed = await p2.runner.run(p2.agent, await RunState.fromString(p2.agent, saved));
    expect(ran).toEqual([{ to: 'bob', amount: 2_500 }]);
    expect(getDecisions(resumed).get('call_1')).toMatchObject({ verdict: 'allow', source: 'human', decidedBy: 'human:alice' });
    expect(modelSaw(p2.model)).toContain('The call ran with edited arguments');

    const p3 = withLedger([[assistantMessage('done again')]], ran);
    const replay = await p3.runner.run(p3.agent, await RunState.fromString(p3.agent, saved));
    expect(ran).toEqual([{ to: 'bob', amount: 2_500 }]);
    expect(getDecisions(replay).get('call_1')).toMatchObject({ verdict: 'deny', error: { code: 'ALREADY_EXECUTED' } });
  });

  it('resumed without toolgate, an edited call stays rejected: nothing runs, neither the original nor the edit', async () => {
    const w = world();
    const { state, item } = await interrupted(w);
    approveWithEdits(state, item, { to: 'bob', amount: 2_500 });
    const saved = state.toString();
    const bare = world({ governed: false, script: [[assistantMessage('done')]], ran: w.ran });
    await bare.runner.run(bare.agent, await RunState.fromString(bare.agent, saved));
    expect(w.ran).toEqual([]);
    expect(modelSaw(bare.model)).toContain('it was not, so nothing ran');
  });

  it('approveWithEdits refuses what is not an edit of a function call, before anything is stored', async () => {
    const w = world();
    const { state, item } = await interrupted(w);
    expect(() => approveWithEdits(state, item, '{not json')).toThrow(OptionsError);
    expect(() => approveWithEdits(state, item, [1, 2] as unknown as Record<string, unknown>)).toThrow(/object/);
    expect(() => approveWithEdits(state, { rawItem: { type: 'shell_call' } } as unknown as typeof item, {})).toThrow(/function-tool interruption/);
    expect(() => approveWithEdits(state, item, {}, { approver: '' })).toThrow(/approver/);
    expect(state.toString()).not.toContain('toolgate-edit');
  });
});
