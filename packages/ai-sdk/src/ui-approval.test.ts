// The human loop through the UI message stream (ai@7 and ai@6): the real `AbstractChat` (what `useChat`
// wraps) talks to a "server" that runs `streamText` with `governedOptions` and answers with
// `toUIMessageStream`. The human answers in the tool part's approval — approve with an edit, or
// reject — with `addToolApprovalResponse`, and the chat sends it back by itself
// (`lastAssistantMessageIsCompleteWithApprovalResponses`), as in a browser.
import { callbackReviewer, createGate } from '@toolgate/core';
import * as ai7 from 'ai';
import type { ChatState, ChatStatus, ChatTransport, ToolSet, UIMessage, UIMessageChunk } from 'ai';
import * as ai6 from 'ai-v6';
import { MockLanguageModelV3 } from 'ai-v6/test';
import { MockLanguageModelV4 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { editedChatApproval } from './edit-approval';
import { isEditedOutput } from './edited-output';
import { governedOptions } from './governed-options';

const SECRET = 'test-secret-0123456789abcdef0123456789';
const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
};

type Turn = { call: { amount: number; to: string } } | { text: string };
function streamOf(t: Turn) {
  const parts: unknown[] = [{ type: 'stream-start', warnings: [] }];
  if ('text' in t) parts.push({ type: 'text-start', id: 't' }, { type: 'text-delta', id: 't', delta: t.text }, { type: 'text-end', id: 't' });
  else parts.push({ type: 'tool-call', toolCallId: 'call-1', toolName: 'transfer', input: JSON.stringify(t.call) });
  parts.push({ type: 'finish', finishReason: { unified: 'text' in t ? 'stop' : 'tool-calls', raw: undefined }, usage });
  return { stream: new ReadableStream({ start(c) { for (const p of parts) c.enqueue(p); c.close(); } }) };
}

class MemoryState implements ChatState<UIMessage> {
  status: ChatStatus = 'ready';
  error: Error | undefined = undefined;
  messages: UIMessage[] = [];
  pushMessage = (m: UIMessage) => { this.messages = [...this.messages, m]; };
  popMessage = () => { this.messages = this.messages.slice(0, -1); };
  replaceMessage = (i: number, m: UIMessage) => { this.messages = this.messages.map((x, j) => (j === i ? m : x)); };
  snapshot = <T,>(thing: T): T => thing;
}

/** The parts of an SDK major the test drives, typed loosely so one test serves ai@7 and ai@6. */
interface Sdk {
  name: 'ai@7' | 'ai@6';
  AbstractChat: new (init: object) => { sendMessage(m: { text: string }): Promise<void>; addToolApprovalResponse(a: { id: string; approved: boolean; reason?: string }): Promise<void> };
  convertToModelMessages: (messages: UIMessage[], options: { tools: ToolSet }) => unknown;
  lastAssistantMessageIsCompleteWithApprovalResponses: unknown;
  streamText: (args: object) => { toUIMessageStream(o: { originalMessages: UIMessage[] }): ReadableStream<UIMessageChunk> };
  tool: (def: object) => ToolSet[string];
  stepCountIs: (n: number) => unknown;
  Mock: new (o: object) => { doStreamCalls: Array<{ prompt: unknown }> };
}
const sdks: Sdk[] = [
  { name: 'ai@7', ...(ai7 as unknown as Omit<Sdk, 'name' | 'Mock'>), stepCountIs: ai7.isStepCount as unknown as Sdk['stepCountIs'], Mock: MockLanguageModelV4 as unknown as Sdk['Mock'] },
  { name: 'ai@6', ...(ai6 as unknown as Omit<Sdk, 'name' | 'Mock'>), Mock: MockLanguageModelV3 as unknown as Sdk['Mock'] },
];

/** The app: a gate, a governed transfer with a body counter, and the chat route as a transport. */
function app(sdk: Sdk, turns: Turn[]) {
  const gate = createGate({
    reviewer: callbackReviewer(({ call }) => {
      const a = call.args as { amount: number; to: string };
      if (a.to === 'mallory') return { verdict: 'deny', reason: 'mallory is on the sanctions list' };
      return a.amount > 1000 ? { verdict: 'review', reason: 'over 1 000 needs a human' } : { verdict: 'allow', reason: 'within limits' };
    }),
    highStakes: ['transfer'],
    telemetry: false,
  });
  const ran: unknown[] = [];
  const transfer = sdk.tool({
    description: 'Move money',
    inputSchema: z.object({ amount: z.number(), to: z.string() }),
    execute: async (input: { amount: number; to: string }) => {
      ran.push(input);
      return { sent: input.amount, to: input.to };
    },
  });
  const governed = governedOptions({ transfer }, gate, { approvalSecret: SECRET });
  const model = new sdk.Mock({ doStream: turns.map(streamOf) });
  /** POST /api/chat: UI messages in, a UI message stream out. */
  const route = async (messages: UIMessage[]): Promise<ReadableStream<UIMessageChunk>> => {
    const result = sdk.streamText({ model, ...governed, stopWhen: sdk.stepCountIs(4), messages: await sdk.convertToModelMessages(messages, { tools: governed.tools }) });
    return result.toUIMessageStream({ originalMessages: messages });
  };
  let finished = 0;
  const waiters: Array<() => void> = [];
  const transport: ChatTransport<UIMessage> = {
    sendMessages: async ({ messages }) => route(structuredClone(messages)),
    reconnectToStream: async () => null,
  };
  const state = new MemoryState();
  const chat = new sdk.AbstractChat({
    transport,
    state,
    sendAutomaticallyWhen: sdk.lastAssistantMessageIsCompleteWithApprovalResponses,
    onFinish: () => {
      finished++;
      waiters.splice(0).forEach((w) => w());
    },
  });
  /** Resolves when `n` responses have finished (every step of the test adds one). */
  const responses = (n: number) => new Promise<void>((resolve) => (finished >= n ? resolve() : waiters.push(() => (finished >= n ? resolve() : void responses(n).then(resolve)))));
  const prompts = () => model.doStreamCalls.map((c) => JSON.stringify(c.prompt));
  return { chat, all: () => state.messages, ran, route, responses, prompts };
}

