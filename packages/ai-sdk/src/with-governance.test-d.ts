import { callbackReviewer, createGate } from '@toolgate/core';
import { generateText, stepCountIs, tool, type InferToolInput, type InferToolOutput, type ToolSet } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { decisionsOf, isGovernanceDenial, toolApproval, withGovernance, type GovernanceDenial } from './index';
import type { Decision } from '@toolgate/core';

const gate = createGate({ reviewer: callbackReviewer(() => ({ verdict: 'allow' })), highStakes: ['transfer'] });
const raw = {
  transfer: tool({
    inputSchema: z.object({ amount: z.number(), to: z.string() }),
    execute: async ({ amount, to }) => ({ ok: true as const, amount, to }),
  }),
  note: tool({
    inputSchema: z.object({ text: z.string() }),
    contextSchema: z.object({ userId: z.string() }),
    execute: async ({ text }, { context }) => `${context.userId}: ${text}`,
  }),
};

describe('withGovernance types', () => {
  it('returns exactly the tool set type it was given', () => {
    const tools = withGovernance(raw, gate);
    expectTypeOf(tools).toEqualTypeOf<typeof raw>();
    expectTypeOf<InferToolInput<typeof tools.transfer>>().toEqualTypeOf<{ amount: number; to: string }>();
    expectTypeOf<InferToolOutput<typeof tools.transfer>>().toEqualTypeOf<{ ok: true; amount: number; to: string }>();
  });

  it('works in generic code over ToolSet', () => {
    const govern = <T extends ToolSet>(t: T): T => withGovernance(t, gate);
    expectTypeOf(govern(raw)).toEqualTypeOf<typeof raw>();
  });

  it('keeps generateText inference: typed results, required toolsContext, toolApproval accepted', async () => {
    const tools = withGovernance(raw, gate);
    const model = new MockLanguageModelV4();
    const r = await generateText({
      model,
      tools,
      prompt: 'x',
      stopWhen: stepCountIs(3),
      toolsContext: { note: { userId: 'u1' } },
      toolApproval: toolApproval(gate),
    });
    for (const tr of r.toolResults) {
      if (tr.dynamic) continue;
      if (tr.toolName === 'transfer') {
        expectTypeOf(tr.input).toEqualTypeOf<{ amount: number; to: string }>();
        const out: unknown = tr.output;
        if (isGovernanceDenial(out)) expectTypeOf(out).toEqualTypeOf<GovernanceDenial>();
      }
    }
    // @ts-expect-error -- `note` declares contextSchema, so toolsContext is still required after wrapping
    await generateText({ model, tools, prompt: 'x' });
  });

  it('decisionsOf gives Decisions by tool call id', () => {
    expectTypeOf(decisionsOf(withGovernance(raw, gate)).get('call-1')).toEqualTypeOf<Decision | undefined>();
  });

  it('rejects wrong options', () => {
    // @ts-expect-error -- onDeny is 'return' | 'throw' | 'abort'
    withGovernance(raw, gate, { onDeny: 'ignore' });
  });
});
