// Attack pass on a7d9ebf (a human's answer counts only for the call the human was shown, kept per
// tool + call id): a client-held RunState string whose paused call was changed after the human
// answered — the arguments AND the call id (every occurrence, so the SDK's approval follows it).
// Real SDK, only the model scripted; the decisive assertion is the body's side-effect counter.
import { RunState } from '@openai/agents';
import { describe, expect, it } from 'vitest';
import { bankWorld, forgedRunState } from './runstate-forgery.test-support';

const world = (ran: number[]) => bankWorld(ran);
const forged = forgedRunState;

describe('a RunState whose paused call was changed and renamed after the human approved it (same process)', () => {
  // Known limit, not fixed here: see the report. The governor keeps what it showed per tool + call
  // id; a call id it never saw is read as a RunState from a fresh process, where the string is all
  // there is. Anything in the string that could tell the two apart can be rewritten with it.
  it.fails('approved 500; the string changed to 900 under a call id the process never saw: 900 never runs', async () => {
    const ran: number[] = [];
    const w = world(ran);
    const paused = await w.runner.run(w.agent, 'send 500');
    expect(paused.interruptions).toHaveLength(1);
    paused.state.approve(paused.interruptions[0]!);
    const saved = paused.state.toString();
    await w.runner.run(w.agent, await RunState.fromString(w.agent, forged(saved, 900, 'call_2')));
    expect(ran).toEqual([]);
  });

  it('the same call id kept (a7d9ebf): 900 never runs; the untouched state runs 500 once', async () => {
    const ran: number[] = [];
    const w = world(ran);
    const paused = await w.runner.run(w.agent, 'send 500');
    paused.state.approve(paused.interruptions[0]!);
    const saved = paused.state.toString();
    await w.runner.run(w.agent, await RunState.fromString(w.agent, forged(saved, 900)));
    expect(ran).toEqual([]);
    await w.runner.run(w.agent, await RunState.fromString(w.agent, saved));
    expect(ran).toEqual([500]);
  });
});
