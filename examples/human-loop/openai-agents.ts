// node examples/human-loop/openai-agents.ts
// Edit-and-approve with OpenAI Agents JS, offline: a scripted model asks to transfer 25 000, the
// gate's policy sends it to a human (the SDK's own interruption), the human approves it with the
// amount edited to 2 500 (toolgate's approveWithEdits on the RunState, which the SDK lacks). The
// RunState goes through toString() / fromString() as it would between two requests; on resume the
// gate reviews the edited call again, the tool body runs once with 2 500, and the model is told
// the call ran with edited arguments.
import { fileURLToPath } from 'node:url';
import { Agent, Runner, RunState, tool } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { callbackReviewer, createGate } from '@toolgate/core';
import { approveWithEdits, getDecisions, GovernanceHooks } from '@toolgate/openai-agents';
import { z } from 'zod';

export interface OpenAIAgentsHumanLoopResult {
  /** What the approval UI showed the human (the SDK interruption and the gate's reason). */
  humanSaw: { tool: string; arguments: unknown; reason: string | undefined };
  /** The human's answer: approve, with the amount edited. */
  humanAnswered: { edit: unknown; approver: string };
  /** Every input the transfer body ran with. */
  bodyRan: unknown[];
  /** The tool result the model read on its next turn. */
  modelWasTold: string;
  /** The gate's Decision for the call. */
  decision: { verdict: string; source: string; reason: string; decidedBy: string | undefined; edited: unknown };
  /** The model's last answer. */
  finalText: string;
}

export async function run(log: (line: string) => void = () => {}): Promise<OpenAIAgentsHumanLoopResult> {
  // Transfers over 1 000 need a human; an edited call is held to the same rule.
  const gate = createGate({
    reviewer: callbackReviewer(({ call }) =>
      (call.args as { amount: number }).amount > 1000 ? { verdict: 'review', reason: 'transfers over 1 000 need a human' } : { verdict: 'allow', reason: 'within limits' }),
    highStakes: ['transfer'],
    telemetry: false,
  });
  const bodyRan: unknown[] = [];
  const transfer = tool({
    name: 'transfer',
    description: 'Transfer money',
    parameters: z.object({ amount: z.number(), to: z.string() }),
    execute: async (input) => {
      bodyRan.push(input);
      return `sent ${input.amount} to ${input.to}`;
    },
  });
  const model = new ScriptedModel([
    [functionCall('transfer', { amount: 25_000, to: 'acme' }, { callId: 'call_1' })],
    [assistantMessage('Done: 2 500 went to acme (a reviewer lowered it from 25 000).')],
  ]);
  const agent = new Agent({ name: 'treasurer', model, tools: [transfer] });
  const hooks = new GovernanceHooks(gate);
  const runner = hooks.attach(new Runner({ tracingDisabled: true }));

  // 1. The run pauses: the SDK's own interruption, raised because the gate said `review`.
  const first = await runner.run(agent, 'Send 25 000 to acme');
  const item = first.interruptions[0];
  if (!item) throw new Error('expected the transfer to pause for a human');
  const pending = getDecisions(first).get('call_1');
  const humanSaw = { tool: item.toolName ?? item.name ?? '', arguments: JSON.parse(item.arguments ?? '{}') as unknown, reason: pending?.reason };
  log(`the human sees: ${humanSaw.tool} ${JSON.stringify(humanSaw.arguments)} — ${humanSaw.reason}`);

  // 2. The human approves with an edit: the same tool, amount 2 500. The state is saved as a string.
  const edit = { ...(humanSaw.arguments as { amount: number; to: string }), amount: 2_500 };
  const approver = 'alice@treasury';
  log(`the human answers: approve, with ${JSON.stringify(edit)} (${approver})`);
  approveWithEdits(first.state, item, edit, { approver, reason: 'lowered to the monthly limit' });
  const saved = first.state.toString();

  // 3. Later (another request, another process): resume from the string.
  const resumed = await runner.run(agent, await RunState.fromString(agent, saved));

  const items = (model.calls.at(-1)?.request.input ?? []) as Array<{ type?: string; output?: unknown }>;
  const output = Array.isArray(items) ? items.filter((i) => i.type === 'function_call_result').at(-1)?.output : undefined;
  const modelWasTold = typeof output === 'string' ? output : typeof (output as { text?: unknown })?.text === 'string' ? (output as { text: string }).text : JSON.stringify(output);
  log(`the body ran ${bodyRan.length} time(s): ${bodyRan.map((i) => JSON.stringify(i)).join(', ')}`);
  log(`the model is told: ${modelWasTold.replace(/\n+/g, ' ')}`);

  const d = getDecisions(resumed).get('call_1');
  await gate.close();
  return {
    humanSaw,
    humanAnswered: { edit, approver },
    bodyRan,
    modelWasTold,
    decision: { verdict: d?.verdict ?? '(none)', source: d?.source ?? '(none)', reason: d?.reason ?? '', decidedBy: d?.decidedBy, edited: d?.edited },
    finalText: typeof resumed.finalOutput === 'string' ? resumed.finalOutput : '',
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log('OpenAI Agents + toolgate: edit-and-approve (scripted model, offline)');
  const r = await run((line) => console.log(`  ${line}`));
  console.log(`  decision: ${r.decision.verdict} by ${r.decision.source} (${r.decision.reason})`);
  console.log(`  the model answers: ${r.finalText}`);
}
