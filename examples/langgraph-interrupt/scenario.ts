// The LangGraph scenario: agent → tools (reviews the turn) → human_gate when a call needs a human → tools, with a scripted model (or a
// real one), a HIGH_STAKES list, and a human who answers the one batched interrupt.
import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import type { Runnable } from '@langchain/core/runnables';
import { fakeModel } from '@langchain/core/testing';
import { tool } from '@langchain/core/tools';
import { Annotation, Command, MemorySaver, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { callbackReviewer, createGate, httpReviewer, type Gate, type ReviewRequest, type ReviewerVerdict } from '@toolgate/core';
import { addGovernance, GovernanceAnnotation, pendingReviews, type HumanReviewResume, type ReviewRequestItem } from '@toolgate/langgraph';
import { z } from 'zod';

/** Tools that need a reviewer's yes before they run. `get_balance` is not listed: it runs freely. */
export const HIGH_STAKES = ['transfer', 'shell'];

/** One row per tool call, for the demo table. */
export interface ScenarioRow {
  framework: 'langgraph';
  tool: string;
  args: unknown;
  verdict: string;
  source: string;
  executed: boolean;
}

export interface ScenarioOptions {
  /** A ready gate. Otherwise one is built from `reviewerUrl` + `apiKey`, or the local policy below. */
  gate?: Gate;
  reviewerUrl?: string;
  apiKey?: string;
  /** The human's answer to every review. Default: approve. */
  approve?: boolean | ((request: ReviewRequestItem) => boolean);
  /** A tool-calling chat model (`model.bindTools(tools)` done by the caller). Default: scripted. */
  model?: Runnable<BaseMessage[], AIMessage>;
  /** Called at each step, for printing. */
  log?: (line: string) => void;
}

/** The local stand-in for a review service: shell is denied, transfers over 1 000 need a human. */
export function localPolicy(request: ReviewRequest): ReviewerVerdict {
  const { tool: name, args } = request.call;
  if (name === 'shell') return { verdict: 'deny', reason: 'shell commands are not allowed from this agent' };
  const amount = (args as { amount?: number }).amount ?? 0;
  if (name === 'transfer' && amount > 1000) return { verdict: 'review', reason: `transfer of ${amount} is above the 1 000 limit` };
  return { verdict: 'allow', reason: 'within limits' };
}

export function makeTools(executed: Set<string>) {
  const mark = (config: unknown) => {
    const id = (config as { toolCall?: { id?: string } } | undefined)?.toolCall?.id;
    if (id) executed.add(id);
  };
  const transfer = tool(
    async ({ amount, to }, config) => {
      mark(config);
      return `transferred ${amount} to ${to}`;
    },
    { name: 'transfer', description: 'Transfer money to an account', schema: z.object({ amount: z.number(), to: z.string() }) },
  );
  const shell = tool(
    async ({ cmd }, config) => {
      mark(config);
      return `ran: ${cmd}`;
    },
    { name: 'shell', description: 'Run a shell command', schema: z.object({ cmd: z.string() }) },
  );
  const getBalance = tool(
    async ({ account }, config) => {
      mark(config);
      return `${account}: 12 400`;
    },
    { name: 'get_balance', description: 'Read an account balance', schema: z.object({ account: z.string() }) },
  );
  return [transfer, shell, getBalance];
}

/** The scripted model: one turn with four tool calls, then a closing message. */
export function scriptedModel() {
  return fakeModel()
    .respondWithTools([
      { name: 'get_balance', args: { account: 'ops' }, id: 'call_balance' },
      { name: 'transfer', args: { amount: 250, to: 'acme' }, id: 'call_small' },
      { name: 'shell', args: { cmd: 'rm -rf /var/backups' }, id: 'call_shell' },
      { name: 'transfer', args: { amount: 25_000, to: 'offshore-7' }, id: 'call_big' },
    ])
    .respond(new AIMessage('Paid acme; the large transfer went to a human; shell was refused.'));
}

const State = Annotation.Root({ ...MessagesAnnotation.spec, ...GovernanceAnnotation.spec });

/** Runs the scenario once and returns one row per tool call. */
export async function run(options: ScenarioOptions = {}): Promise<ScenarioRow[]> {
  const log = options.log ?? (() => {});
  const gate =
    options.gate ??
    createGate({
      reviewer: options.reviewerUrl
        ? httpReviewer({ url: options.reviewerUrl, apiKey: options.apiKey ?? '' })
        : callbackReviewer(localPolicy, { name: 'local-policy' }),
      highStakes: HIGH_STAKES,
      failMode: 'closed',
      agent: 'langgraph-example',
    });
  const executed = new Set<string>();
  const tools = makeTools(executed);
  const model = options.model ?? scriptedModel();

  const builder = new StateGraph(State)
    .addNode('agent', async (state: typeof State.State) => ({ messages: [await model.invoke(state.messages)] }))
    .addEdge(START, 'agent');
  const graph = addGovernance(builder, { gate, tools }).compile({ checkpointer: new MemorySaver() });
  const config = { configurable: { thread_id: `langgraph-example-${Date.now()}` } };

  let result = await graph.invoke({ messages: [new HumanMessage('Pay acme 250, wire 25 000 to offshore-7, and clean the backups.')] }, config);
  for (let round = 0; round < 5; round++) {
    const waiting = pendingReviews(result);
    if (waiting.length === 0) break;
    const resume: HumanReviewResume = {};
    for (const r of waiting) {
      const approved = typeof options.approve === 'function' ? options.approve(r) : (options.approve ?? true);
      log(`paused for a human: ${r.tool} ${JSON.stringify(r.args)} (${r.reason}) -> ${approved ? 'approve' : 'reject'}`);
      resume[r.tool_call_id] = approved ? { approved: true, approver: 'ops-lead', digest: r.digest } : { approved: false, reason: 'rejected by ops-lead', approver: 'ops-lead', digest: r.digest };
    }
    result = await graph.invoke(new Command({ resume }), config);
  }

  const rows: ScenarioRow[] = [];
  for (const m of result.messages) {
    if (!AIMessage.isInstance(m)) continue;
    for (const call of m.tool_calls ?? []) {
      const decision = call.id ? result.toolgateDecisions[call.id] : undefined;
      rows.push({
        framework: 'langgraph',
        tool: call.name,
        args: call.args,
        verdict: decision?.verdict ?? 'allow',
        source: decision?.source ?? 'not_high_stakes',
        executed: call.id ? executed.has(call.id) : false,
      });
    }
  }
  for (const m of result.messages) {
    if (ToolMessage.isInstance(m)) log(`tool[${m.tool_call_id}] ${m.status}: ${String(m.content)}`);
  }
  if (!options.gate) await gate.close();
  return rows;
}
