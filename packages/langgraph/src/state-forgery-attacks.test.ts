// Attacks on "state is not the gate" (issuedDecision): the gate vouches for a Decision by its
// idempotency key, tool and digest — these tests hand it a GENUINE Decision of the gate, copied
// from another thread or another call into the state of a thread the client can write
// (graph.updateState), and count tool-body runs. A Decision the gate issued for one call must not
// authorise another call (another thread, another agent, another tool call id).
import { AIMessage, RemoveMessage, type BaseMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { Command, END, MemorySaver, START, StateGraph } from '@langchain/langgraph';
import { callbackReviewer, createGate, memoryAudit, type Decision, type GateLedger, type ReviewRequest, type ReviewerVerdict } from '@toolgate/core';
import { sqliteLedger } from '@toolgate/core/ledger-sqlite';
import { createAgent } from 'langchain';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addGovernance } from './add-governance';
import { governanceNode } from './governance-node';
import { governedToolNode } from './governed-tool-node';
import { humanGateNode } from './human-gate-node';
import { routeAfterGovernance } from './route-after-governance';
import { governanceMiddleware } from './middleware/governance-middleware';
import { pendingReviews } from './pending-reviews';
import { GovernedState, harness, HIGH_STAKES, human, makeTools, threadConfig, toolMessagesById, type Harness } from './test-harness';

type Call = { name: string; args: Record<string, unknown>; id: string };

function model(calls: Call[]) {
  let m = fakeModel().respondWithTools(calls);
  for (let i = 0; i < 8; i++) m = m.respond(new AIMessage(`done ${i}`));
  return m;
}

/** shell: only the `ops` agent; transfer > 100: a human; anything else: allow. */
function agentPolicy(request: ReviewRequest): ReviewerVerdict {
  const args = request.call.args as { amount?: number };
  if (request.call.tool === 'shell') return request.agent?.id === 'ops' ? { verdict: 'allow', reason: 'ops may deploy' } : { verdict: 'deny', reason: 'only ops may run shell' };
  if (request.call.tool === 'transfer' && (args.amount ?? 0) > 100) return { verdict: 'review', reason: 'amount > 100', reviewId: `rev_${request.call.runId}_${request.call.callId}` };
  return { verdict: 'allow', reason: 'within limits' };
}

function sharedGate(policy: (r: ReviewRequest) => ReviewerVerdict = agentPolicy, ledger?: GateLedger) {
  const reviewed: ReviewRequest[] = [];
  const gate = createGate({
    reviewer: callbackReviewer((request) => {
      if (!request.dryRun) reviewed.push(request);
      return policy(request);
    }),
    highStakes: HIGH_STAKES,
    failMode: 'closed',
    audit: memoryAudit(),
    telemetry: false,
    ...(ledger ? { ledger } : {}),
  });
  return { gate, reviewed };
}

/** One app, one gate, two graphs: one runs as the `ops` agent, one as the `bot` agent. */
function graphAs(gate: ReturnType<typeof sharedGate>['gate'], agentId: string, calls: Call[], ran: string[], interruptBefore: string[] = []) {
  const m = model(calls);
  const builder = new StateGraph(GovernedState)
    .addNode('agent', async (s: typeof GovernedState.State) => ({ messages: [await m.invoke(s.messages)] }))
    .addEdge(START, 'agent');
  return addGovernance(builder, { gate, tools: makeTools(ran), governance: { agent: { id: agentId } } }).compile({
    checkpointer: new MemorySaver(),
    ...({ interruptBefore } as object),
  });
}

const decisionsIn = async (graph: { getState(c: unknown): Promise<{ values: Record<string, unknown> }> }, config: unknown) =>
  (await graph.getState(config)).values.toolgateDecisions as Record<string, Decision>;

