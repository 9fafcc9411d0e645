// Test-only: one server process of an app that governs a `transfer` tool with approvals — the gate,
// the governed tools and the approval hook, with the run id taken from each request (the chat id
// the client sends). Shared by the handed-back-approval attack tests.
import { callbackReviewer, createGate, type GateLedger, type ReviewRequest, type ReviewerVerdict } from '@toolgate/core';
import type { ModelMessage } from 'ai';
import { z } from 'zod';
import type { GovernanceOptions } from './options';
import type { Harness } from './test-harness';
import { toolApproval } from './tool-approval';
import { withGovernance } from './with-governance';

export const SECRET = 'test-secret-0123456789abcdef0123456789';

/** Over 100 needs a human; anything smaller is allowed. */
const byAmount = ({ call }: ReviewRequest): ReviewerVerdict => ((call.args as { amount: number }).amount > 100 ? { verdict: 'review', reason: 'large' } : { verdict: 'allow', reason: 'small' });

export interface TransferServerOptions {
  /** Every transfer body that ran, by amount (share one array between "processes"). */
  ran?: number[];
  ledger?: GateLedger;
  policy?: (request: ReviewRequest) => ReviewerVerdict;
  now?: () => number;
  reviewTimeoutMs?: number;
}

export function transferServer(h: Harness, o: TransferServerOptions = {}) {
  const ran = o.ran ?? [];
  const gate = createGate({
    ...(o.ledger ? { ledger: o.ledger } : {}),
    reviewer: callbackReviewer(o.policy ?? byAmount),
    highStakes: ['transfer'],
    telemetry: false,
    ...(o.now ? { now: o.now } : {}),
    ...(o.reviewTimeoutMs !== undefined ? { reviewTimeoutMs: o.reviewTimeoutMs } : {}),
  });
  let chatId = 'chat-1';
  const options: GovernanceOptions = { approvalSecret: SECRET, call: () => ({ runId: chatId }) };
  const tools = withGovernance(
    {
      transfer: h.tool({
        description: 'Move money',
        inputSchema: z.object({ amount: z.number(), to: z.string() }),
        execute: async ({ amount }: { amount: number }) => {
          ran.push(amount);
          return { sent: amount };
        },
      }),
    },
    gate,
    options,
  );
  const approval = toolApproval(gate, options);
  /** One request: the chat id and the messages are the client's. */
  const request = (id: string, model: ReturnType<Harness['script']>, messages: ModelMessage[]) => {
    chatId = id;
    return h.generate({ model, tools, messages, approvalSecret: SECRET, toolApproval: approval });
  };
  return { ran, request };
}
