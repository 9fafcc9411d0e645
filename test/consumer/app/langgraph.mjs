// @toolgate/langgraph with the latest @langchain/langgraph and @langchain/core: the governance node reviews two calls.
import assert from 'node:assert/strict';
import { AIMessage } from '@langchain/core/messages';
import { createGate, policyReviewer } from '@toolgate/core';
import { governanceNode } from '@toolgate/langgraph';
import { governanceMiddleware } from '@toolgate/langgraph/middleware';

assert.equal(typeof governanceMiddleware, 'function');
const gate = createGate({ reviewer: policyReviewer('./policy.yaml'), highStakes: ['transfer'] });
const node = governanceNode(gate);
const ai = new AIMessage({
  content: '',
  tool_calls: [
    { id: 'call_small', name: 'transfer', args: { to: 'alice', amount: 50 }, type: 'tool_call' },
    { id: 'call_big', name: 'transfer', args: { to: 'mallory', amount: 5000 }, type: 'tool_call' },
  ],
});
const update = await node({ messages: [ai], toolgateDecisions: {} }, { configurable: { thread_id: 'consumer' } });
assert.equal(update.toolgateDecisions.call_small.verdict, 'allow');
assert.equal(update.toolgateDecisions.call_big.verdict, 'deny');
assert.equal(update.messages.length, 1);
assert.equal(update.messages[0].tool_call_id, 'call_big');
await gate.close();
console.log('langgraph: allowed 1, denied 1');
