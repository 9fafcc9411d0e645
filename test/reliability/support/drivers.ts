/**
 * One high-stakes call (`transfer`) driven through core and through each adapter's public API
 * with the framework's own scripted model. Every driver counts executions of the tool body: the
 * side-effect counter every reliability row asserts on.
 */
import { AIMessage, HumanMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { tool as lcTool } from '@langchain/core/tools';
import { Annotation, MemorySaver, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { Agent, Runner, tool as oaTool } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { withGovernance } from '@toolgate/ai-sdk';
import { isAllowed, type Gate } from '@toolgate/core';
import { addGovernance, GovernanceAnnotation } from '@toolgate/langgraph';
import { GovernanceHooks } from '@toolgate/openai-agents';
import { generateText, stepCountIs, tool as aiTool } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { z } from 'zod';

export interface DriveCall {
  args: { amount: number; [k: string]: unknown };
  callId: string;
}

export interface DriveResult {
  /** Times the high-stakes body ran. */
  executed: number;
  /** What the framework threw, if it did (an abort, a typed denial). */
  thrown?: unknown;
}

export interface Driver {
  name: 'core' | 'openai-agents' | 'langgraph' | 'ai-sdk';
  run(gate: Gate, call: DriveCall, options?: { signal?: AbortSignal }): Promise<DriveResult>;
}

const schema = z.object({ amount: z.number() }).passthrough();

/** Core: the adapter-free pattern from the README — run only when the Decision allows it. */
const core: Driver = {
  name: 'core',
  async run(gate, call, options) {
    let executed = 0;
    try {
      const decision = await gate.review({ tool: 'transfer', args: call.args, callId: call.callId, runId: 'rel' }, options?.signal ? { signal: options.signal } : undefined);
      // A careful caller also honours its own cancellation.
      if (isAllowed(decision) && !options?.signal?.aborted) {
        executed += 1;
        await gate.reportOutcome(decision, { status: 'success' });
      }
      return { executed };
    } catch (thrown) {
      return { executed, thrown };
    }
  },
};

const openaiAgents: Driver = {
  name: 'openai-agents',
  async run(gate, call, options) {
    let executed = 0;
    const transfer = oaTool({
      name: 'transfer',
      description: 'Move money',
      parameters: schema,
      execute: async ({ amount }) => {
        executed += 1;
        return `sent ${amount}`;
      },
    });
    const model = new ScriptedModel([[functionCall('transfer', call.args, { callId: call.callId })], [assistantMessage('done')]]);
    const agent = new Agent({ name: 'bank', model, tools: [transfer] });
    const runner = new GovernanceHooks(gate).attach(new Runner({ tracingDisabled: true }));
    try {
      await runner.run(agent, 'send it', options?.signal ? { signal: options.signal } : {});
      return { executed };
    } catch (thrown) {
      return { executed, thrown };
    }
  },
};

const GovernedState = Annotation.Root({ ...MessagesAnnotation.spec, ...GovernanceAnnotation.spec });

const langgraph: Driver = {
  name: 'langgraph',
  async run(gate, call, options) {
    let executed = 0;
    const transfer = lcTool(
      async ({ amount }: { amount: number }) => {
        executed += 1;
        return `sent ${amount}`;
      },
      { name: 'transfer', description: 'Move money', schema },
    );
    const model = fakeModel().respondWithTools([{ name: 'transfer', args: call.args, id: call.callId }]).respond(new AIMessage('done'));
    // agent → governance → human gate → tools → agent (the StateGraph wiring from the package README).
    const builder = new StateGraph(GovernedState)
      .addNode('agent', async (state: typeof GovernedState.State) => ({ messages: [await model.invoke(state.messages)] }))
      .addEdge(START, 'agent');
    const graph = addGovernance(builder, { gate, tools: [transfer] }).compile({ checkpointer: new MemorySaver() });
    try {
      await graph.invoke({ messages: [new HumanMessage('send it')] }, { configurable: { thread_id: `t-${call.callId}` }, ...(options?.signal ? { signal: options.signal } : {}) });
      return { executed };
    } catch (thrown) {
      return { executed, thrown };
    }
  },
};

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
};

const aiSdk: Driver = {
  name: 'ai-sdk',
  async run(gate, call, options) {
    let executed = 0;
    const transfer = aiTool({
      description: 'Move money',
      inputSchema: schema,
      execute: async ({ amount }: { amount: number }) => {
        executed += 1;
        return { sent: amount };
      },
    });
    const tools = withGovernance({ transfer }, gate);
    const model = new MockLanguageModelV4({
      doGenerate: [
        { content: [{ type: 'tool-call', toolCallId: call.callId, toolName: 'transfer', input: JSON.stringify(call.args) }], finishReason: { unified: 'tool-calls', raw: undefined }, usage, warnings: [] },
        { content: [{ type: 'text', text: 'done' }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] },
      ] as never,
    });
    try {
      await generateText({ model, tools, prompt: 'send it', stopWhen: stepCountIs(3), ...(options?.signal ? { abortSignal: options.signal } : {}) });
      return { executed };
    } catch (thrown) {
      return { executed, thrown };
    }
  },
};

export const drivers: ReadonlyArray<Driver> = [core, openaiAgents, langgraph, aiSdk];
