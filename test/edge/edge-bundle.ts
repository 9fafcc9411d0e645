import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { EDGE_CONDITIONS, edgeSwapPlugin } from '../../packages/core/scripts/edge-build';

const at = (p: string) => fileURLToPath(new URL(p, import.meta.url));
export const CORE_ENTRY = at('../../packages/core/src/index.ts');
export const AI_SDK_ENTRY = at('../../packages/ai-sdk/src/index.ts');
export const EDGE_ENTRY = at('./edge-entry.ts');

export interface EdgeBundle {
  code: string;
  /** Every import the bundle leaves to the runtime (bare `node:` modules would be here). */
  externalImports: string[];
  /** Every source file bundled. */
  inputs: string[];
}

/**
 * Bundles an entry from the packages' SOURCES the way an edge bundler would (Next.js edge,
 * wrangler): platform neutral, the `edge-light`/`workerd`/`worker`/`browser` conditions, and core's
 * edge swap (the plugin its tsup edge build uses). `@toolgate/core` resolves to core's sources.
 * Only `node:*` (so the test can assert there is none) and the optional OpenTelemetry peer are
 * left external.
 */
export async function bundleForEdge(entry: string, format: 'esm' | 'iife'): Promise<EdgeBundle> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    format,
    globalName: format === 'iife' ? '__toolgate' : undefined,
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    conditions: EDGE_CONDITIONS,
    alias: { '@toolgate/core': CORE_ENTRY },
    external: ['node:*', '@opentelemetry/api'],
    plugins: [edgeSwapPlugin(fileURLToPath(new URL('../../packages/core/src', import.meta.url)))],
    logLevel: 'silent',
  });
  const meta: Metafile = result.metafile;
  const externalImports = Object.values(meta.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
  return { code: result.outputFiles[0]!.text, externalImports, inputs: Object.keys(meta.inputs) };
}
