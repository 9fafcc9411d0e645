// Exactly-once across processes for langchain createAgent + governanceMiddleware: a resume or a
// replay from an earlier checkpoint with a fresh gate on the same ledger file (and a fresh agent on
// the same checkpoint store) does not run a reviewed call again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AIMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { Command, MemorySaver } from '@langchain/langgraph';
import { callbackReviewer, createGate, type GateLedger } from '@toolgate/core';
import { sqliteLedger } from '@toolgate/core/ledger-sqlite';
import { createAgent } from 'langchain';
import { afterEach, describe, expect, it } from 'vitest';
import type { HumanReviewResume } from '../human-gate-node';
import { defaultPolicy, HIGH_STAKES, human, makeTools, threadConfig } from '../test-harness';
import { governanceMiddleware } from './governance-middleware';

const dirs: string[] = [];
const ledgers: GateLedger[] = [];
afterEach(async () => {
  await Promise.all(ledgers.splice(0).map((l) => l.close?.()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function processWith(path: string, saver: MemorySaver, ran: string[], amount: number) {
  const ledger = sqliteLedger(path);
  ledgers.push(ledger);
  const gate = createGate({ reviewer: callbackReviewer(defaultPolicy), highStakes: HIGH_STAKES, telemetry: false, ledger });
  const model = fakeModel().respondWithTools([{ name: 'transfer', args: { amount }, id: 'c1' }]).respond(new AIMessage('done')).respond(new AIMessage('done again'));
  return createAgent({ model, tools: makeTools(ran), middleware: [governanceMiddleware(gate)], checkpointer: saver });
}

describe('governanceMiddleware with a gate ledger', () => {
  it('an approval resumed in a second process runs once; forks replayed in a third process do not run it again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-mw-ledger-'));
    dirs.push(dir);
    const path = join(dir, 'ledger.db');
    const saver = new MemorySaver();
    const ran: string[] = [];
    const config = threadConfig('mw-ledger');
    await processWith(path, saver, ran, 500).invoke(human('pay 500'), config);
    await processWith(path, saver, ran, 500).invoke(new Command({ resume: { c1: { approved: true } } satisfies HumanReviewResume }), config);
    expect(ran).toEqual(['transfer(500)']);

    const third = processWith(path, saver, ran, 500);
    const forks: Array<{ configurable?: Record<string, unknown> }> = [];
    for await (const s of third.graph.getStateHistory(config)) if (s.next.includes('tools')) forks.push(s.config);
    expect(forks.length).toBeGreaterThan(0);
    for (const fork of forks) {
      await processWith(path, saver, ran, 500).graph.invoke(new Command({ resume: { c1: { approved: true } } }), fork as never).catch(() => undefined);
      await processWith(path, saver, ran, 500).graph.invoke(null, fork as never).catch(() => undefined);
    }
    expect(ran).toEqual(['transfer(500)']);
  });
});
