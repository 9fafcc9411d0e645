// `node --import <this file> packages/reviewer/src/cli.ts ...` runs the CLI from its TypeScript
// sources in a real process (Node strips the types): extensionless relative imports resolve to
// `.ts` files and `@toolgate/<pkg>` to the workspace sources, as vitest's aliases do.
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const packages = new URL('../../../', import.meta.url);

registerHooks({
  resolve(specifier, context, nextResolve) {
    const workspace = /^@toolgate\/(core|openai-agents|langgraph|ai-sdk|reviewer|mcp)(?:\/([a-z-]+))?$/.exec(specifier);
    if (workspace) return { url: new URL(`${workspace[1]}/src/${workspace[2] ?? 'index'}.ts`, packages).href, shortCircuit: true };
    if ((specifier.startsWith('./') || specifier.startsWith('../')) && context.parentURL?.endsWith('.ts') && !/\.[cm]?[jt]s$/.test(specifier)) {
      const base = new URL(specifier, context.parentURL);
      for (const candidate of [`${base.href}.ts`, `${base.href}/index.ts`]) {
        if (existsSync(fileURLToPath(candidate))) return { url: candidate, shortCircuit: true };
      }
    }
    return nextResolve(specifier, context);
  },
});

export const SOURCE_HOOKS = pathToFileURL(fileURLToPath(import.meta.url)).href;
