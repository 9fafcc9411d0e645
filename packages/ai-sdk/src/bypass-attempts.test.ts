// Issue 8: ways to get a high-stakes AI SDK tool call to run without an allowing Decision —
// replayed approval continuations, a signed approval moved to another call, tools named only by a
// `{ tool, when }` predicate.
import { callbackReviewer, createGate, type HighStakesSpec } from '@toolgate/core';
import type { ModelMessage } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ToolNameMismatchError } from './errors';
import type { GovernanceOptions } from './options';
import { approvalResponse, harnesses, toolMessageSeen, type Harness } from './test-harness';
import { toolApproval } from './tool-approval';
import { withGovernance } from './with-governance';

const SECRET = 'test-secret-0123456789abcdef0123456789';

function setup(h: Harness, highStakes: HighStakesSpec = ['transfer']) {
  const reviews: unknown[] = [];
  const gate = createGate({
    reviewer: callbackReviewer(({ call }) => {
      reviews.push(call.args);
      return (call.args as { amount: number }).amount > 100 ? { verdict: 'review', reason: 'large' } : { verdict: 'allow', reason: 'small' };
    }),
    highStakes,
    telemetry: false,
  });
  const ran: number[] = [];
  const raw = {
    transfer: h.tool({
      description: 'Move money',
      inputSchema: z.object({ amount: z.number(), to: z.string() }),
      execute: async ({ amount }: { amount: number }) => {
        ran.push(amount);
        return { sent: amount };
      },
    }),
  };
  const options: GovernanceOptions = { approvalSecret: SECRET };
  return { gate, ran, reviews, tools: withGovernance(raw, gate, options), options };
}

/** Runs until the approval request, approves it, and returns the continuation's messages. */
async function approvedContinuation(h: Harness, s: ReturnType<typeof setup>) {
  const model = h.script([{ calls: [{ tool: 'transfer', input: { amount: 500, to: 'eve' }, id: 'call-1' }] }, { text: 'sent' }]);
  const messages: ModelMessage[] = [{ role: 'user', content: 'send 500' }];
  const approval = toolApproval(s.gate, s.options);
  const r1 = await h.generate({ model, tools: s.tools, messages, approvalSecret: SECRET, toolApproval: approval });
  expect(r1.approvalRequests).toHaveLength(1);
  messages.push(...r1.responseMessages, approvalResponse(r1.approvalRequests, true, 'ok by alice'));
  return { model, messages, approval };
}

describe.each(harnesses)('bypass attempts ($name)', (h) => {
  it('replaying an approved continuation does not run the tool a second time', async () => {
    const s = setup(h);
    const { model, messages, approval } = await approvedContinuation(h, s);
    await h.generate({ model, tools: s.tools, messages, approvalSecret: SECRET, toolApproval: approval });
    expect(s.ran).toEqual([500]);

    const replay = h.script([{ text: 'again' }]);
    await h.generate({ model: replay, tools: s.tools, messages: [...messages], approvalSecret: SECRET, toolApproval: approval });
    expect(s.ran).toEqual([500]);
    const seen = toolMessageSeen(replay, 0)[0]?.output;
    expect(seen?.type).toBe('execution-denied');
    expect(seen?.reason).toContain('already ran');
  });

  it('a signed approval moved to another tool call id does not run it', async () => {
    const s = setup(h);
    const { messages } = await approvedContinuation(h, s);
    const moved = JSON.parse(JSON.stringify(messages).replaceAll('"call-1"', '"call-2"')) as ModelMessage[];
    // Without experimental_toolApprovalSecret the SDK does not check the signature: the adapter must.
    await h.generate({ model: h.script([{ text: 'x' }]), tools: s.tools, messages: moved, toolApproval: toolApproval(s.gate, s.options) });
    expect(s.ran).toEqual([]);
  });

  it('a signed approval with the arguments changed (500 → 5000) does not run it', async () => {
    const s = setup(h);
    const { messages } = await approvedContinuation(h, s);
    const raised = JSON.parse(JSON.stringify(messages).replaceAll('"amount":500', '"amount":5000')) as ModelMessage[];
    expect(JSON.stringify(raised)).toContain('"amount":5000');
    const model = h.script([{ text: 'x' }]);
    await h.generate({ model, tools: s.tools, messages: raised, toolApproval: toolApproval(s.gate, s.options) });
    expect(s.ran).toEqual([]);
    expect(toolMessageSeen(model, 0)[0]?.output?.reason).toContain('invalid signature');
  });

  it('a tool that only a { tool, when } predicate names is governed (default govern: matching)', async () => {
    const s = setup(h, [{ tool: 'transfer', when: (a) => (a as { amount?: number } | undefined)?.amount !== undefined && (a as { amount: number }).amount > 100 }]);
    const model = h.script([
      { calls: [{ tool: 'transfer', input: { amount: 5000, to: 'eve' }, id: 'big' }, { tool: 'transfer', input: { amount: 5, to: 'eve' }, id: 'small' }] },
      { text: 'x' },
    ]);
    await h.generate({ model, tools: s.tools });
    expect(s.ran).toEqual([5]);
    expect(s.reviews).toEqual([{ amount: 5000, to: 'eve' }]);
  });

  it('a provider tool listed by its provider name but keyed otherwise is refused at wrap time, not left ungoverned', () => {
    const gate = createGate({ reviewer: callbackReviewer(() => ({ verdict: 'deny', reason: 'no' })), highStakes: ['bash'], telemetry: false });
    const shell = h.tool({
      type: 'provider',
      id: 'anthropic.bash_20250124',
      args: {},
      isProviderExecuted: false,
      inputSchema: z.object({ command: z.string() }),
      execute: async () => 'ran',
    });
    let error: unknown;
    try {
      withGovernance({ shell }, gate);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ToolNameMismatchError);
    expect((error as ToolNameMismatchError).code).toBe('TOOL_NAME_MISMATCH');
    expect((error as Error).message).toContain('Add "shell" to highStakes');
    // Named by its key, it is governed.
    const governed = withGovernance({ shell }, createGate({ reviewer: callbackReviewer(() => ({ verdict: 'deny', reason: 'no' })), highStakes: ['shell', 'bash'], telemetry: false }));
    expect(governed.shell).not.toBe(shell);
  });
});
