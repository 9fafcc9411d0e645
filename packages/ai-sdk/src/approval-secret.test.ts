// One approval secret, set once (governedOptions), and a loud warning when approvals cannot work.
import { callbackReviewer, createGate } from '@toolgate/core';
import { generateText, isStepCount, tool, type ModelMessage } from 'ai';
import * as ai6 from 'ai-v6';
import { MockLanguageModelV3 } from 'ai-v6/test';
import { MockLanguageModelV4 } from 'ai/test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { governedOptions } from './governed-options';
import { approvalResponse, harnesses } from './test-harness';
import { toolApproval } from './tool-approval';
import { withGovernance } from './with-governance';

const SECRET = 'test-secret-0123456789abcdef0123456789';
const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
};
const callTurn = { content: [{ type: 'tool-call' as const, toolCallId: 'call-1', toolName: 'transfer', input: '{"amount":5000,"to":"acme"}' }], finishReason: { unified: 'tool-calls' as const, raw: undefined }, usage, warnings: [] };
const textTurn = { content: [{ type: 'text' as const, text: 'done' }], finishReason: { unified: 'stop' as const, raw: undefined }, usage, warnings: [] };

afterEach(() => vi.restoreAllMocks());

function gateAndTransfer() {
  const gate = createGate({
    reviewer: callbackReviewer(({ call }) => ((call.args as { amount: number }).amount > 1000 ? { verdict: 'review', reason: 'large' } : { verdict: 'allow', reason: 'small' })),
    highStakes: ['transfer'],
    telemetry: false,
  });
  const ran: number[] = [];
  return { gate, ran };
}

describe.each(harnesses)('approval secret warnings ($name)', (h) => {
  function governed(secret: string | undefined) {
    const { gate, ran } = gateAndTransfer();
    const options = secret ? { approvalSecret: secret } : {};
    const tools = withGovernance(
      { transfer: h.tool({ inputSchema: z.object({ amount: z.number(), to: z.string() }), execute: async ({ amount }: { amount: number }) => void ran.push(amount) }) },
      gate,
      options,
    );
    return { ran, tools, approval: toolApproval(gate, options) };
  }
  const call = (id: string, amount = 5000) => ({ calls: [{ tool: 'transfer', input: { amount, to: 'acme' }, id }] });

  it('a review without an approvalSecret warns once, naming the option; the approval is then refused', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const g = governed(undefined);
    const messages: ModelMessage[] = [{ role: 'user', content: 'go' }];
    const model = h.script([call('call-1'), { text: 'x' }]);
    const r1 = await h.generate({ model, tools: g.tools, messages, toolApproval: g.approval });
    expect(r1.approvalRequests).toHaveLength(1);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/no `approvalSecret`.*every approval .* will be refused.*governedOptions/s);

    messages.push(...r1.responseMessages, approvalResponse(r1.approvalRequests, true));
    await h.generate({ model, tools: g.tools, messages, toolApproval: g.approval });
    await h.generate({ model: h.script([call('call-2'), { text: 'x' }]), tools: g.tools, toolApproval: g.approval });
    expect(g.ran).toEqual([]);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('an approval of a request the SDK did not sign (no experimental_toolApprovalSecret on the call) warns once', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const g = governed(SECRET);
    const messages: ModelMessage[] = [{ role: 'user', content: 'go' }];
    const model = h.script([call('call-1'), { text: 'x' }]);
    const r1 = await h.generate({ model, tools: g.tools, messages, toolApproval: g.approval });
    expect(warn).not.toHaveBeenCalled();
    messages.push(...r1.responseMessages, approvalResponse(r1.approvalRequests, true));
    await h.generate({ model, tools: g.tools, messages, toolApproval: g.approval });
    expect(g.ran).toEqual([]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toContain('experimental_toolApprovalSecret');
  });

  it('no review, no warning (a gate that only allows needs no secret)', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const g = governed(undefined);
    await h.generate({ model: h.script([call('call-1', 10), { text: 'x' }]), tools: g.tools, toolApproval: g.approval });
    expect(g.ran).toEqual([10]);
    expect(warn).not.toHaveBeenCalled();
  });
});

describe('governedOptions: the secret set once', () => {
  it('ai@7: spread into generateText, a signed human approval runs the call once, with no warning', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { gate, ran } = gateAndTransfer();
    const transfer = tool({ inputSchema: z.object({ amount: z.number(), to: z.string() }), execute: async ({ amount }) => ran.push(amount) });
    const governed = governedOptions({ transfer }, gate, { approvalSecret: SECRET });
    expect(governed.experimental_toolApprovalSecret).toBe(SECRET);
    const model = new MockLanguageModelV4({ doGenerate: [callTurn, textTurn] });
    const messages: ModelMessage[] = [{ role: 'user', content: 'send 5 000' }];
    const first = await generateText({ model, ...governed, stopWhen: isStepCount(3), messages });
    const requests = first.content.flatMap((p) => (p.type === 'tool-approval-request' ? [p] : []));
    expect(requests[0]?.signature).toEqual(expect.any(String));
    messages.push(...first.responseMessages, { role: 'tool', content: [{ type: 'tool-approval-response', approvalId: requests[0]!.approvalId, approved: true }] });
    await generateText({ model, ...governed, stopWhen: isStepCount(3), messages });
    expect(ran).toEqual([5000]);
    expect(warn).not.toHaveBeenCalled();
  });

  it('ai@6: the same spread works (ai@6 ignores toolApproval; needsApproval pauses)', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { gate, ran } = gateAndTransfer();
    const transfer = ai6.tool({ inputSchema: z.object({ amount: z.number(), to: z.string() }), execute: async ({ amount }: { amount: number }) => ran.push(amount) });
    const governed = governedOptions({ transfer } as never, gate, { approvalSecret: SECRET });
    const model = new MockLanguageModelV3({ doGenerate: [callTurn, textTurn] as never });
    const messages: ai6.ModelMessage[] = [{ role: 'user', content: 'send 5 000' }];
    // ai@6's generateText, typed loosely (its option types are not ai@7's).
    const generate = ai6.generateText as unknown as (a: object) => Promise<{ content: Array<{ type: string; approvalId?: string }>; response: { messages: ai6.ModelMessage[] } }>;
    const settings = { model, ...governed, stopWhen: ai6.stepCountIs(3) };
    const first = await generate({ ...settings, messages });
    const requests = first.content.filter((p) => p.type === 'tool-approval-request');
    expect(requests).toHaveLength(1);
    messages.push(...first.response.messages, { role: 'tool', content: [{ type: 'tool-approval-response', approvalId: requests[0]!.approvalId!, approved: true }] });
    await generate({ ...settings, messages });
    expect(ran).toEqual([5000]);
    expect(warn).not.toHaveBeenCalled();
  });
});