describe('a genuine Decision of the gate, copied into another thread', () => {
  it("the ops agent's allow (not yet run: its turn waits for a human) copied into the bot's thread: the bot's shell runs 0 times, ops' once", async () => {
    const { gate } = sharedGate();
    const opsRan: string[] = [];
    const botRan: string[] = [];
    const deploy = { name: 'shell', args: { cmd: 'deploy prod' } };
    // ops: deploy (allowed for ops) + a big transfer (a human): the turn waits, the deploy has not run.
    const ops = graphAs(gate, 'ops', [{ ...deploy, id: 'ops_1' }, { name: 'transfer', args: { amount: 500 }, id: 'ops_2' }], opsRan);
    const opsConfig = threadConfig('ops-thread');
    expect(pendingReviews(await ops.invoke(human('deploy and pay'), opsConfig)).map((r) => r.tool_call_id)).toEqual(['ops_2']);
    const opsAllow = (await decisionsIn(ops, opsConfig)).ops_1!;
    expect(opsAllow.verdict).toBe('allow');
    expect(opsRan).toEqual([]);

    // bot: the same deploy, paused before its tools; the client copies the ops allow into its state.
    const bot = graphAs(gate, 'bot', [{ ...deploy, id: 'bot_1' }], botRan, ['tools']);
    const botConfig = threadConfig('bot-thread');
    await bot.invoke(human('deploy'), botConfig);
    await bot.updateState(botConfig, { toolgateDecisions: { bot_1: opsAllow } });
    const done = await bot.invoke(null, botConfig);
    expect(botRan).toEqual([]);
    expect(toolMessagesById(done.messages as BaseMessage[]).get('bot_1')?.status).toBe('error');

    // The ops turn, approved, runs its deploy once (its allow was not used up by the bot).
    await ops.invoke(new Command({ resume: { ops_2: { approved: true } } }), opsConfig);
    expect(opsRan.sort()).toEqual(['shell(deploy prod)', 'transfer(500)']);
  });

  it("another thread's pending review copied into this thread: this thread's human answer does not decide it (the other thread's approval still runs its call once)", async () => {
    const { gate } = sharedGate();
    const victimRan: string[] = [];
    const attackerRan: string[] = [];
    const pay = { name: 'transfer', args: { amount: 500 } };
    const victim = graphAs(gate, 'ops', [{ ...pay, id: 'v_1' }], victimRan);
    const victimConfig = threadConfig('victim-thread');
    const victimPaused = await victim.invoke(human('pay 500'), victimConfig);
    expect(pendingReviews(victimPaused).map((r) => r.tool_call_id)).toEqual(['v_1']);
    const victimReview = (await decisionsIn(victim, victimConfig)).v_1!;

    // The attacker's thread: the same transfer, paused before its tools, with the victim's review copied in.
    const attacker = graphAs(gate, 'ops', [{ ...pay, id: 'a_1' }], attackerRan, ['tools']);
    const attackerConfig = threadConfig('attacker-thread');
    await attacker.invoke(human('pay 500'), attackerConfig);
    await attacker.updateState(attackerConfig, { toolgateDecisions: { a_1: victimReview } });
    const asked = await attacker.invoke(null, attackerConfig);
    // Whatever the attacker's human is shown, rejecting it must not reject the victim's review.
    const shown = pendingReviews(asked);
    if (shown.length > 0) await attacker.invoke(new Command({ resume: { a_1: { approved: false, reason: 'no' } } }), attackerConfig);
    expect(attackerRan).toEqual([]);

    await victim.invoke(new Command({ resume: { v_1: { approved: true } } }), victimConfig);
    expect(victimRan).toEqual(['transfer(500)']);
  });
});

/** The separate-nodes wiring (agent → governance → human_gate → tools). */
function nodesGraphAs(gate: ReturnType<typeof sharedGate>['gate'], agentId: string, calls: Call[], ran: string[], interruptBefore: Array<'governance' | 'tools' | 'human_gate'>) {
  const m = model(calls);
  const agent = { id: agentId };
  return new StateGraph(GovernedState)
    .addNode('agent', async (s: typeof GovernedState.State) => ({ messages: [await m.invoke(s.messages)] }))
    .addNode('governance', governanceNode(gate, { agent }))
    .addNode('human_gate', humanGateNode(gate, { agent }))
    .addNode('tools', governedToolNode(makeTools(ran), gate, { agent }))
    .addEdge(START, 'agent')
    .addConditionalEdges('agent', (s: typeof GovernedState.State) => ((s.messages.at(-1) as AIMessage).tool_calls?.length ? 'governance' : END), ['governance', END])
    .addEdge('governance', 'human_gate')
    .addConditionalEdges('human_gate', routeAfterGovernance({ humanGate: 'human_gate', tools: 'tools', agent: 'agent' }), ['tools', 'agent', 'human_gate'])
    .addEdge('tools', 'agent')
    .compile({ checkpointer: new MemorySaver(), interruptBefore });
}

