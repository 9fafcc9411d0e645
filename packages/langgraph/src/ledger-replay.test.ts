// Exactly-once across processes for LangGraph: a resume, or a replay from an earlier checkpoint, in
// a "new process" — a fresh gate on the same ledger file and a freshly compiled graph on the same
// checkpoint store — must not run a reviewed call a second time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AIMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { Command, MemorySaver, START, StateGraph } from '@langchain/langgraph';
import { callbackReviewer, createGate, type GateLedger } from '@toolgate/core';
import { sqliteLedger } from '@toolgate/core/ledger-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { addGovernance } from './add-governance';
import type { HumanReviewResume } from './human-gate-node';
import { defaultPolicy, GovernedState, HIGH_STAKES, human, makeTools, threadConfig, toolMessagesById } from './test-harness';

const dirs: string[] = [];
const ledgers: GateLedger[] = [];
afterEach(async () => {
  await Promise.all(ledgers.splice(0).map((l) => l.close?.()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function ledgerFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-lg-ledger-'));
  dirs.push(dir);
  return join(dir, 'ledger.db');
}

/** One process: its own ledger connection, gate, model and compiled graph; the checkpoint store is shared (a database). */
function processWith(path: string, saver: MemorySaver, ran: string[], amount: number) {
  const ledger = sqliteLedger(path);
  ledgers.push(ledger);
  const gate = createGate({ reviewer: callbackReviewer(defaultPolicy), highStakes: HIGH_STAKES, telemetry: false, ledger });
  const model = fakeModel().respondWithTools([{ name: 'transfer', args: { amount }, id: 'c1' }]).respond(new AIMessage('done')).respond(new AIMessage('done again'));
  const builder = new StateGraph(GovernedState)
    .addNode('agent', async (state: typeof GovernedState.State) => ({ messages: [await model.invoke(state.messages)] }))
    .addEdge(START, 'agent');
  return addGovernance(builder, { gate, tools: makeTools(ran) }).compile({ checkpointer: saver });
}

async function beforeTools(graph: ReturnType<typeof processWith>, config: ReturnType<typeof threadConfig>) {
  let found: { configurable?: Record<string, unknown> } | undefined;
  for await (const s of graph.getStateHistory(config)) if (s.next.includes('tools')) found = s.config;
  expect(found?.configurable?.checkpoint_id).toBeDefined();
  return found as never;
}

describe('langgraph with a gate ledger', () => {
  it('replaying from the checkpoint before the tools in a new process (fresh gate, same ledger) does not run the allowed call again', async () => {
    const path = ledgerFile();
    const saver = new MemorySaver();
    const ran: string[] = [];
    const config = threadConfig('ledger-time-travel');
    await processWith(path, saver, ran, 5).invoke(human('pay 5'), config);
    expect(ran).toEqual(['transfer(5)']);

    const second = processWith(path, saver, ran, 5);
    const replay = await second.invoke(null, await beforeTools(second, config));
    expect(ran).toEqual(['transfer(5)']);
    expect(String(toolMessagesById(replay.messages).get('c1')?.content)).toContain('already ran');
  });

  it('a human approval resumed in a second process runs once; a replay in a third process does not run it again', async () => {
    const path = ledgerFile();
    const saver = new MemorySaver();
    const ran: string[] = [];
    const config = threadConfig('ledger-human');
    await processWith(path, saver, ran, 500).invoke(human('pay 500'), config);
    expect(ran).toEqual([]);

    await processWith(path, saver, ran, 500).invoke(new Command({ resume: { c1: { approved: true } } satisfies HumanReviewResume }), config);
    expect(ran).toEqual(['transfer(500)']);

    const third = processWith(path, saver, ran, 500);
    await third.invoke(null, await beforeTools(third, config));
    // The same resume sent again, in yet another process.
    await processWith(path, saver, ran, 500).invoke(new Command({ resume: { c1: { approved: true } } satisfies HumanReviewResume }), config);
    expect(ran).toEqual(['transfer(500)']);
  });
});
