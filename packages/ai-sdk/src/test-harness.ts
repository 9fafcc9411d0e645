// Test-only: one scripted-model harness over ai@7 (`ai`) and ai@6 (`ai-v6`), so every scenario
// runs against both majors. Not exported from the package.
import * as ai7 from 'ai';
import * as ai6 from 'ai-v6';
import { MockLanguageModelV4 } from 'ai/test';
import { MockLanguageModelV3 } from 'ai-v6/test';
import type { ModelMessage, ToolSet } from 'ai';

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
};

/** One model turn: call tools, or answer with text. */
export type Turn = { calls: Array<{ tool: string; input: object; id: string }> } | { text: string };

const toContent = (t: Turn) =>
  'text' in t
    ? [{ type: 'text' as const, text: t.text }]
    : t.calls.map((c) => ({ type: 'tool-call' as const, toolCallId: c.id, toolName: c.tool, input: JSON.stringify(c.input) }));
const finish = (t: Turn) => ({ unified: 'text' in t ? ('stop' as const) : ('tool-calls' as const), raw: undefined });

function generateResult(t: Turn) {
  return { content: toContent(t), finishReason: finish(t), usage, warnings: [] };
}

function streamResult(t: Turn) {
  const parts: unknown[] = [{ type: 'stream-start', warnings: [] }];
  if ('text' in t) parts.push({ type: 'text-start', id: 't' }, { type: 'text-delta', id: 't', delta: t.text }, { type: 'text-end', id: 't' });
  else parts.push(...toContent(t));
  parts.push({ type: 'finish', finishReason: finish(t), usage });
  return { stream: new ReadableStream({ start(c) { for (const p of parts) c.enqueue(p); c.close(); } }) };
}

/** What the scripted model received on each call (the prompt), as plain JSON. */
export interface ScriptedModel {
  model: unknown;
  prompts(): Array<Array<{ role: string; content: unknown }>>;
}

export interface RunArgs {
  model: ScriptedModel;
  tools: ToolSet;
  prompt?: string;
  messages?: ModelMessage[];
  steps?: number;
  approvalSecret?: string;
  /** ai@7 only: a call-level toolApproval. */
  toolApproval?: unknown;
  abortSignal?: AbortSignal;
}

export interface RunResult {
  text: string;
  /** Every content part of every step. */
  parts: Array<{ type: string; [k: string]: unknown }>;
  /** The messages to append before a continuation. */
  responseMessages: ModelMessage[];
  approvalRequests: Array<{ approvalId: string; toolCallId: string; reason?: string }>;
}

export interface Harness {
  name: 'ai@6' | 'ai@7';
  tool: (def: Record<string, unknown>) => ToolSet[string];
  script: (turns: Turn[]) => ScriptedModel;
  scriptStream: (turns: Turn[]) => ScriptedModel;
  generate: (args: RunArgs) => Promise<RunResult>;
  /** streamText, read to the end; the same view of the run as `generate`. */
  streamRun: (args: RunArgs) => Promise<RunResult>;
  /** streamText; resolves with the stream part types and the text (or the rejection). */
  stream: (args: RunArgs) => Promise<{ types: string[]; text: string | Error; errors: unknown[] }>;
}

// The two majors type their APIs differently; tests drive both through this loose view.
type Loose = (args: Record<string, unknown>) => unknown;

