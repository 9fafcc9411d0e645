import type { Row } from '../lib/stats.ts';

/** Placeholder: filled in by the issue 13 adapter/server work. */
export async function openAiAgentsAdapterSuite(): Promise<Row[]> {
  return [];
}
