// Shared by the claim-rule attack files (decision tiers, human answers, final noes, re-keyed and
// already-run Decisions): SQLite ledgers on temp files (two gates on one file stand for two
// processes) and one body-run counter shared by every gate of a test — the side effect the attacks
// aim at (a denied body runs 0 times, an approved one exactly once).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { memoryAudit } from '../audit/index';
import type { GateLedger } from '../ledger/ledger-types';
import { sqliteLedger } from '../ledger-sqlite';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import type { Decision, Reviewer, ReviewerVerdict, ToolCall } from '../types';
import { createGate } from './create-gate';
import type { GateOptions } from './gate-types';
import { runGoverned } from './governed';
import { reviewedArgs } from './reviewed-args';

const dirs: string[] = [];
const ledgers: GateLedger[] = [];
afterEach(async () => {
  await Promise.all(ledgers.splice(0).map((l) => l.close?.()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh SQLite file path, removed after the test. */
export function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-attacks-'));
  dirs.push(dir);
  return join(dir, 'ledger.db');
}

/** A ledger handle on `file` (what a process opens), closed after the test. */
export function openLedger(file: string = tempFile()): GateLedger {
  const ledger = sqliteLedger(file);
  ledgers.push(ledger);
  return ledger;
}

/** Gates for `transfer` that share one record of body runs. */
export function harness() {
  const runs: unknown[] = [];
  const make = (reviewer: Reviewer, ledger?: GateLedger, extra: Partial<GateOptions> = {}) => {
    const gate = createGate({ reviewer, highStakes: ['transfer'], audit: memoryAudit(), telemetry: false, ...(ledger ? { ledger } : {}), ...extra });
    /** runGoverned: claim, body, report. */
    const run = async (d: Decision): Promise<'ran' | 'refused'> => {
      if (d.verdict !== 'allow' && d.verdict !== 'allow_with_conditions') return 'refused';
      try {
        await runGoverned(gate, d, (args) => runs.push(args));
        return 'ran';
      } catch {
        return 'refused';
      }
    };
    /** enforce, then the app's body, then reportOutcome (no claim). */
    const enforceRun = async (call: ToolCall, between?: () => Promise<void>, reportTo?: { reportOutcome: (d: Decision, o: { status: 'success' }) => Promise<void> }): Promise<'ran' | 'refused'> => {
      let d: Decision;
      try {
        d = await gate.enforce(call);
      } catch {
        return 'refused';
      }
      runs.push(reviewedArgs(d, undefined));
      await between?.();
      await (reportTo ?? gate).reportOutcome(d, { status: 'success' });
      return 'ran';
    };
    return { gate, run, enforceRun };
  };
  return { runs, make };
}

/** A reviewer whose answers are scripted per ask of `transfer` (dry runs: allow); each ask can be held until released. */
export function scripted(answers: Array<ReviewerVerdict | (() => ReviewerVerdict)>, hold: boolean[] = []) {
  const gates: Array<() => void> = [];
  let n = 0;
  const reviewer = callbackReviewer(async (r) => {
    if (r.call.tool !== 'transfer' || r.dryRun) return { verdict: 'allow', reason: 'dry' };
    const i = n++;
    if (hold[i]) await new Promise<void>((res) => gates.push(res));
    const a = answers[Math.min(i, answers.length - 1)]!;
    return typeof a === 'function' ? a() : a;
  });
  return { reviewer, gates, asked: () => n };
}

/** The call most attacks aim at. */
export const pay: ToolCall = { tool: 'transfer', args: { amount: 6_000 }, callId: 'pay', runId: 'r1' };

/** Long enough for a held review to reach the reviewer. */
export const tick = () => new Promise((r) => setTimeout(r, 20));
