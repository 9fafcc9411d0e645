// Exactly-once across processes: an approved RunState string replayed with a fresh gate (same
// ledger file), fresh hooks, runner and agent must not run the tool a second time.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, Runner, RunState, tool } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { callbackReviewer, createGate, type GateLedger, type ReviewerVerdict } from '@toolgate/core';
import { sqliteLedger } from '@toolgate/core/ledger-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { getDecisions, GovernanceHooks } from './index';

const REVIEW: ReviewerVerdict = { verdict: 'review', reason: 'a human must approve', reviewId: 'rev_1' };
const ALLOW: ReviewerVerdict = { verdict: 'allow', reason: 'fine' };
const dirs: string[] = [];
const ledgers: GateLedger[] = [];
afterEach(async () => {
  await Promise.all(ledgers.splice(0).map((l) => l.close?.()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function ledgerFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-oai-ledger-'));
  dirs.push(dir);
  return join(dir, 'ledger.db');
}

/** What one process builds: its own ledger connection, gate, hooks, runner, agent. */
function processWith(path: string, verdict: ReviewerVerdict, script: ConstructorParameters<typeof ScriptedModel>[0], ran: unknown[]) {
  const ledger = sqliteLedger(path);
  ledgers.push(ledger);
  const gate = createGate({ reviewer: callbackReviewer(() => verdict), highStakes: ['transfer'], telemetry: false, ledger });
  const transfer = tool({
    name: 'transfer',
    description: 'send money',
    parameters: z.object({ amount: z.number() }),
    execute: async ({ amount }) => {
      ran.push(amount);
      return `sent ${amount}`;
    },
  });
  const agent = new Agent({ name: 'bank', model: new ScriptedModel(script), tools: [transfer] });
  const runner = new GovernanceHooks(gate).attach(new Runner({ tracingDisabled: true }));
  return { gate, agent, runner };
}

describe('openai-agents with a gate ledger', () => {
  it('an approved RunState string replayed in a new process (fresh gate, same ledger) does not run the tool again', async () => {
    const path = ledgerFile();
    const ran: unknown[] = [];
    const p1 = processWith(path, REVIEW, [[functionCall('transfer', { amount: 700 }, { callId: 'call_1' })], [assistantMessage('done')]], ran);
    const first = await p1.runner.run(p1.agent, 'send 700');
    first.state.approve(first.interruptions[0]!);
    const saved = first.state.toString();
    await p1.runner.run(p1.agent, first.state);
    expect(ran).toEqual([700]);

    const p2 = processWith(path, REVIEW, [[assistantMessage('done again')]], ran);
    const replay = await p2.runner.run(p2.agent, await RunState.fromString(p2.agent, saved));
    expect(ran).toEqual([700]);
    expect(getDecisions(replay).get('call_1')).toMatchObject({ verdict: 'deny', error: { code: 'ALREADY_EXECUTED' } });
  });

  it('an approval saved before the run, resumed in two fresh processes: the tool runs once', async () => {
    const path = ledgerFile();
    const ran: unknown[] = [];
    const p1 = processWith(path, REVIEW, [[functionCall('transfer', { amount: 5 }, { callId: 'call_7' })]], ran);
    const first = await p1.runner.run(p1.agent, 'send 5');
    first.state.approve(first.interruptions[0]!);
    const saved = first.state.toString();
    for (const reply of ['ok', 'ok again']) {
      const p = processWith(path, REVIEW, [[assistantMessage(reply)]], ran);
      await p.runner.run(p.agent, await RunState.fromString(p.agent, saved));
    }
    expect(ran).toEqual([5]);
  });

  it('an allowed call whose run state is replayed in a new process is ALREADY_EXECUTED (reviewer allows again)', async () => {
    const path = ledgerFile();
    const ran: unknown[] = [];
    const script = () => [[functionCall('transfer', { amount: 9 }, { callId: 'call_9' })], [assistantMessage('done')]] as ConstructorParameters<typeof ScriptedModel>[0];
    const p1 = processWith(path, ALLOW, script(), ran);
    await p1.runner.run(p1.agent, 'send 9');
    const p2 = processWith(path, ALLOW, script(), ran);
    const again = await p2.runner.run(p2.agent, 'send 9');
    expect(ran).toEqual([9]);
    expect(getDecisions(again).get('call_9')).toMatchObject({ verdict: 'deny', error: { code: 'ALREADY_EXECUTED' } });
  });
});
