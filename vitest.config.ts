import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const pkg = (p: string) => fileURLToPath(new URL(`./packages/${p}`, import.meta.url));

// Tests run against the packages' TypeScript sources, so `pnpm test` needs no build first.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@toolgate\/(core|openai-agents|langgraph|ai-sdk|reviewer|mcp)$/, replacement: pkg('$1/src/index.ts') },
      // Sub-path entries (e.g. @toolgate/langgraph/middleware) map to src/<name>.ts.
      { find: /^@toolgate\/(core|openai-agents|langgraph|ai-sdk|reviewer|mcp)\/([a-z-]+)$/, replacement: pkg('$1/src/$2.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    typecheck: { enabled: true, include: ['packages/*/src/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
