// node examples/human-loop/langgraph.ts
// Edit-and-approve with LangGraph, offline, in LangChain's own human-in-the-loop shapes: a
// scripted model asks to transfer 25 000, the gate's policy sends it to a human, and the graph
// pauses with a `HITLRequest` (what `humanInTheLoopMiddleware` and Agent Chat UI use). The human
// answers with a `HITLResponse` edit to 2 500. The edited call is reviewed again by the gate, the
// tool body runs once with 2 500, and the model is told the call ran with edited arguments.
import { fileURLToPath } from 'node:url';
import { AIMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { tool } from '@langchain/core/tools';
import { Annotation, Command, INTERRUPT, MemorySaver, MessagesAnnotation, START, StateGraph, type Interrupt } from '@langchain/langgraph';
import { callbackReviewer, createGate } from '@toolgate/core';
import { addGovernance, GovernanceAnnotation } from '@toolgate/langgraph';
import type { HITLRequest, HITLResponse } from 'langchain';
import { z } from 'zod';

export interface LangGraphHumanLoopResult {
  /** The interrupt value the human (or Agent Chat UI) was shown: a LangChain HITLRequest. */
  humanSaw: HITLRequest;
  /** The human's answer: a LangChain HITLResponse with the amount edited. */
  humanAnswered: HITLResponse;
  /** Every input the transfer body ran with. */
  bodyRan: unknown[];
  /** The ToolMessage the model read on its next turn. */
  modelWasTold: string;
  /** The gate's Decision for the call. */
  decision: { verdict: string; source: string; reason: string; edited: unknown };
  /** The model's last answer. */
  finalText: string;
}

export async function run(log: (line: string) => void = () => {}): Promise<LangGraphHumanLoopResult> {
  const model = fakeModel()
    .respondWithTools([{ name: 'transfer', args: { amount: 25_000, to: 'acme' }, id: 'call_1' }])
    .respond(new AIMessage('Done: 2 500 went to acme (a reviewer lowered it from 25 000).'));

  // Transfers over 1 000 need a human; an edited call is held to the same rule.
  const gate = createGate({
    reviewer: callbackReviewer(({ call }) =>
      (call.args as { amount: number }).amount > 1000 ? { verdict: 'review', reason: 'transfers over 1 000 need a human' } : { verdict: 'allow', reason: 'within limits' }),
    highStakes: ['transfer'],
    telemetry: false,
  });
  const bodyRan: unknown[] = [];
  const transfer = tool(
    async (input: { amount: number; to: string }) => {
      bodyRan.push(input);
      return `sent ${input.amount} to ${input.to}`;
    },
    { name: 'transfer', description: 'Transfer money', schema: z.object({ amount: z.number(), to: z.string() }) },
  );

  // agent → tools (reviews the turn; runs it when no call needs a human) → agent; a call waiting for a human → human_gate → tools
  const State = Annotation.Root({ ...MessagesAnnotation.spec, ...GovernanceAnnotation.spec });
  const builder = new StateGraph(State)
    .addNode('agent', async (state: typeof State.State) => ({ messages: [await model.invoke(state.messages)] }))
    .addEdge(START, 'agent');
  const graph = addGovernance(builder, { gate, tools: [transfer] }).compile({ checkpointer: new MemorySaver() });
  const config = { configurable: { thread_id: 'human-loop-langgraph' } };

  const paused = await graph.invoke({ messages: [new HumanMessage('Send 25 000 to acme')] }, config);
  const interrupts = (paused as { [INTERRUPT]?: Array<Interrupt<HITLRequest>> })[INTERRUPT] ?? [];
  const humanSaw = interrupts[0]?.value;
  if (!humanSaw) throw new Error('expected the transfer to pause for a human');
  const shown = humanSaw.actionRequests[0]!;
  log(`the human sees (HITLRequest): ${shown.name} ${JSON.stringify(shown.args)}, allowed ${JSON.stringify(humanSaw.reviewConfigs[0]?.allowedDecisions)}`);
  log(`  description: ${shown.description?.split('\n')[0]}`);

  // The human edits the amount, as Agent Chat UI sends it: one decision per action request.
  const humanAnswered: HITLResponse = { decisions: [{ type: 'edit', editedAction: { name: shown.name, args: { ...shown.args, amount: 2_500 } } }] };
  log(`the human answers (HITLResponse): ${JSON.stringify(humanAnswered)}`);
  const done = await graph.invoke(new Command({ resume: humanAnswered }), config);

  const seen = model.calls[1]?.messages ?? [];
  const told = seen.filter((m): m is ToolMessage => ToolMessage.isInstance(m)).at(-1);
  const modelWasTold = typeof told?.content === 'string' ? told.content : JSON.stringify(told?.content);
  log(`the body ran ${bodyRan.length} time(s): ${bodyRan.map((i) => JSON.stringify(i)).join(', ')}`);
  log(`the model is told: ${modelWasTold.replace(/\n+/g, ' ')}`);

  const d = done.toolgateDecisions.call_1;
  const last = done.messages.at(-1);
  await gate.close();
  return {
    humanSaw,
    humanAnswered,
    bodyRan,
    modelWasTold,
    decision: { verdict: d?.verdict ?? '(none)', source: d?.source ?? '(none)', reason: d?.reason ?? '', edited: d?.edited },
    finalText: typeof last?.content === 'string' ? last.content : '',
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log('LangGraph + toolgate: edit-and-approve in LangChain HITL shapes (scripted model, offline)');
  const r = await run((line) => console.log(`  ${line}`));
  console.log(`  decision: ${r.decision.verdict} by ${r.decision.source} (${r.decision.reason})`);
  console.log(`  the model answers: ${r.finalText}`);
}
