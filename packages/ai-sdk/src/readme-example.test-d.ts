// The README quick start's API use, type-checked against ai@7 (the README's own snippet is also run by the docs snippet test).
import { decisionsOf, isGovernanceDenial, toolApproval, withGovernance, type GovernanceOptions } from '@toolgate/ai-sdk';
import { callbackReviewer, createGate } from '@toolgate/core';
import { generateText, isStepCount, tool, type LanguageModel, type ModelMessage } from 'ai';
import { expectTypeOf, it } from 'vitest';
import { z } from 'zod';

declare const model: LanguageModel; // openai('gpt-4o-mini'), anthropic(...), a MockLanguageModelV4, …
declare const APPROVAL_SECRET: string; // e.g. crypto.randomBytes(32).toString('base64url'), kept server-side

export async function quickStart() {
  const gate = createGate({
    reviewer: callbackReviewer(({ call }) =>
      (call.args as { amount: number }).amount > 1000
        ? { verdict: 'review', reason: 'over 1 000 needs a human' }
        : { verdict: 'allow', reason: 'within limits' }),
    highStakes: ['transfer'],
  });

  const options: GovernanceOptions = { approvalSecret: APPROVAL_SECRET };
  const tools = withGovernance({
    transfer: tool({
      description: 'Transfer money',
      inputSchema: z.object({ amount: z.number(), to: z.string() }),
      execute: async ({ amount, to }) => ({ sent: amount, to }),
    }),
  }, gate, options);

  const settings = {
    model,
    tools,
    toolApproval: toolApproval(gate, options), // ai@7; on ai@6 leave it out (needsApproval does it)
    experimental_toolApprovalSecret: APPROVAL_SECRET,
    stopWhen: isStepCount(5),
  };
  const messages: ModelMessage[] = [{ role: 'user', content: 'Send 5 000 to acme' }];
  const first = await generateText({ ...settings, messages });

  // A `review` verdict paused the run: ask your human, then continue with their answer.
  const requests = first.content.flatMap((p) => (p.type === 'tool-approval-request' ? [p] : []));
  messages.push(...first.responseMessages, {
    role: 'tool',
    content: requests.map((r) => ({ type: 'tool-approval-response' as const, approvalId: r.approvalId, approved: true, reason: 'ok by alice' })),
  });
  const second = await generateText({ ...settings, messages });

  for (const call of first.toolCalls) {
    const decision = decisionsOf(tools).get(call.toolCallId); // verdict, source, reviewId, proof, …
    console.log(call.toolName, decision?.verdict, decision?.source);
  }
  // Approved calls ran before the continuation's first step: their results are in responseMessages.
  for (const message of second.responseMessages) {
    if (message.role !== 'tool') continue;
    for (const part of message.content) if (part.type === 'tool-result') console.log(part.toolName, part.output);
  }
  // Within one run (no continuation), a denied output in toolResults is a GovernanceDenial.
  for (const r of first.toolResults) if (isGovernanceDenial(r.output)) console.log('denied:', r.output.reason);
  await gate.close();
}

it('compiles', () => {
  expectTypeOf(quickStart).returns.resolves.toBeVoid();
});
