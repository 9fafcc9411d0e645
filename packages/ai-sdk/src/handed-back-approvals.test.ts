// Attack pass (handed-back state): what a client that holds the conversation (useChat sends the
// whole history back, and usually the chat id the app derives its runId from) can hand the
// governed tools and have them trust. The decisive assertion is the side-effect counter.
import type { GateLedger } from '@toolgate/core';
import { sqliteLedger } from '@toolgate/core/ledger-sqlite';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelMessage } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { editedApprovalResponse } from './edit-approval';
import { approvalResponse, harnesses, toolMessageSeen, type Harness } from './test-harness';
import { transferServer } from './transfer-server.test-support';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const server = (h: Harness, ledger?: GateLedger, ran: number[] = []) => transferServer(h, { ran, ...(ledger ? { ledger } : {}) });

describe.each(harnesses)('approvals handed back by the client ($name)', (h) => {
  it('an approved continuation replayed under another chat id (another runId) does not run the approved call a second time', async () => {
    const s = server(h);
    const model = h.script([{ calls: [{ tool: 'transfer', input: { amount: 500, to: 'eve' }, id: 'call-1' }] }, { text: 'sent' }]);
    const messages: ModelMessage[] = [{ role: 'user', content: 'send 500 to eve' }];
    const r1 = await s.request('chat-1', model, messages);
    expect(r1.approvalRequests).toHaveLength(1);
    messages.push(...r1.responseMessages, approvalResponse(r1.approvalRequests, true));
    await s.request('chat-1', model, [...messages]);
    expect(s.ran).toEqual([500]);

    // The same history, replayed as-is under the same chat id: refused (already ran).
    await s.request('chat-1', h.script([{ text: 'again' }]), [...messages]);
    expect(s.ran).toEqual([500]);
    // The same history under a chat id the client picks: the human approved ONE transfer.
    const replay = h.script([{ text: 'again' }]);
    await s.request('chat-2', replay, [...messages]);
    expect(s.ran).toEqual([500]);
    expect(toolMessageSeen(replay, 0)[0]?.output?.type).toBe('execution-denied');
    expect(toolMessageSeen(replay, 0)[0]?.output?.reason).toContain('already answered another review');
  });

  it('an approval with an edit (500 → 400), replayed under another chat id, does not run the edit a second time', async () => {
    const s = server(h);
    const model = h.script([{ calls: [{ tool: 'transfer', input: { amount: 500, to: 'eve' }, id: 'call-1' }] }, { text: 'sent' }]);
    const messages: ModelMessage[] = [{ role: 'user', content: 'send 500 to eve' }];
    const r1 = await s.request('chat-1', model, messages);
    expect(r1.approvalRequests).toHaveLength(1);
    messages.push(...r1.responseMessages, { role: 'tool', content: [editedApprovalResponse({ approvalId: r1.approvalRequests[0]!.approvalId, input: { amount: 400, to: 'eve' } })] });
    await s.request('chat-1', model, [...messages]);
    expect(s.ran).toEqual([400]);

    for (const chat of ['chat-2', 'chat-3']) await s.request(chat, h.script([{ text: 'again' }]), [...messages]);
    expect(s.ran).toEqual([400]);
  });

  it('the approved history replayed to another server process (another chat id, a shared ledger): the approved call ran once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-aisdk-answer-'));
    const [l1, l2] = [sqliteLedger(join(dir, 'ledger.db')), sqliteLedger(join(dir, 'ledger.db'))];
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }), () => l1.close?.(), () => l2.close?.());
    const ran: number[] = [];
    const [one, two] = [server(h, l1, ran), server(h, l2, ran)];
    const model = h.script([{ calls: [{ tool: 'transfer', input: { amount: 500, to: 'eve' }, id: 'call-1' }] }, { text: 'sent' }]);
    const messages: ModelMessage[] = [{ role: 'user', content: 'send 500 to eve' }];
    const r1 = await one.request('chat-1', model, messages);
    messages.push(...r1.responseMessages, approvalResponse(r1.approvalRequests, true));
    await one.request('chat-1', model, [...messages]);
    expect(ran).toEqual([500]);
    const replay = h.script([{ text: 'again' }]);
    await two.request('chat-2', replay, [...messages]);
    expect(ran).toEqual([500]);
    expect(toolMessageSeen(replay, 0)[0]?.output?.type).toBe('execution-denied');
  });
});
