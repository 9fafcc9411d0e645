import { createRequire } from 'node:module';
import path from 'node:path';
import type { Agent, Tool } from '@openai/agents';

type Lookup = (tool: Tool<unknown>) => Agent<unknown, never> | undefined;

let lookups: Lookup[] | undefined;

/**
 * `agent.asTool()` links the tool it returns to its source Agent in a WeakMap inside
 * `@openai/agents-core` (`agentToolSourceRegistry`). The SDK walks it to rebuild RunState; it is
 * not exported, so we read the same module the app loaded. Both copies are asked, because an
 * app can load the CJS and the ESM build of core side by side. Pinned to the peer range.
 */
function load(): Lookup[] {
  if (lookups) return lookups;
  lookups = [];
  try {
    // CJS build: __filename; ESM build: import.meta.url (tsup leaves import.meta empty in CJS).
    const here = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);
    const agentsEntry = here.resolve('@openai/agents');
    const fromAgents = createRequire(agentsEntry);
    const coreDir = path.dirname(fromAgents.resolve('@openai/agents-core'));
    for (const file of ['agentToolSourceRegistry.js', 'agentToolSourceRegistry.mjs']) {
      try {
        const mod = fromAgents(path.join(coreDir, file)) as { getAgentToolSourceAgent?: Lookup };
        if (typeof mod.getAgentToolSourceAgent === 'function') lookups.push(mod.getAgentToolSourceAgent);
      } catch {
        // this copy is not there; the other may be
      }
    }
  } catch {
    // @openai/agents-core not resolvable from here: asTool sub-agents must be governed explicitly
  }
  return lookups;
}

/** True when sub-agents behind `agent.asTool()` can be found (see {@link agentToolSource}). */
export function canFindAgentToolSources(): boolean {
  return load().length > 0;
}

/** The Agent behind an `agent.asTool()` function tool, if the tool is one. */
export function agentToolSource(tool: Tool<unknown>): Agent<unknown, never> | undefined {
  if (tool.type !== 'function') return undefined;
  for (const lookup of load()) {
    const agent = lookup(tool);
    if (agent) return agent;
  }
  return undefined;
}
