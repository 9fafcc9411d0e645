// Exactly-once across processes for the AI SDK: an approved continuation replayed in a "new
// process" — a fresh gate on the same ledger file, fresh governed tools and toolApproval — must
// not run the tool a second time (plain and streaming tools, both majors).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callbackReviewer, createGate, type GateLedger } from '@toolgate/core';
import { sqliteLedger } from '@toolgate/core/ledger-sqlite';
import type { ModelMessage } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { GovernanceOptions } from './options';
import { editedApprovalResponse } from './edit-approval';
import { approvalResponse, harnesses, toolMessageSeen, type Harness } from './test-harness';
import { toolApproval } from './tool-approval';
import { withGovernance } from './with-governance';

const SECRET = 'test-secret-0123456789abcdef0123456789';
const dirs: string[] = [];
const ledgers: GateLedger[] = [];
afterEach(async () => {
  await Promise.all(ledgers.splice(0).map((l) => l.close?.()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function ledgerFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-ai-ledger-'));
  dirs.push(dir);
  return join(dir, 'ledger.db');
}

/** One process: its own ledger connection, gate, governed tools and toolApproval. */
function processWith(h: Harness, path: string, ran: number[], streaming: boolean) {
  const ledger = sqliteLedger(path);
  ledgers.push(ledger);
  const gate = createGate({
    reviewer: callbackReviewer(({ call }) => ((call.args as { amount: number }).amount > 100 ? { verdict: 'review', reason: 'large' } : { verdict: 'allow', reason: 'small' })),
    highStakes: ['transfer'],
    telemetry: false,
    ledger,
  });
  const execute = streaming
    ? async function* ({ amount }: { amount: number }) {
        ran.push(amount);
        yield { sent: amount };
      }
    : async ({ amount }: { amount: number }) => {
        ran.push(amount);
        return { sent: amount };
      };
  const options: GovernanceOptions = { approvalSecret: SECRET };
  const tools = withGovernance({ transfer: h.tool({ description: 'Move money', inputSchema: z.object({ amount: z.number(), to: z.string() }), execute }) }, gate, options);
  return { tools, approval: toolApproval(gate, options) };
}

describe.each(harnesses)('ai-sdk with a gate ledger ($name)', (h) => {
  it.each([false, true])('an approved continuation replayed in a new process does not run the tool again (streaming tool: %s)', async (streaming) => {
    const path = ledgerFile();
    const ran: number[] = [];
    const p1 = processWith(h, path, ran, streaming);
    const messages: ModelMessage[] = [{ role: 'user', content: 'send 500' }];
    const model = h.script([{ calls: [{ tool: 'transfer', input: { amount: 500, to: 'eve' }, id: 'call-1' }] }, { text: 'sent' }]);
    const r1 = await h.generate({ model, tools: p1.tools, messages, approvalSecret: SECRET, toolApproval: p1.approval });
    expect(r1.approvalRequests).toHaveLength(1);
    messages.push(...r1.responseMessages, approvalResponse(r1.approvalRequests, true, 'ok by alice'));

    // The continuation runs in a second process: the human's signed yes runs the call once.
    const p2 = processWith(h, path, ran, streaming);
    await h.generate({ model, tools: p2.tools, messages: [...messages], approvalSecret: SECRET, toolApproval: p2.approval });
    expect(ran).toEqual([500]);

    // The same continuation replayed in a third process.
    const p3 = processWith(h, path, ran, streaming);
    const replay = h.script([{ text: 'again' }]);
    await h.generate({ model: replay, tools: p3.tools, messages: [...messages], approvalSecret: SECRET, toolApproval: p3.approval });
    expect(ran).toEqual([500]);
    const seen = toolMessageSeen(replay, 0)[0]?.output;
    expect(seen?.type).toBe('execution-denied');
    expect(seen?.reason).toContain('already ran');
  });

  it.each([false, true])('an edited approval replayed in a new process runs once, with the edited input (streaming tool: %s)', async (streaming) => {
    const path = ledgerFile();
    const ran: number[] = [];
    const p1 = processWith(h, path, ran, streaming);
    const messages: ModelMessage[] = [{ role: 'user', content: 'send 25 000' }];
    const model = h.script([{ calls: [{ tool: 'transfer', input: { amount: 25_000, to: 'eve' }, id: 'call-1' }] }, { text: 'sent' }]);
    const r1 = await h.generate({ model, tools: p1.tools, messages, approvalSecret: SECRET, toolApproval: p1.approval });
    messages.push(...r1.responseMessages, { role: 'tool', content: [editedApprovalResponse({ approvalId: r1.approvalRequests[0]!.approvalId, input: { amount: 2_500, to: 'eve' } })] });

    const p2 = processWith(h, path, ran, streaming);
    await h.generate({ model, tools: p2.tools, messages: [...messages], approvalSecret: SECRET, toolApproval: p2.approval });
    expect(ran).toEqual([2_500]);
    expect(JSON.stringify(toolMessageSeen(model, 1)[0]?.output)).toContain('The call ran with edited arguments: {\\"amount\\":2500,\\"to\\":\\"eve\\"}');

    // The same edited continuation in a third process, and the original approved there instead.
    const p3 = processWith(h, path, ran, streaming);
    const replay = h.script([{ text: 'again' }]);
    await h.generate({ model: replay, tools: p3.tools, messages: [...messages], approvalSecret: SECRET, toolApproval: p3.approval });
    expect(ran).toEqual([2_500]);
    expect(toolMessageSeen(replay, 0)[0]?.output?.type).toBe('execution-denied');

    const asked = [...messages.slice(0, -1), approvalResponse(r1.approvalRequests, true)];
    const p4 = processWith(h, path, ran, streaming);
    await h.generate({ model: h.script([{ text: 'again' }]), tools: p4.tools, messages: asked, approvalSecret: SECRET, toolApproval: p4.approval });
    expect(ran).toEqual([2_500]);
  });
});