describe('governanceNode → humanGateNode → GovernedToolNode: a genuine Decision copied in after the review', () => {
  it("the bot's pending review replaced by the ops agent's allow (updateState as the human gate): the tool node does not take it, the bot's shell runs 0 times", async () => {
    // Here a bot's shell goes to a human instead of being denied outright.
    const { gate } = sharedGate((r) => (r.call.tool === 'shell' && r.agent?.id !== 'ops' ? { verdict: 'review', reason: 'a human approves bot shell' } : agentPolicy(r)));
    const opsRan: string[] = [];
    const botRan: string[] = [];
    const deploy = { name: 'shell', args: { cmd: 'deploy prod' } };
    const ops = nodesGraphAs(gate, 'ops', [{ ...deploy, id: 'ops_1' }], opsRan, ['tools']);
    const opsConfig = threadConfig('n-ops');
    await ops.invoke(human('deploy'), opsConfig);
    const opsAllow = (await decisionsIn(ops, opsConfig)).ops_1!;
    expect(opsAllow.verdict).toBe('allow');

    const bot = nodesGraphAs(gate, 'bot', [{ ...deploy, id: 'bot_1' }], botRan, ['human_gate']);
    const botConfig = threadConfig('n-bot');
    await bot.invoke(human('deploy'), botConfig);
    expect((await decisionsIn(bot, botConfig)).bot_1?.verdict).toBe('review');
    await bot.updateState(botConfig, { toolgateDecisions: { bot_1: opsAllow } }, 'human_gate');
    expect((await bot.getState(botConfig)).next).toEqual(['tools']);
    const done = await bot.invoke(null, botConfig);
    expect(botRan).toEqual([]);
    expect(toolMessagesById(done.messages as BaseMessage[]).get('bot_1')?.status).toBe('error');

    await ops.invoke(null, opsConfig);
    expect(opsRan).toEqual(['shell(deploy prod)']);
  });
});

describe('governanceNode: a genuine Decision copied in before the review', () => {
  it("the ops agent's allow written for the bot's call before its review: the bot's call is reviewed (a human is asked), not skipped, and runs 0 times unanswered", async () => {
    const { gate } = sharedGate((r) => (r.call.tool === 'shell' && r.agent?.id !== 'ops' ? { verdict: 'review', reason: 'a human approves bot shell' } : agentPolicy(r)));
    const opsRan: string[] = [];
    const botRan: string[] = [];
    const deploy = { name: 'shell', args: { cmd: 'deploy prod' } };
    const ops = nodesGraphAs(gate, 'ops', [{ ...deploy, id: 'ops_1' }], opsRan, ['tools']);
    const opsConfig = threadConfig('g-ops');
    await ops.invoke(human('deploy'), opsConfig);
    const opsAllow = (await decisionsIn(ops, opsConfig)).ops_1!;

    const bot = nodesGraphAs(gate, 'bot', [{ ...deploy, id: 'bot_1' }], botRan, ['governance']);
    const botConfig = threadConfig('g-bot');
    await bot.invoke(human('deploy'), botConfig);
    await bot.updateState(botConfig, { toolgateDecisions: { bot_1: opsAllow } });
    const paused = await bot.invoke(null, botConfig);
    expect(pendingReviews(paused).map((r) => r.tool_call_id)).toEqual(['bot_1']);
    expect(botRan).toEqual([]);
    await bot.invoke(new Command({ resume: { bot_1: { approved: false } } }), botConfig);
    expect(botRan).toEqual([]);
  });
});

describe('createAgent + governanceMiddleware: a genuine Decision copied into another thread', () => {
  it("the ops agent's allow copied into the bot's thread before its tools: the bot's shell runs 0 times", async () => {
    const { gate } = sharedGate();
    const opsRan: string[] = [];
    const botRan: string[] = [];
    const deploy = { name: 'shell', args: { cmd: 'deploy prod' } };
    const ops = createAgent({ model: model([{ ...deploy, id: 'ops_1' }]), tools: makeTools(opsRan), middleware: [governanceMiddleware(gate, { agent: { id: 'ops' } })], checkpointer: new MemorySaver() });
    const opsConfig = threadConfig('mw-ops');
    // Paused before its tools: the ops allow is issued, not yet run.
    await ops.invoke(human('deploy'), { ...opsConfig, interruptBefore: ['tools'] } as never);
    const opsAllow = ((await ops.graph.getState(opsConfig)).values as { toolgateDecisions: Record<string, Decision> }).toolgateDecisions.ops_1!;
    expect(opsAllow.verdict).toBe('allow');

    const bot = createAgent({ model: model([{ ...deploy, id: 'bot_1' }]), tools: makeTools(botRan), middleware: [governanceMiddleware(gate, { agent: { id: 'bot' } })], checkpointer: new MemorySaver() });
    const botConfig = threadConfig('mw-bot');
    await bot.invoke(human('deploy'), { ...botConfig, interruptBefore: ['tools'] } as never);
    await bot.graph.updateState(botConfig, { toolgateDecisions: { bot_1: opsAllow } });
    const done = await bot.invoke(null as never, botConfig);
    expect(botRan).toEqual([]);
    expect(toolMessagesById(done.messages).get('bot_1')?.status).toBe('error');

    await ops.invoke(null as never, opsConfig);
    expect(opsRan).toEqual(['shell(deploy prod)']);
  });
});

