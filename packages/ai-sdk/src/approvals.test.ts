import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { findApproval, verifyApprovalSignature } from './approvals';

const secret = 'approval-secret-0123456789abcdef';
const digest = (input: unknown) => createHash('sha256').update(JSON.stringify(input)).digest('base64url');
const sign = (payload: string) => createHmac('sha256', secret).update(payload).digest('base64url');
const base = { secret, approvalId: 'ap-1', toolCallId: 'call-1', toolName: 'transfer' };

describe('verifyApprovalSignature', () => {
  const input = { amount: 500, to: 'eve' };
  const v7 = sign(JSON.stringify(['ai-sdk-tool-approval-v1', 'ap-1', 'call-1', 'transfer', digest(input)]));
  const v6 = sign(`ap-1\ncall-1\ntransfer\n${digest(input)}`);

  it('accepts the ai@7 and ai@6 payloads for the exact call', async () => {
    expect(await verifyApprovalSignature({ ...base, signature: v7, input })).toBe(true);
    expect(await verifyApprovalSignature({ ...base, signature: v6, input })).toBe(true);
  });

  it('rejects other input, another tool, another secret, garbage', async () => {
    expect(await verifyApprovalSignature({ ...base, signature: v7, input: { amount: 5000, to: 'eve' } })).toBe(false);
    expect(await verifyApprovalSignature({ ...base, toolName: 'shell', signature: v7, input })).toBe(false);
    expect(await verifyApprovalSignature({ ...base, secret: 'another-secret-0123456789abcdef', signature: v7, input })).toBe(false);
    expect(await verifyApprovalSignature({ ...base, signature: '!!!', input })).toBe(false);
  });
});

describe('findApproval', () => {
  it('pairs a response with the request for this tool call only', () => {
    const messages = [
      { role: 'assistant' as const, content: [{ type: 'tool-approval-request' as const, approvalId: 'a1', toolCallId: 'c1', signature: 's' }] },
      { role: 'tool' as const, content: [{ type: 'tool-approval-response' as const, approvalId: 'a1', approved: true, reason: 'ok' }] },
    ];
    expect(findApproval(messages, 'c1')).toEqual({ approvalId: 'a1', signature: 's', approved: true, reason: 'ok' });
    expect(findApproval(messages, 'c2')).toBeUndefined();
  });
});
