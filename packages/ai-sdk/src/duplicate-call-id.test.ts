// One toolCallId for two calls in one model turn (the hole found in the LangGraph adapter):
// Decisions, approvals and results are keyed by call id, so a human who approves the call they were
// shown must not thereby authorise a sibling call that reuses its id with other arguments. Through
// the AI SDK's own approval flow (generateText and streamText, ai@7 and ai@6, scripted models); the
// decisive assertions are the side-effect counter and the input the transfer body got.
import { callbackReviewer, createGate, memoryAudit } from '@toolgate/core';
import type { ModelMessage } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { editedApprovalResponse } from './edit-approval';
import { harnesses, type Harness, type RunArgs, type RunResult, type Turn } from './test-harness';
import { toolApproval } from './tool-approval';
import { withGovernance } from './with-governance';

const SECRET = 'test-secret-0123456789abcdef0123456789';

type Args = { amount: number; to: string };

/** Over 100 needs a human (so 500 and 5 000 both do); 100 or less runs. */
function setup(h: Harness) {
  const gate = createGate({
    reviewer: callbackReviewer(({ call }) =>
      (call.args as Args).amount > 100 ? { verdict: 'review', reason: 'over 100 needs a human', decidedBy: 'policy' } : { verdict: 'allow', reason: 'within limits', decidedBy: 'policy' },
    ),
    highStakes: ['transfer'],
    audit: memoryAudit(),
    telemetry: false,
  });
  const ran: Args[] = [];
  const options = { approvalSecret: SECRET };
  const tools = withGovernance(
    {
      transfer: h.tool({
        description: 'Move money',
        inputSchema: z.object({ amount: z.number(), to: z.string() }),
        execute: async (input: Args) => {
          ran.push({ ...input });
          return { sent: input.amount, to: input.to };
        },
      }),
    },
    gate,
    options,
  );
  return { ran, tools, approval: toolApproval(gate, options) };
}

const modes = ['generateText', 'streamText'] as const;

/** The approval requests a human is shown, with the input each one shows. */
function shown(r: RunResult): Array<{ approvalId: string; input: Args }> {
  return r.parts
    .filter((p) => p.type === 'tool-approval-request' && !p.isAutomatic)
    .map((p) => {
      const call = p.toolCall as { input: unknown };
      return { approvalId: p.approvalId as string, input: (typeof call.input === 'string' ? JSON.parse(call.input) : call.input) as Args };
    });
}

type Answer = 'approve' | { edit: Args } | undefined;

/**
 * The turn with every call on id "x"; the human answers each request by what it shows (`answer`:
 * approve, approve with an edit, or no answer); then the continuation. A refusal by the SDK (a
 * thrown error) ends the scenario: the assertions are on what ran.
 */
async function scenario(h: Harness, mode: (typeof modes)[number], calls: Args[], answer: (shown: Args) => Answer) {
  const env = setup(h);
  const turns: Turn[] = [{ calls: calls.map((input) => ({ tool: 'transfer', input, id: 'x' })) }, { text: 'done' }, { text: 'done' }, { text: 'done' }];
  const model = mode === 'generateText' ? h.script(turns) : h.scriptStream(turns);
  const run = (a: RunArgs) => (mode === 'generateText' ? h.generate(a) : h.streamRun(a));
  const messages: ModelMessage[] = [{ role: 'user', content: 'pay' }];
  /** The exact input a human authorised: an approved request's input, or an edit's. */
  const authorised: Args[] = [];
  let ranBeforeHuman: Args[] | undefined;
  try {
    const first = await run({ model, tools: env.tools, messages, approvalSecret: SECRET, toolApproval: env.approval });
    ranBeforeHuman = [...env.ran];
    messages.push(...first.responseMessages);
    const content = [];
    for (const r of shown(first)) {
      const a = answer(r.input);
      if (a === 'approve') {
        authorised.push(r.input);
        content.push({ type: 'tool-approval-response' as const, approvalId: r.approvalId, approved: true });
      } else if (a) {
        authorised.push(a.edit);
        content.push(editedApprovalResponse({ approvalId: r.approvalId, input: a.edit }));
      }
    }
    if (content.length > 0) {
      messages.push({ role: 'tool', content });
      await run({ model, tools: env.tools, messages: [...messages], approvalSecret: SECRET, toolApproval: env.approval });
    }
  } catch {
    // refused by the SDK (e.g. a missing tool result or an approval signature that does not match)
  }
  if (ranBeforeHuman) expect(ranBeforeHuman.filter((a) => a.amount > 100)).toEqual([]); // nothing high-stakes before a human answered
  return { ran: env.ran, authorised };
}

const bob = (amount: number): Args => ({ amount, to: 'bob' });

describe.each(harnesses)('one call id for two calls of one tool in a model turn ($name)', (h) => {
  describe.each(modes)('%s', (mode) => {
    for (const order of [[500, 5_000], [5_000, 500]]) {
      it(`${order.join(' and ')} share id x; the human approves the 500 they were shown: the 5 000 body never runs`, async () => {
        const r = await scenario(h, mode, order.map(bob), (a) => (a.amount === 500 ? 'approve' : undefined));
        expect(r.ran.filter((a) => a.amount === 5_000)).toEqual([]);
        // Nothing ran that a human did not approve for its exact input, and nothing twice.
        for (const a of r.ran) expect(r.authorised).toContainEqual(a);
        expect(r.ran.length).toBeLessThanOrEqual(1);
      });

      it(`${order.join(' and ')} share id x; the human edits the 500 to 400: only 400 may run, never 5 000`, async () => {
        const r = await scenario(h, mode, order.map(bob), (a) => (a.amount === 500 ? { edit: bob(400) } : undefined));
        expect(r.ran.filter((a) => a.amount === 5_000 || a.amount === 500)).toEqual([]);
        for (const a of r.ran) expect([bob(400)]).toContainEqual(a);
        expect(r.ran.length).toBeLessThanOrEqual(1);
      });
    }

    for (const order of [[50, 5_000], [5_000, 50]]) {
      it(`${order.join(' and ')} share id x (one low-stakes), no human answer: the 5 000 never runs`, async () => {
        const r = await scenario(h, mode, order.map(bob), () => undefined);
        expect(r.ran.filter((a) => a.amount === 5_000)).toEqual([]);
        for (const a of r.ran) expect([bob(50)]).toContainEqual(a);
        expect(r.ran.length).toBeLessThanOrEqual(1);
      });

      it(`${order.join(' and ')} share id x (one low-stakes), the human approves what they were shown: each runs at most once, as shown`, async () => {
        const r = await scenario(h, mode, order.map(bob), () => 'approve');
        expect(r.authorised).not.toContainEqual(bob(50)); // the low-stakes call is never put to a human
        for (const a of r.ran) expect([bob(50), ...r.authorised]).toContainEqual(a);
        expect(r.ran.filter((a) => a.amount === 5_000).length).toBeLessThanOrEqual(1);
        expect(r.ran.filter((a) => a.amount === 50).length).toBeLessThanOrEqual(1);
      });
    }
  });
});
