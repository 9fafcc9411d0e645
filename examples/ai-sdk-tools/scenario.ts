// The AI SDK scenario: four tool calls in one model turn — a free read, an allowed transfer, a
// denied shell command, and a large transfer that pauses for a human — then the continuation.
// Works with the scripted model (offline) or any LanguageModel you pass in.
import { randomBytes } from 'node:crypto';
import { decisionsOf, toolApproval, withGovernance, type GovernanceOptions } from '@toolgate/ai-sdk';
import { callbackReviewer, createGate, httpReviewer, type Gate, type ReviewRequest, type ReviewerVerdict } from '@toolgate/core';
import { generateText, isStepCount, tool, type LanguageModel, type ModelMessage } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { z } from 'zod';

/** Tools that need a reviewer's yes before they run. `get_balance` is not listed: it runs freely. */
export const HIGH_STAKES = ['transfer', 'shell'];

/** One row per tool call, for the demo table. */
export interface ScenarioRow {
  framework: 'ai-sdk';
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
  /** The human's answer to each approval request. Default: approve. */
  approve?: boolean | ((request: { tool: string; input: unknown; reason?: string }) => boolean);
  /** Any AI SDK LanguageModel (e.g. openai('gpt-4o-mini') from @ai-sdk/openai). Default: scripted. */
  model?: LanguageModel;
  /** Called at each step, for printing. */
  log?: (line: string) => void;
}

/** The local stand-in for a review service: shell is denied, transfers over 1 000 need a human. */
export function localPolicy(request: ReviewRequest): ReviewerVerdict {
  const { tool: name, args } = request.call;
  if (name === 'shell') return { verdict: 'deny', reason: 'shell commands are not allowed from this agent', decidedBy: 'policy' };
  const amount = (args as { amount?: number }).amount ?? 0;
  if (name === 'transfer' && amount > 1000) return { verdict: 'review', reason: `transfer of ${amount} is above the 1 000 limit`, decidedBy: 'policy' };
  return { verdict: 'allow', reason: 'within limits', decidedBy: 'policy' };
}

/** The tools, marking each call that actually ran. */
export function makeTools(executed: Set<string>) {
  return {
    transfer: tool({
      description: 'Transfer money to an account',
      inputSchema: z.object({ amount: z.number(), to: z.string() }),
      execute: async ({ amount, to }, { toolCallId }) => {
        executed.add(toolCallId);
        return `transferred ${amount} to ${to}`;
      },
    }),
    shell: tool({
      description: 'Run a shell command',
      inputSchema: z.object({ cmd: z.string() }),
      execute: async ({ cmd }, { toolCallId }) => {
        executed.add(toolCallId);
        return `ran: ${cmd}`;
      },
    }),
    get_balance: tool({
      description: 'Read an account balance',
      inputSchema: z.object({ account: z.string() }),
      execute: async ({ account }, { toolCallId }) => {
        executed.add(toolCallId);
        return `${account}: 12 400`;
      },
    }),
  };
}

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 10, text: 10, reasoning: undefined },
};

/** The scripted model: one turn with four tool calls, then a closing message. */
export function scriptedModel(): LanguageModel {
  const call = (id: string, toolName: string, input: object) => ({ type: 'tool-call' as const, toolCallId: id, toolName, input: JSON.stringify(input) });
  return new MockLanguageModelV4({
    doGenerate: [
      {
        content: [
          call('call_balance', 'get_balance', { account: 'ops' }),
          call('call_small', 'transfer', { amount: 250, to: 'acme' }),
          call('call_shell', 'shell', { cmd: 'rm -rf /var/backups' }),
          call('call_big', 'transfer', { amount: 25_000, to: 'offshore-7' }),
        ],
        finishReason: { unified: 'tool-calls', raw: undefined },
        usage,
        warnings: [],
      },
      {
        content: [{ type: 'text', text: 'Paid acme; the large transfer went to a human; shell was refused.' }],
        finishReason: { unified: 'stop', raw: undefined },
        usage,
        warnings: [],
      },
    ],
  });
}

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
    });
  // The approval secret signs the SDK's approval requests; withGovernance trusts a human's yes
  // found in the messages only when the signature checks out.
  const secret = randomBytes(32).toString('base64url');
  const governance: GovernanceOptions = {
    approvalSecret: secret,
    call: { runId: `ai-sdk-example-${Date.now()}`, agent: 'ai-sdk-example' },
    onDecision: (e) => log(`decision ${e.toolName} [${e.phase}]: ${e.decision.verdict} (${e.decision.source}) — ${e.decision.reason}`),
  };
  const executed = new Set<string>();
  const tools = withGovernance(makeTools(executed), gate, governance);
  const model = options.model ?? scriptedModel();
  const settings = {
    model,
    tools,
    toolApproval: toolApproval(gate, governance),
    experimental_toolApprovalSecret: secret,
    stopWhen: isStepCount(5),
  };

  const messages: ModelMessage[] = [{ role: 'user', content: 'Pay acme 250, wire 25 000 to offshore-7, and clean the backups.' }];
  const calls: Array<{ toolCallId: string; toolName: string; input: unknown }> = [];
  let result = await generateText({ ...settings, messages });
  for (let round = 0; round < 5; round++) {
    calls.push(...result.toolCalls);
    messages.push(...result.responseMessages);
    const requests = result.content.flatMap((p) => (p.type === 'tool-approval-request' && !p.isAutomatic ? [p] : []));
    if (requests.length === 0) break;
    const answers = requests.map((r) => {
      const approved =
        typeof options.approve === 'function'
          ? options.approve({ tool: r.toolCall.toolName, input: r.toolCall.input, ...(r.reason ? { reason: r.reason } : {}) })
          : (options.approve ?? true);
      log(`paused for a human: ${r.toolCall.toolName} ${JSON.stringify(r.toolCall.input)} (${r.reason ?? ''}) -> ${approved ? 'approve' : 'reject'}`);
      return { type: 'tool-approval-response' as const, approvalId: r.approvalId, approved, reason: approved ? 'approved by ops-lead' : 'rejected by ops-lead' };
    });
    messages.push({ role: 'tool', content: answers });
    result = await generateText({ ...settings, messages });
  }
  log(`model: ${result.text}`);

  const decisions = decisionsOf(tools);
  const rows = calls.map((c): ScenarioRow => {
    const d = decisions.get(c.toolCallId);
    return {
      framework: 'ai-sdk',
      tool: c.toolName,
      args: c.input,
      verdict: d?.verdict ?? 'allow',
      source: d?.source ?? 'not_high_stakes',
      executed: executed.has(c.toolCallId),
    };
  });
  if (!options.gate) await gate.close();
  return rows;
}
