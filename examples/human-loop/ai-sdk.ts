// node examples/human-loop/ai-sdk.ts
// Edit-and-approve with the Vercel AI SDK, offline: a scripted model asks to transfer 25 000, the
// gate's policy sends it to a human, the human approves it with the amount edited to 2 500. The
// edited call is reviewed again by the gate, the tool body runs once with 2 500, and the model is
// told the call ran with edited arguments.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { decisionsOf, editedApprovalResponse, governedOptions } from '@toolgate/ai-sdk';
import { callbackReviewer, createGate } from '@toolgate/core';
import { generateText, isStepCount, tool, type ModelMessage } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { z } from 'zod';

export interface AiSdkHumanLoopResult {
  /** What the approval UI showed the human. */
  humanSaw: { tool: string; input: unknown; reason: string | undefined };
  /** The human's answer: approve, with the amount edited. */
  humanAnswered: { edit: unknown };
  /** Every input the transfer body ran with. */
  bodyRan: unknown[];
  /** The tool result the model read on its next turn. */
  modelWasTold: string;
  /** The gate's Decision for the call. */
  decision: { verdict: string; source: string; reason: string; edited: unknown };
  /** The model's last answer. */
  finalText: string;
}

export async function run(log: (line: string) => void = () => {}): Promise<AiSdkHumanLoopResult> {
  const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 1, text: 1, reasoning: undefined } };
  const model = new MockLanguageModelV4({
    doGenerate: [
      { content: [{ type: 'tool-call', toolCallId: 'call_1', toolName: 'transfer', input: '{"amount":25000,"to":"acme"}' }], finishReason: { unified: 'tool-calls', raw: undefined }, usage, warnings: [] },
      { content: [{ type: 'text', text: 'Done: 2 500 went to acme (a reviewer lowered it from 25 000).' }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] },
    ],
  });

  // Transfers over 1 000 need a human; an edited call is held to the same rule.
  const gate = createGate({
    reviewer: callbackReviewer(({ call }) =>
      (call.args as { amount: number }).amount > 1000 ? { verdict: 'review', reason: 'transfers over 1 000 need a human' } : { verdict: 'allow', reason: 'within limits' }),
    highStakes: ['transfer'],
    telemetry: false,
  });
  const bodyRan: unknown[] = [];
  const transfer = tool({
    description: 'Transfer money',
    inputSchema: z.object({ amount: z.number(), to: z.string() }),
    execute: async (input) => {
      bodyRan.push(input);
      return { sent: input.amount, to: input.to };
    },
  });

  // One secret, set once: governedOptions hands the SDK the same secret the governed tools verify with.
  const governed = governedOptions({ transfer }, gate, { approvalSecret: randomBytes(32).toString('base64url') });
  const settings = { model, ...governed, stopWhen: isStepCount(4) };

  const messages: ModelMessage[] = [{ role: 'user', content: 'Send 25 000 to acme' }];
  const first = await generateText({ ...settings, messages });
  const request = first.content.find((p) => p.type === 'tool-approval-request');
  if (!request) throw new Error('expected the transfer to pause for a human');
  const humanSaw = { tool: request.toolCall.toolName, input: request.toolCall.input, reason: request.reason };
  log(`the human sees: ${humanSaw.tool} ${JSON.stringify(humanSaw.input)} — ${humanSaw.reason}`);

  // The human approves with an edit: the same tool, amount 2 500.
  const edit = { ...(request.toolCall.input as { amount: number; to: string }), amount: 2_500 };
  log(`the human answers: approve, with ${JSON.stringify(edit)}`);
  messages.push(...first.responseMessages, { role: 'tool', content: [editedApprovalResponse({ approvalId: request.approvalId, input: edit, reason: 'lowered to the monthly limit' })] });
  const second = await generateText({ ...settings, messages });

  const prompt = model.doGenerateCalls[1]?.prompt ?? [];
  const toolMessage = [...prompt].reverse().find((m) => m.role === 'tool');
  const result = toolMessage?.role === 'tool' ? toolMessage.content.find((p) => p.type === 'tool-result') : undefined;
  const output = result?.output as { type: string; value?: unknown } | undefined;
  const modelWasTold = typeof output?.value === 'string' ? output.value : JSON.stringify(output);
  log(`the body ran ${bodyRan.length} time(s): ${bodyRan.map((i) => JSON.stringify(i)).join(', ')}`);
  log(`the model is told: ${modelWasTold.replace(/\n+/g, ' ')}`);

  const d = decisionsOf(governed.tools).get('call_1');
  await gate.close();
  return {
    humanSaw,
    humanAnswered: { edit },
    bodyRan,
    modelWasTold,
    decision: { verdict: d?.verdict ?? '(none)', source: d?.source ?? '(none)', reason: d?.reason ?? '', edited: d?.edited },
    finalText: second.text,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log('AI SDK + toolgate: edit-and-approve (scripted model, offline)');
  const r = await run((line) => console.log(`  ${line}`));
  console.log(`  decision: ${r.decision.verdict} by ${r.decision.source} (${r.decision.reason})`);
  console.log(`  the model answers: ${r.finalText}`);
}
