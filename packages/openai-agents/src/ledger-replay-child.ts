// The "other process" of ledger-replay-process.test.ts: bundled by the test and run with
// `process.execPath`. It resumes a saved RunState with its own gate on the same SQLite ledger file
// and prints the Decision the gate made for call_1. Each run of the tool body appends a line to RAN.
import { appendFileSync, readFileSync } from 'node:fs';
import { Agent, Runner, RunState, tool } from '@openai/agents';
import { assistantMessage, ScriptedModel } from '@openai/agents/testing';
import { callbackReviewer, createGate } from '@toolgate/core';
import { sqliteLedger } from '@toolgate/core/ledger-sqlite';
import { z } from 'zod';
import { getDecisions, GovernanceHooks } from './index';

const { LEDGER, STATE, RAN } = process.env as Record<string, string>;
const ledger = sqliteLedger(LEDGER!);
const gate = createGate({ reviewer: callbackReviewer(() => ({ verdict: 'review', reviewId: 'rev_1' })), highStakes: ['transfer'], telemetry: false, ledger });
const transfer = tool({
  name: 'transfer',
  description: 'send money',
  parameters: z.object({ amount: z.number() }),
  execute: async ({ amount }) => {
    appendFileSync(RAN!, `${process.pid} ${amount}\n`);
    return `sent ${amount}`;
  },
});
const agent = new Agent({ name: 'bank', model: new ScriptedModel([[assistantMessage('done')]]), tools: [transfer] });
const runner = new GovernanceHooks(gate).attach(new Runner({ tracingDisabled: true }));
const result = await runner.run(agent, await RunState.fromString(agent, readFileSync(STATE!, 'utf8')));
const d = getDecisions(result).get('call_1');
process.stdout.write(JSON.stringify({ verdict: d?.verdict, source: d?.source, code: d?.error?.code ?? null }));
await gate.close();
await ledger.close?.();
