// A stand-in for the person at the dashboard: long-polls the reviewer's pending reviews and answers
// each one through the API (POST /v1/reviews/{id}/decision), as the dashboard would. Used by
// `pnpm demo` and by the end-to-end tests.
import { request } from 'undici';

/** One row per tool call a scenario made: what was decided and whether the body ran. */
export interface ScenarioRow {
  framework: string;
  tool: string;
  args: unknown;
  verdict: string;
  source: string;
  executed: boolean;
}

export interface PendingReview {
  id: string;
  tool: string;
  args: Record<string, unknown>;
}

export interface ApiHuman {
  /** What the human decided, in order. */
  readonly decisions: Array<PendingReview & { approved: boolean; reason: string }>;
  /** Stops polling (waits for the current round). Safe to call twice. */
  stop(): Promise<void>;
}

export function startApiHuman(options: {
  url: string;
  /** An `approve`-scope key (never the key the agent submits with: no self-approval). */
  apiKey: string;
  decide: (review: PendingReview) => { approved: boolean; reason: string };
  intervalMs?: number;
}): ApiHuman {
  const auth = { authorization: `Bearer ${options.apiKey}` };
  const decisions: ApiHuman['decisions'] = [];
  const seen = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const res = await request(`${options.url}/v1/reviews?status=pending`, { headers: auth });
      const { reviews } = (await res.body.json()) as { reviews: PendingReview[] };
      for (const r of reviews ?? []) {
        if (seen.has(r.id)) continue;
        seen.add(r.id);
        const answer = options.decide(r);
        const d = await request(`${options.url}/v1/reviews/${r.id}/decision`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ verdict: answer.approved ? 'allow' : 'deny', reason: answer.reason }),
        });
        await d.body.dump();
        decisions.push({ ...r, ...answer });
      }
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 20));
    }
  })();
  return {
    decisions,
    stop() {
      running = false;
      return loop;
    },
  };
}
