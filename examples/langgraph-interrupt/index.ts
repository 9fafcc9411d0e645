// node examples/langgraph-interrupt/index.ts
// Offline by default (scripted model, local policy). Set TOOLGATE_REVIEWER_URL (+ TOOLGATE_API_KEY)
// to use a toolgate review server, and OPENAI_API_KEY / ANTHROPIC_API_KEY to use a real model
// when its provider package (@langchain/openai / @langchain/anthropic) is installed.
import type { AIMessage, BaseMessage } from '@langchain/core/messages';
import type { Runnable } from '@langchain/core/runnables';
import { makeTools, run, type ScenarioOptions } from './scenario.ts';

async function realModel(): Promise<Runnable<BaseMessage[], AIMessage> | undefined> {
  const providers = [
    { key: 'OPENAI_API_KEY', pkg: '@langchain/openai', cls: 'ChatOpenAI', model: 'gpt-4o-mini' },
    { key: 'ANTHROPIC_API_KEY', pkg: '@langchain/anthropic', cls: 'ChatAnthropic', model: 'claude-3-5-haiku-latest' },
  ];
  for (const p of providers) {
    if (!process.env[p.key]) continue;
    try {
      const mod = (await import(p.pkg)) as Record<string, new (o: { model: string }) => { bindTools(t: unknown[]): Runnable<BaseMessage[], AIMessage> }>;
      const Chat = mod[p.cls];
      if (Chat) return new Chat({ model: p.model }).bindTools(makeTools(new Set()));
    } catch {
      console.log(`${p.key} is set but ${p.pkg} is not installed; using the scripted model.`);
    }
  }
  return undefined;
}

const options: ScenarioOptions = { log: (line) => console.log(`  ${line}`), approve: process.env.APPROVE !== 'no' };
if (process.env.TOOLGATE_REVIEWER_URL) {
  options.reviewerUrl = process.env.TOOLGATE_REVIEWER_URL;
  options.apiKey = process.env.TOOLGATE_API_KEY ?? '';
}
const model = await realModel();
if (model) options.model = model;

console.log(`LangGraph + toolgate (${model ? 'real model' : 'scripted model'}, ${options.reviewerUrl ? `reviewer ${options.reviewerUrl}` : 'local policy'})`);
const rows = await run(options);
console.table(rows.map((r) => ({ ...r, args: JSON.stringify(r.args) })));