/** addGovernance over a given gate harness and checkpointer: one transfer of 500 (a human). */
function payGraph(h: Harness, saver = new MemorySaver(), id = 'c1') {
  const m = model([{ name: 'transfer', args: { amount: 500 }, id }]);
  const builder = new StateGraph(GovernedState)
    .addNode('agent', async (s: typeof GovernedState.State) => ({ messages: [await m.invoke(s.messages)] }))
    .addEdge(START, 'agent');
  return addGovernance(builder, { gate: h.gate, tools: h.tools }).compile({ checkpointer: saver });
}

/** The checkpoint of `config`'s history taken right before the human gate ran (its config, to fork from). */
async function beforeHumanGate(graph: ReturnType<typeof payGraph>, config: ReturnType<typeof threadConfig>) {
  for await (const snapshot of graph.getStateHistory(config)) {
    if (snapshot.next.includes('human_gate')) return snapshot.config;
  }
  throw new Error('no checkpoint before the human gate');
}

describe('time travel after the human answered (the human gate now uses the gate\'s remembered answer)', () => {
  it('approved and run, then forked from before the human gate and run again: the body ran once', async () => {
    const h = harness();
    const graph = payGraph(h);
    const config = threadConfig('tt-approve');
    await graph.invoke(human('pay'), config);
    await graph.invoke(new Command({ resume: { c1: { approved: true } } }), config);
    expect(h.ran).toEqual(['transfer(500)']);
    const fork = await beforeHumanGate(graph, config);
    const again = await graph.invoke(null, fork);
    expect(pendingReviews(again)).toEqual([]);
    await graph.invoke(new Command({ resume: { c1: { approved: true } } }), fork).catch(() => undefined);
    expect(h.ran).toEqual(['transfer(500)']);
  });

  it('rejected, then forked from before the human gate with the review in state turned into an approved allow, and approved again: ran 0 times', async () => {
    const h = harness();
    const graph = payGraph(h);
    const config = threadConfig('tt-reject');
    await graph.invoke(human('pay'), config);
    await graph.invoke(new Command({ resume: { c1: { approved: false } } }), config);
    expect(h.ran).toEqual([]);
    const fork = await beforeHumanGate(graph, config);
    const review = (((await graph.getState(fork)).values as { toolgateDecisions: Record<string, Decision> }).toolgateDecisions).c1!;
    expect(review.verdict).toBe('review');
    // The fork as a client would: the answer it wants written in, and a plain approval at the resume.
    const forged = await graph.updateState(fork, { toolgateDecisions: { c1: { ...review, verdict: 'allow', source: 'human', reason: 'approved' } } }, 'human_gate');
    await graph.invoke(null, forged);
    await graph.invoke(new Command({ resume: { c1: { approved: true } } }), forged).catch(() => undefined);
    const fork2 = await beforeHumanGate(graph, config);
    await graph.invoke(null, fork2);
    await graph.invoke(new Command({ resume: { c1: { approved: true } } }), fork2).catch(() => undefined);
    expect(h.ran).toEqual([]);
  });
});

