// A LangChain HITLResponse resumed in another process (a fresh gate on the same ledger, a freshly
// compiled graph on the same checkpoint store) runs the edited call once, however often it arrives.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AIMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { tool } from '@langchain/core/tools';
import { Command, MemorySaver, START, StateGraph } from '@langchain/langgraph';
import { callbackReviewer, createGate, type GateLedger } from '@toolgate/core';
import { sqliteLedger } from '@toolgate/core/ledger-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { addGovernance } from './add-governance';
import type { HitlResponse } from './hitl';
import { editPolicy } from './hitl-test-support';
import { GovernedState, HIGH_STAKES, human, threadConfig } from './test-harness';

const dirs: string[] = [];
const ledgers: GateLedger[] = [];
afterEach(async () => {
  await Promise.all(ledgers.splice(0).map((l) => l.close?.()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** One process: its own ledger connection, gate, model and compiled graph; the checkpoint store is shared. */
function processWith(path: string, saver: MemorySaver, calls: unknown[]) {
  const ledger = sqliteLedger(path);
  ledgers.push(ledger);
  const gate = createGate({ reviewer: callbackReviewer(editPolicy), highStakes: HIGH_STAKES, telemetry: false, ledger });
  const transfer = tool(
    async (args: { amount: number }) => {
      calls.push(args);
      return `transferred ${args.amount}`;
    },
    { name: 'transfer', description: 'Transfer money', schema: z.object({ amount: z.number() }) },
  );
  const model = fakeModel().respondWithTools([{ name: 'transfer', args: { amount: 25_000 }, id: 'c1' }]).respond(new AIMessage('done')).respond(new AIMessage('done again'));
  const builder = new StateGraph(GovernedState)
    .addNode('agent', async (state: typeof GovernedState.State) => ({ messages: [await model.invoke(state.messages)] }))
    .addEdge(START, 'agent');
  return addGovernance(builder, { gate, tools: [transfer] }).compile({ checkpointer: saver });
}

describe('HITLResponse across processes with a gate ledger', () => {
  it('an edit resumed in a second process runs once with the edited args; the same resume in a third process runs nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-lg-hitl-'));
    dirs.push(dir);
    const path = join(dir, 'ledger.db');
    const saver = new MemorySaver();
    const calls: unknown[] = [];
    const config = threadConfig('hitl-ledger');
    const edit: HitlResponse = { decisions: [{ type: 'edit', editedAction: { name: 'transfer', args: { amount: 2_500 } } }] };

    await processWith(path, saver, calls).invoke(human('pay 25k'), config);
    expect(calls).toEqual([]);
    const done = await processWith(path, saver, calls).invoke(new Command({ resume: edit }), config);
    expect(calls).toEqual([{ amount: 2_500 }]);
    expect(done.toolgateDecisions.c1).toMatchObject({ verdict: 'allow', source: 'human' });

    await processWith(path, saver, calls).invoke(new Command({ resume: edit }), config).catch(() => undefined);
    await processWith(path, saver, calls).invoke(new Command({ resume: { decisions: [{ type: 'approve' }] } }), config).catch(() => undefined);
    expect(calls).toEqual([{ amount: 2_500 }]);
  });
});
