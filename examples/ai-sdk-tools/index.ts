// node examples/ai-sdk-tools/index.ts
// Offline by default (scripted MockLanguageModelV4, local policy). Set TOOLGATE_REVIEWER_URL
// (+ TOOLGATE_API_KEY) to use a toolgate review server. With OPENAI_API_KEY set and
// @ai-sdk/openai installed (not a dependency of this example), a real model is used instead:
// the scenario takes any AI SDK LanguageModel.
import type { LanguageModel } from 'ai';
import { run, type ScenarioOptions } from './scenario.ts';

async function realModel(): Promise<LanguageModel | undefined> {
  if (!process.env.OPENAI_API_KEY) return undefined;
  const pkg = '@ai-sdk/openai';
  try {
    const { openai } = (await import(pkg)) as { openai: (id: string) => LanguageModel };
    return openai(process.env.OPENAI_MODEL ?? 'gpt-4o-mini');
  } catch {
    console.log(`OPENAI_API_KEY is set but ${pkg} is not installed; using the scripted model.`);
    return undefined;
  }
}

const options: ScenarioOptions = { log: (line) => console.log(`  ${line}`), approve: process.env.APPROVE !== 'no' };
if (process.env.TOOLGATE_REVIEWER_URL) {
  options.reviewerUrl = process.env.TOOLGATE_REVIEWER_URL;
  options.apiKey = process.env.TOOLGATE_API_KEY ?? '';
}
const model = await realModel();
if (model) options.model = model;

console.log(`AI SDK + toolgate (${model ? 'real model' : 'scripted model'}, ${options.reviewerUrl ? `reviewer ${options.reviewerUrl}` : 'local policy'})`);
const rows = await run(options);
console.table(rows.map((r) => ({ ...r, args: JSON.stringify(r.args) })));
