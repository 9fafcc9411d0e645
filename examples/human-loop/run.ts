// pnpm --filter @toolgate/example-human-loop start   (or: node examples/human-loop/run.ts)
// Edit-and-approve in all three frameworks, offline: in each, a scripted model asks to transfer
// 25 000, the gate's policy sends the call to a human, the human approves it with the amount edited
// to 2 500, the gate reviews the edited call again, the tool body runs once with 2 500, and the model
// is told the call ran with edited arguments. Exits 1 if any framework did anything else.
import { run as runAiSdk } from './ai-sdk.ts';
import { run as runLangGraph } from './langgraph.ts';
import { run as runOpenAI } from './openai-agents.ts';

const EXPECTED = { amount: 2500 };

const frameworks = [
  ['openai-agents', runOpenAI],
  ['langgraph', runLangGraph],
  ['ai-sdk', runAiSdk],
] as const;

let failed = false;
for (const [name, run] of frameworks) {
  console.log(`\n${name}`);
  const r = await run((line) => console.log(`  ${line}`));
  const ranOnce = r.bodyRan.length === 1 && (r.bodyRan[0] as { amount?: unknown }).amount === EXPECTED.amount;
  const told = r.modelWasTold.includes('edited arguments');
  console.log(`  body ran ${r.bodyRan.length}× with ${JSON.stringify(r.bodyRan)}; decision ${r.decision.verdict} (${r.decision.source}); model told of the edit: ${told ? 'yes' : 'NO'}`);
  if (!ranOnce || !told || r.decision.edited === undefined) {
    failed = true;
    console.log(`  FAILED: expected one run with amount ${EXPECTED.amount}, an edited Decision and the edit notice`);
  }
}
if (failed) process.exit(1);
console.log('\nok: every framework ran the edited call once and told the model');
