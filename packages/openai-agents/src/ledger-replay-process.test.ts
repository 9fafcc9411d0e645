// Exactly-once across real processes: an approved RunState string resumed by two other Node
// processes (each with its own gate on the same SQLite ledger file) runs the tool once in total.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Agent, Runner, tool } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { callbackReviewer, createGate } from '@toolgate/core';
import { sqliteLedger } from '@toolgate/core/ledger-sqlite';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GovernanceHooks } from './index';

const run = promisify(execFile);
const core = (p: string) => fileURLToPath(new URL(`../../core/src/${p}`, import.meta.url));
let dir: string;
let child: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'toolgate-ledger-process-'));
  child = join(dir, 'child.mjs');
  // One self-contained ESM file (the workspace's TypeScript sources included), so the child needs no loader.
  await build({
    entryPoints: [fileURLToPath(new URL('./ledger-replay-child.ts', import.meta.url))],
    outfile: child,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    logLevel: 'silent',
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    plugins: [
      {
        name: 'toolgate-sources',
        setup(b) {
          b.onResolve({ filter: /^@toolgate\/core$/ }, () => ({ path: core('index.ts') }));
          b.onResolve({ filter: /^@toolgate\/core\/ledger-sqlite$/ }, () => ({ path: core('ledger-sqlite.ts') }));
        },
      },
    ],
  });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openai-agents + sqliteLedger across Node processes', () => {
  it('an approved RunState resumed by two other processes runs the tool once; the parent replaying it afterwards does not run it either', async () => {
    const ledgerPath = join(dir, 'ledger.db');
    const statePath = join(dir, 'state.json');
    const ranPath = join(dir, 'ran.txt');
    let ranHere = 0;
    const ledger = sqliteLedger(ledgerPath);
    const gate = createGate({ reviewer: callbackReviewer(() => ({ verdict: 'review', reviewId: 'rev_1' })), highStakes: ['transfer'], telemetry: false, ledger });
    const transfer = tool({
      name: 'transfer',
      description: 'send money',
      parameters: z.object({ amount: z.number() }),
      execute: async ({ amount }) => {
        ranHere++;
        return `sent ${amount}`;
      },
    });
    const agent = new Agent({ name: 'bank', model: new ScriptedModel([[functionCall('transfer', { amount: 700 }, { callId: 'call_1' })], [assistantMessage('done')]]), tools: [transfer] });
    const runner = new GovernanceHooks(gate).attach(new Runner({ tracingDisabled: true }));
    const first = await runner.run(agent, 'send 700');
    first.state.approve(first.interruptions[0]!);
    writeFileSync(statePath, first.state.toString());

    const env = { ...process.env, LEDGER: ledgerPath, STATE: statePath, RAN: ranPath };
    const a = await run(process.execPath, [child], { env, timeout: 60_000 });
    const b = await run(process.execPath, [child], { env, timeout: 60_000 });
    expect(JSON.parse(a.stdout)).toMatchObject({ verdict: 'allow', source: 'human' });
    expect(JSON.parse(b.stdout)).toMatchObject({ verdict: 'deny', code: 'ALREADY_EXECUTED' });
    expect(existsSync(ranPath) ? readFileSync(ranPath, 'utf8').trim().split('\n') : []).toHaveLength(1);

    // Back in this process: the saved approval does not run the call here either.
    await runner.run(agent, first.state);
    expect(ranHere).toBe(0);
    expect(readFileSync(ranPath, 'utf8').trim().split('\n')).toHaveLength(1);
    await ledger.close?.();
  }, 120_000);
});