type ToolPart = { type: string; state: string; input: { amount: number; to: string }; output?: unknown; approval?: { id: string; signature?: string; requestReason?: string } };
const transferPart = (messages: UIMessage[]) => messages.at(-1)?.parts.find((p) => p.type === 'tool-transfer') as ToolPart | undefined;

describe.each(sdks)('the human loop through useChat approval parts ($name)', (sdk) => {
  it('edit: the human changes the amount in the approval part; the body runs once with it; the model and the UI are told', async () => {
    const a = app(sdk, [{ call: { amount: 25_000, to: 'acme' } }, { text: 'Sent 2 500 to acme.' }, { text: 'You are welcome.' }, { text: 'Already sent.' }]);
    await a.chat.sendMessage({ text: 'send 25 000 to acme' });
    await a.responses(1);
    const asked = transferPart(a.all());
    expect(asked?.state).toBe('approval-requested');
    expect(asked?.approval?.signature).toEqual(expect.any(String)); // signed with the one secret
    // What the human sees: the tool, the model's input and (ai@7; ai@6 approvals have no reason) why the gate asks.
    if (sdk.name === 'ai@7') expect(asked?.approval?.requestReason).toContain('over 1 000 needs a human');
    expect(a.ran).toEqual([]);
    const beforeAnswer = structuredClone(a.all());

    await a.chat.addToolApprovalResponse(editedChatApproval({ id: asked!.approval!.id, input: { ...asked!.input, amount: 2_500 } }));
    await a.responses(2);
    expect(a.ran).toEqual([{ amount: 2_500, to: 'acme' }]);
    const done = transferPart(a.all());
    expect(done?.state).toBe('output-available');
    expect(isEditedOutput(done?.output)).toBe(true);
    expect(done?.output).toMatchObject({ output: { sent: 2_500, to: 'acme' }, edited: { args: { amount: 2_500, to: 'acme' } } });
    expect(a.prompts()[1]).toContain('The call ran with edited arguments');

    // A later turn rebuilds the history from UI messages: the model still reads the notice.
    await a.chat.sendMessage({ text: 'thanks' });
    await a.responses(3);
    expect(a.prompts()[2]).toContain('The call ran with edited arguments');
    expect(a.ran).toHaveLength(1);

    // The edited answer posted again (a retried request): nothing runs twice.
    const replayed = structuredClone(beforeAnswer);
    const part = transferPart(replayed) as unknown as Record<string, unknown>;
    part.state = 'approval-responded';
    part.approval = { ...(part.approval as object), approved: true, reason: editedChatApproval({ id: asked!.approval!.id, input: { amount: 2_500, to: 'acme' } }).reason };
    const stream = await a.route(replayed);
    for await (const _ of stream as unknown as AsyncIterable<unknown>) {
      // read to the end
    }
    expect(a.ran).toHaveLength(1);
    expect(a.prompts()[3]).toContain('execution-denied');
  });

  it('reject: the human says no with a message; nothing runs and the model reads it', async () => {
    const a = app(sdk, [{ call: { amount: 25_000, to: 'acme' } }, { text: 'Not sent.' }]);
    await a.chat.sendMessage({ text: 'send 25 000 to acme' });
    await a.responses(1);
    const asked = transferPart(a.all());
    await a.chat.addToolApprovalResponse({ id: asked!.approval!.id, approved: false, reason: 'too much: 2 500 at most' });
    await a.responses(2);
    expect(a.ran).toEqual([]);
    expect(transferPart(a.all())?.state).toBe('output-denied');
    expect(a.prompts()[1]).toContain('too much: 2 500 at most');
  });

  it('an edit the policy denies: nothing runs, the model reads the policy reason', async () => {
    const a = app(sdk, [{ call: { amount: 25_000, to: 'acme' } }, { text: 'Not sent.' }]);
    await a.chat.sendMessage({ text: 'send 25 000 to acme' });
    await a.responses(1);
    const asked = transferPart(a.all());
    await a.chat.addToolApprovalResponse(editedChatApproval({ id: asked!.approval!.id, input: { amount: 2_500, to: 'mallory' } }));
    await a.responses(2);
    expect(a.ran).toEqual([]);
    expect(a.prompts()[1]).toContain('sanctions list');
  });
});
