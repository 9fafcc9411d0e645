/**
 * Run: pnpm --filter @toolgate/core --filter @toolgate/openai-agents build && node examples/openai-agents-runner/index.ts
 * Offline with a scripted model; with OPENAI_API_KEY set, against the real model.
 */
import { run } from './scenario.ts';

const rows = await run({
  model: process.env.OPENAI_API_KEY ? (process.env.OPENAI_MODEL ?? 'gpt-4.1-mini') : undefined,
  log: (line) => console.log(line),
});
console.table(rows.map((r) => ({ ...r, args: JSON.stringify(r.args) })));
