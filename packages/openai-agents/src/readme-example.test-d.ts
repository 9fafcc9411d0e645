// The README quick start, compiled by the type tests, plus the type guarantees of the public API.
import { Agent, Runner, shellTool, tool, type FunctionTool, type Shell, type ShellTool } from '@openai/agents';
import { callbackReviewer, createGate, type Decision } from '@toolgate/core';
import { expectTypeOf, test } from 'vitest';
import { z } from 'zod';
import { getDecisions, GovernanceHooks, governAgent, governTool } from './index';

test('README quick start compiles', async () => {
  // --- README: quick start ---
  const gate = createGate({
    reviewer: callbackReviewer(({ call }) =>
      (call.args as { amount: number }).amount <= 100
        ? { verdict: 'allow', reason: 'small transfer' }
        : { verdict: 'review', reason: 'a human must approve transfers over 100' },
    ),
    highStakes: ['transfer', 'shell', 'deploy_*'],
  });

  const transfer = tool({
    name: 'transfer',
    description: 'Send money',
    parameters: z.object({ to: z.string(), amount: z.number() }),
    execute: async ({ to, amount }) => `sent ${amount} to ${to}`,
  });
  const agent = new Agent({ name: 'bank', instructions: 'Help with payments.', tools: [transfer] });

  const runner = new GovernanceHooks(gate).attach(new Runner());
  let result = await runner.run(agent, 'Send 500 to bob');
  for (const item of result.interruptions) {
    result.state.approve(item); // or result.state.reject(item, { message: 'no' })
  }
  if (result.interruptions.length > 0) result = await runner.run(agent, result.state);
  const decision = getDecisions(result).get('call_1'); // { verdict, source, reviewId, proof, … }
  // --- end ---
  expectTypeOf(decision).toEqualTypeOf<Decision | undefined>();
  expectTypeOf(runner).toEqualTypeOf<Runner>();
});

test('governAgent / governTool return the same types', () => {
  const gate = createGate({ reviewer: callbackReviewer(() => ({ verdict: 'allow' })), highStakes: ['x'] });
  const t = tool({ name: 'x', description: 'x', parameters: z.object({ n: z.number() }), execute: async ({ n }) => n * 2 });
  expectTypeOf(governTool(t, gate)).toEqualTypeOf(t);
  expectTypeOf(governTool(t, gate)).not.toEqualTypeOf<FunctionTool>();
  const shell: Shell = { run: async () => ({ output: [] }) };
  const sh = shellTool({ shell });
  const governedShell: ShellTool = governTool(sh, gate); // the same type in, the same type out
  // @ts-expect-error a governed shell tool is not a FunctionTool
  const notFunction: FunctionTool = governTool(sh, gate);
  void governedShell;
  void notFunction;
  const agent = new Agent<{ tenant: string }, 'text'>({ name: 'a', tools: [t] });
  expectTypeOf(governAgent(agent, gate)).toEqualTypeOf<Agent<{ tenant: string }, 'text'>>();
  expectTypeOf(new GovernanceHooks(gate).attach(new Runner())).toEqualTypeOf<Runner>();
});
