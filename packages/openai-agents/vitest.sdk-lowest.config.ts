// The adapter's SDK scenarios against the lowest @openai/agents in the peer range (the devDependency
// alias @openai/agents-lowest). Run by src/sdk-lowest.test.ts as part of `pnpm test`; alone:
//   pnpm exec vitest run --config packages/openai-agents/vitest.sdk-lowest.config.ts
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      // Every entry point (`@openai/agents`, `/testing`, `/utils`) from the same release.
      { find: /^@openai\/agents(\/[a-z/]+)?$/, replacement: '@openai/agents-lowest$1' },
      { find: /^@toolgate\/core$/, replacement: here('../core/src/index.ts') },
      { find: /^@toolgate\/core\/([a-z-]+)$/, replacement: here('../core/src/$1.ts') },
    ],
  },
  test: {
    root: here('.'),
    include: ['src/attacks.test.ts', 'src/governance-hooks.test.ts', 'src/mcp.test.ts', 'src/human-loop.test.ts', 'src/paused-here.test.ts', 'src/namespaced-approval-attacks.test.ts'],
    testTimeout: 30_000,
    pool: 'forks',
  },
});