describe('two-person approval (approvals.required: 2) with the Decision in state rewritten', () => {
  it('one approval of two: the call is answered with an error (fail closed, ran 0); the error removed and a forged 2-of-2 allow written in: ran 0 times', async () => {
    const h = harness({ policy: (r) => ((r.call.args as { amount: number }).amount > 100 ? { verdict: 'review', reason: 'two people', approvals: { required: 2 } } : { verdict: 'allow', reason: 'ok' }) });
    const graph = payGraph(h);
    const config = threadConfig('two-person');
    await graph.invoke(human('pay'), config);
    await graph.invoke(new Command({ resume: { c1: { approved: true, approver: 'alice' } } }), config);
    expect(h.ran).toEqual([]);
    const state = await graph.getState(config);
    const waiting = (state.values as { toolgateDecisions: Record<string, Decision> }).toolgateDecisions.c1!;
    expect(waiting.verdict).toBe('review');
    const answer = toolMessagesById(state.values.messages as BaseMessage[]).get('c1')!;
    expect(answer.status).toBe('error');
    // The client drops the error and everything after it, and writes the allow it wants, as the human gate.
    const after = (state.values.messages as BaseMessage[]).slice((state.values.messages as BaseMessage[]).indexOf(answer));
    const forged = await graph.updateState(
      config,
      { messages: after.map((m) => new RemoveMessage({ id: m.id! })), toolgateDecisions: { c1: { ...waiting, verdict: 'allow', source: 'human', approvals: { required: 2, approvers: ['alice', 'bob'] } } } },
      'human_gate',
    );
    const rewritten = await graph.getState(forged);
    expect(toolMessagesById(rewritten.values.messages as BaseMessage[]).has('c1')).toBe(false);
    expect(rewritten.next).toEqual(['tools']);
    await graph.invoke(null, forged);
    expect(h.ran).toEqual([]);
  });

  it('after the first approval the state copy is turned into an allow (updateState as the human gate): ran 0 times (the gate holds a review: the call is refused, not run)', async () => {
    const h = harness({ policy: (r) => ((r.call.args as { amount: number }).amount > 100 ? { verdict: 'review', reason: 'two people', approvals: { required: 2 } } : { verdict: 'allow', reason: 'ok' }) });
    const graph = payGraph(h);
    const config = threadConfig('two-person-allow');
    await graph.invoke(human('pay'), config);
    await graph.invoke(new Command({ resume: { c1: { approved: true, approver: 'alice' } } }), config);
    const waiting = ((await graph.getState(config)).values as { toolgateDecisions: Record<string, Decision> }).toolgateDecisions.c1!;
    const asAllow = await graph.updateState(config, { toolgateDecisions: { c1: { ...waiting, verdict: 'allow', source: 'human', approvals: { required: 2, approvers: ['alice', 'bob'] } } } }, 'human_gate');
    const done = await graph.invoke(null, asAllow);
    expect(h.ran).toEqual([]);
    expect(toolMessagesById(done.messages as BaseMessage[]).get('c1')?.status).toBe('error');
  });
});

describe('a review that expired, answered after a restart (no shared pending reviews)', () => {
  // The human gate asks the gate again for a review it does not hold (a restart), which gets a fresh
  // deadline; it hands resolveReview the deadline state showed the human, and core takes the earlier.
  it('expired an hour ago in process 1, approved in process 2: ran 0 times', async () => {
    let t = 1_000_000;
    const now = () => t;
    const saver = new MemorySaver();
    const first = harness({ now, reviewTimeoutMs: 60_000 });
    const config = threadConfig('expired-restart');
    expect(pendingReviews(await payGraph(first, saver).invoke(human('pay'), config))).toHaveLength(1);
    t += 3_600_000;
    const second = harness({ now, reviewTimeoutMs: 60_000 });
    await payGraph(second, saver).invoke(new Command({ resume: { c1: { approved: true } } }), config);
    expect(second.ran).toEqual([]);
  });
});

const dirs: string[] = [];
const ledgers: GateLedger[] = [];
afterEach(async () => {
  await Promise.all(ledgers.splice(0).map((l) => l.close?.()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('two processes sharing a gate ledger (the ledger vouches for what the other process issued)', () => {
  it("the ops process's allow (recorded in the ledger, not yet run) copied into a bot thread in the other process: the bot's shell runs 0 times, ops' once", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-lg-forge-'));
    dirs.push(dir);
    const path = join(dir, 'ledger.db');
    const opsLedger = sqliteLedger(path);
    const botLedger = sqliteLedger(path);
    ledgers.push(opsLedger, botLedger);
    const opsRan: string[] = [];
    const botRan: string[] = [];
    const deploy = { name: 'shell', args: { cmd: 'deploy prod' } };
    const ops = graphAs(sharedGate(agentPolicy, opsLedger).gate, 'ops', [{ ...deploy, id: 'ops_1' }, { name: 'transfer', args: { amount: 500 }, id: 'ops_2' }], opsRan);
    const opsConfig = threadConfig('ledger-ops');
    await ops.invoke(human('deploy and pay'), opsConfig);
    const opsAllow = (await decisionsIn(ops, opsConfig)).ops_1!;
    expect(opsAllow.verdict).toBe('allow');

    const bot = graphAs(sharedGate(agentPolicy, botLedger).gate, 'bot', [{ ...deploy, id: 'bot_1' }], botRan, ['tools']);
    const botConfig = threadConfig('ledger-bot');
    await bot.invoke(human('deploy'), botConfig);
    await bot.updateState(botConfig, { toolgateDecisions: { bot_1: opsAllow } });
    const done = await bot.invoke(null, botConfig);
    expect(botRan).toEqual([]);
    expect(toolMessagesById(done.messages as BaseMessage[]).get('bot_1')?.status).toBe('error');

    await ops.invoke(new Command({ resume: { ops_2: { approved: true } } }), opsConfig);
    expect(opsRan.sort()).toEqual(['shell(deploy prod)', 'transfer(500)']);
  });
});
