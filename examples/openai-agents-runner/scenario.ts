/**
 * OpenAI Agents JS + toolgate: one Runner, a HIGH_STAKES list, an allowed call, a denied call and a
 * call that pauses for a human (the SDK's own interruption) and resumes.
 * `run({ gate })` is what the workspace demo drives against the embedded reviewer server.
 */
import { Agent, Runner, RunState, tool, type Model } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { callbackReviewer, createGate, httpReviewer, type Decision, type Gate } from '@toolgate/core';
import { GovernanceHooks } from '@toolgate/openai-agents';
import { z } from 'zod';

/** The tools that need a reviewer before they run. Everything else runs ungated. */
export const HIGH_STAKES = ['transfer', 'deploy_*'];

export interface Row {
  framework: 'openai-agents';
  tool: string;
  args: unknown;
  verdict: Decision['verdict'];
  source: Decision['source'];
  executed: boolean;
}

export interface RunOptions {
  /** A gate to use. Default: a local callback reviewer (transfers up to 100 pass, more are denied, deploys need a human). */
  gate?: Gate;
  /** Or a toolgate reviewer server. */
  reviewerUrl?: string;
  apiKey?: string;
  /** Answers a paused call as the human would. Default: approve. */
  approve?: (call: { tool: string; args: unknown; reviewId?: string }) => boolean | Promise<boolean>;
  /** A real model (set when OPENAI_API_KEY is there); default: a scripted one. */
  model?: Model | string;
  log?: (line: string) => void;
}

/** A reviewer with no server: the rules of the example policy, in code. */
function localGate(): Gate {
  return createGate({
    highStakes: HIGH_STAKES,
    telemetry: false,
    reviewer: callbackReviewer(({ call }) => {
      const args = call.args as { amount?: number };
      if (call.tool === 'transfer') {
        return (args.amount ?? 0) <= 100
          ? { verdict: 'allow', reason: 'transfers up to 100 are pre-approved', decidedBy: 'policy' }
          : { verdict: 'deny', reason: 'transfers over 100 are not allowed for this agent', decidedBy: 'policy' };
      }
      return { verdict: 'review', reason: 'production deploys need a human', reviewId: `local-${call.callId}` };
    }),
  });
}

export async function run(options: RunOptions = {}): Promise<Row[]> {
  const log = options.log ?? (() => {});
  const gate =
    options.gate ??
    (options.reviewerUrl ? createGate({ highStakes: HIGH_STAKES, reviewer: httpReviewer({ url: options.reviewerUrl, apiKey: options.apiKey ?? '' }) }) : localGate());
  const executed = new Set<string>();

  const transfer = tool({
    name: 'transfer',
    description: 'Transfer money to an account',
    parameters: z.object({ to: z.string(), amount: z.number() }),
    execute: async ({ to, amount }, _ctx, details) => {
      executed.add(details?.toolCall?.callId ?? `transfer:${to}:${amount}`);
      return `sent ${amount} to ${to}`;
    },
  });
  const deploy = tool({
    name: 'deploy_prod',
    description: 'Deploy a service to production',
    parameters: z.object({ service: z.string() }),
    execute: async ({ service }, _ctx, details) => {
      executed.add(details?.toolCall?.callId ?? `deploy:${service}`);
      return `deployed ${service}`;
    },
  });

  const model =
    options.model ??
    new ScriptedModel([
      [functionCall('transfer', { to: 'alice', amount: 50 }, { callId: 'call_small' })],
      [functionCall('transfer', { to: 'mallory', amount: 5000 }, { callId: 'call_big' })],
      [functionCall('deploy_prod', { service: 'billing' }, { callId: 'call_deploy' })],
      [assistantMessage('Paid alice, refused the big transfer, deployed billing.')],
    ]);
  const agent = new Agent({
    name: 'ops-assistant',
    instructions:
      'Do these three things one at a time: transfer 50 to alice, transfer 5000 to mallory, deploy the billing service to production. If a tool is denied, do not retry it.',
    model,
    tools: [transfer, deploy],
  });

  const hooks = new GovernanceHooks(gate);
  const runner = hooks.attach(new Runner({ tracingDisabled: !process.env.OPENAI_API_KEY }));

  let result = await runner.run(agent, 'Run the ops checklist.');
  while (result.interruptions.length > 0) {
    // A real app would save result.state.toString() here and resume when the human answers.
    const state = (await RunState.fromString(agent, result.state.toString())) as typeof result.state;
    for (const item of state.getInterruptions()) {
      const callId = (item.rawItem as { callId?: string }).callId;
      const pending = callId ? hooks.decisionFor(callId) : undefined;
      const args = JSON.parse(item.arguments ?? '{}') as unknown;
      const yes = await (options.approve ?? (() => true))({ tool: item.name ?? '', args, ...(pending?.reviewId ? { reviewId: pending.reviewId } : {}) });
      log(`human ${yes ? 'approves' : 'rejects'} ${item.name} ${item.arguments}`);
      if (yes) state.approve(item);
      else state.reject(item, { message: 'rejected by the on-call engineer' });
    }
    result = await runner.run(agent, state);
  }
  log(`final output: ${String(result.finalOutput)}`);

  const rows: Row[] = [];
  for (const item of result.newItems) {
    const raw = item.rawItem as { type?: string; name?: string; callId?: string; arguments?: string };
    if (raw.type !== 'function_call' || !raw.callId || !raw.name) continue;
    const d = hooks.decisionFor(raw.callId);
    rows.push({
      framework: 'openai-agents',
      tool: raw.name,
      args: JSON.parse(raw.arguments ?? '{}'),
      verdict: d?.verdict ?? 'allow',
      source: d?.source ?? 'not_high_stakes',
      executed: executed.has(raw.callId),
    });
  }
  await gate.close();
  return rows;
}
