// Attack pass (7e429d3, d217f59) on the AI SDK adapter: a signed approval answered after the review's
// deadline, in a server process that did not ask the human (a restart, or another process behind the
// load balancer). The approval in the client-held history carries no time the server signed; the
// first ask's deadline lives only in the process that asked. The decisive assertion is the counter.
import type { GateLedger } from '@toolgate/core';
import { sqliteLedger } from '@toolgate/core/ledger-sqlite';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelMessage } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { approvalResponse, harnesses, type Harness } from './test-harness';
import { transferServer } from './transfer-server.test-support';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const clock = { t: 1_000_000 };

/** A server process whose reviews all need a human, on the test's clock; the run id is always chat-1. */
function server(h: Harness, ran: number[], ledger?: GateLedger) {
  const s = transferServer(h, { ran, ...(ledger ? { ledger } : {}), policy: () => ({ verdict: 'review', reason: 'a human decides' }), now: () => clock.t, reviewTimeoutMs: 60_000 });
  return (model: ReturnType<Harness['script']>, messages: ModelMessage[]) => s.request('chat-1', model, messages);
}

describe.each(harnesses)('a signed approval given after the review expired ($name)', (h) => {
  it('same process: the approval an hour late is refused, nothing runs', async () => {
    clock.t = 1_000_000;
    const ran: number[] = [];
    const one = server(h, ran);
    const model = h.script([{ calls: [{ tool: 'transfer', input: { amount: 500, to: 'eve' }, id: 'call-1' }] }, { text: 'sent' }]);
    const messages: ModelMessage[] = [{ role: 'user', content: 'send 500 to eve' }];
    const r1 = await one(model, messages);
    expect(r1.approvalRequests).toHaveLength(1);
    clock.t += 3_600_000;
    messages.push(...r1.responseMessages, approvalResponse(r1.approvalRequests, true));
    await one(model, [...messages]);
    expect(ran).toEqual([]);
  });

  // The second process issues the review afresh, and nothing in the history it can trust carries the
  // first deadline (the AI SDK signs approvalId, toolCallId, toolName and the input, no time). With a
  // shared ledger the gate keeps the first ask's deadline there (tg1-due:<key>). Without one, a
  // restart forgets it: a known limit (it.fails), as for every other in-memory record.
  for (const shared of [false, true]) {
    (shared ? it : it.fails)(`another process${shared ? ' sharing the ledger' : ''}: the approval an hour late is refused, nothing runs`, async () => {
      clock.t = 1_000_000;
      const ran: number[] = [];
      let ledgers: [GateLedger, GateLedger] | undefined;
      if (shared) {
        const dir = mkdtempSync(join(tmpdir(), 'toolgate-aisdk-deadline-'));
        ledgers = [sqliteLedger(join(dir, 'ledger.db')), sqliteLedger(join(dir, 'ledger.db'))];
        const [l1, l2] = ledgers;
        cleanup.push(() => rmSync(dir, { recursive: true, force: true }), () => l1.close?.(), () => l2.close?.());
      }
      const one = server(h, ran, ledgers?.[0]);
      const model = h.script([{ calls: [{ tool: 'transfer', input: { amount: 500, to: 'eve' }, id: 'call-1' }] }, { text: 'sent' }]);
      const messages: ModelMessage[] = [{ role: 'user', content: 'send 500 to eve' }];
      const r1 = await one(model, messages);
      expect(r1.approvalRequests).toHaveLength(1);
      clock.t += 3_600_000;
      messages.push(...r1.responseMessages, approvalResponse(r1.approvalRequests, true));
      const two = server(h, ran, ledgers?.[1]);
      await two(model, [...messages]);
      expect(ran).toEqual([]);
    });
  }
});

describe.each(harnesses)('an approval id the client picks for a replay ($name)', (h) => {
  it('the approved history replayed under another chat id with a fresh approvalId (the old signature kept): not trusted, the call ran once', async () => {
    clock.t = 1_000_000;
    const ran: number[] = [];
    const { request } = transferServer(h, { ran, policy: () => ({ verdict: 'review' }) });
    const model = h.script([{ calls: [{ tool: 'transfer', input: { amount: 500, to: 'eve' }, id: 'call-1' }] }, { text: 'sent' }]);
    const messages: ModelMessage[] = [{ role: 'user', content: 'send 500 to eve' }];
    const r1 = await request('chat-1', model, messages);
    messages.push(...r1.responseMessages, approvalResponse(r1.approvalRequests, true));
    await request('chat-1', model, [...messages]);
    expect(ran).toEqual([500]);
    const old = r1.approvalRequests[0]!.approvalId;
    expect(JSON.stringify(messages)).toContain('"signature"');
    const minted = JSON.parse(JSON.stringify(messages).replaceAll(old, 'fresh-approval-1')) as ModelMessage[];
    // The SDK itself refuses the history (its signature covers the approval id); whatever it does, nothing runs again.
    const replay = await request('chat-2', h.script([{ text: 'again' }]), minted).then(
      () => 'ran',
      (error: unknown) => String(error),
    );
    expect(replay).toMatch(/signature/i);
    expect(ran).toEqual([500]);
  });
});