function makeHarness(name: 'ai@6' | 'ai@7'): Harness {
  const v7 = name === 'ai@7';
  const api = (v7 ? ai7 : ai6) as unknown as { generateText: Loose; streamText: Loose; tool: (d: unknown) => unknown; stepCountIs: (n: number) => unknown };
  const Mock = (v7 ? MockLanguageModelV4 : MockLanguageModelV3) as unknown as new (o: unknown) => { doGenerateCalls: Array<{ prompt: unknown }>; doStreamCalls: Array<{ prompt: unknown }> };
  const scripted = (turns: Turn[], stream: boolean): ScriptedModel => {
    const model = new Mock(stream ? { doStream: turns.map(streamResult) } : { doGenerate: turns.map(generateResult) });
    return {
      model,
      prompts: () => JSON.parse(JSON.stringify((stream ? model.doStreamCalls : model.doGenerateCalls).map((c) => c.prompt))),
    };
  };
  const callArgs = (a: RunArgs) => ({
    model: a.model.model,
    tools: a.tools,
    stopWhen: api.stepCountIs(a.steps ?? 4),
    ...(a.messages ? { messages: a.messages } : { prompt: a.prompt ?? 'go' }),
    ...(a.approvalSecret ? { experimental_toolApprovalSecret: a.approvalSecret } : {}),
    ...(v7 && a.toolApproval ? { toolApproval: a.toolApproval } : {}),
    ...(a.abortSignal ? { abortSignal: a.abortSignal } : {}),
  });
  return {
    name,
    tool: (def) => api.tool(def) as ToolSet[string],
    script: (turns) => scripted(turns, false),
    scriptStream: (turns) => scripted(turns, true),
    async generate(a) {
      const r = (await api.generateText(callArgs(a))) as {
        text: string;
        steps: Array<{ content: RunResult['parts'] }>;
        responseMessages?: ModelMessage[];
        response: { messages: ModelMessage[] };
      };
      const parts = r.steps.flatMap((s) => s.content);
      return {
        text: r.text,
        parts,
        responseMessages: v7 ? (r.responseMessages ?? []) : r.response.messages,
        approvalRequests: parts
          .filter((p) => p.type === 'tool-approval-request' && !p.isAutomatic)
          .map((p) => ({ approvalId: p.approvalId as string, toolCallId: (p.toolCall as { toolCallId: string }).toolCallId, reason: p.reason as string | undefined })),
      };
    },
    async streamRun(a) {
      const r = api.streamText(callArgs(a)) as {
        fullStream: AsyncIterable<{ type: string }>;
        text: PromiseLike<string>;
        steps: PromiseLike<Array<{ content: RunResult['parts'] }>>;
        responseMessages?: PromiseLike<ModelMessage[]>;
        response: PromiseLike<{ messages: ModelMessage[] }>;
      };
      for await (const _ of r.fullStream) {
        // read to the end
      }
      const parts = (await r.steps).flatMap((s) => s.content);
      return {
        text: await r.text,
        parts,
        responseMessages: v7 ? ((await r.responseMessages) ?? []) : (await r.response).messages,
        approvalRequests: parts
          .filter((p) => p.type === 'tool-approval-request' && !p.isAutomatic)
          .map((p) => ({ approvalId: p.approvalId as string, toolCallId: (p.toolCall as { toolCallId: string }).toolCallId, reason: p.reason as string | undefined })),
      };
    },
    async stream(a) {
      const errors: unknown[] = [];
      const r = api.streamText({ ...callArgs(a), onError: ({ error }: { error: unknown }) => { errors.push(error); } }) as {
        fullStream: AsyncIterable<{ type: string }>;
        text: PromiseLike<string>;
      };
      const types: string[] = [];
      try {
        for await (const p of r.fullStream) types.push(p.type);
      } catch (error) {
        types.push(`threw:${(error as Error).name}`);
      }
      let text: string | Error;
      try {
        text = await r.text;
      } catch (error) {
        text = error as Error;
      }
      return { types, text, errors };
    },
  };
}

export const harnesses: Harness[] = [makeHarness('ai@7'), makeHarness('ai@6')];

/** The human's answer to approval requests, as the app appends it before the continuation. */
export function approvalResponse(requests: RunResult['approvalRequests'], approved: boolean, reason?: string): ModelMessage {
  return {
    role: 'tool',
    content: requests.map((r) => ({ type: 'tool-approval-response' as const, approvalId: r.approvalId, approved, ...(reason ? { reason } : {}) })),
  };
}

/** The last tool message the model received on its `n`-th call (0-based), as plain JSON. */
export function toolMessageSeen(model: ScriptedModel, n: number): Array<{ type: string; toolCallId?: string; output?: { type: string; value?: unknown; reason?: string } }> {
  const prompt = model.prompts()[n] ?? [];
  const tool = [...prompt].reverse().find((m) => m.role === 'tool');
  return (tool?.content ?? []) as never;
}
