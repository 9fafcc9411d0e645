// The runnable examples in examples/human-loop are what docs/human-loop.md points to: each must do
// what it prints. In every framework the human's edit (25 000 → 2 500) is reviewed again, the body
// runs exactly once with exactly the edited arguments, and the model is told about the edit.
import { describe, expect, it } from 'vitest';
import { run as runAiSdk } from '../../examples/human-loop/ai-sdk.ts';
import { run as runLangGraph } from '../../examples/human-loop/langgraph.ts';
import { run as runOpenAI } from '../../examples/human-loop/openai-agents.ts';

const EDITED = { amount: 2500, to: 'acme' };
const NOTICE = `The call ran with edited arguments: ${JSON.stringify(EDITED)}. Do not repeat the original call.`;

describe.each([
  ['openai-agents', runOpenAI],
  ['langgraph', runLangGraph],
  ['ai-sdk', runAiSdk],
] as const)('examples/human-loop/%s', (_name, run) => {
  it('runs the edited call once with the edited args and tells the model', async () => {
    const r = await run();
    expect(r.bodyRan).toEqual([EDITED]);
    expect(r.modelWasTold).toContain(NOTICE);
    expect(r.decision).toMatchObject({ verdict: 'allow', source: 'human', edited: { args: EDITED } });
    expect(JSON.stringify(r.humanSaw)).toContain('25000');
  });
});
