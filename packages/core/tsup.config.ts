import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base';
import { EDGE_CONDITIONS, edgeSwapPlugin } from './scripts/edge-build';

export default defineConfig([
  {
    ...packageBuild,
    // Keep the edge build's output (written by the second config, in parallel).
    clean: ['!edge/**'],
    // The ledgers are Node-only sub-path entries (node:sqlite, pg), never reached from the main entry.
    entry: ['src/index.ts', 'src/ledger-sqlite.ts', 'src/ledger-postgres.ts'],
    // canonicalize (RFC 8785, by the RFC's author) ships ESM only; bundling it keeps the CJS build
    // loadable on every Node 22 without require(esm).
    noExternal: ['canonicalize'],
  },
  // The edge build (package.json conditions edge-light, workerd, worker, browser): the same entry,
  // with Node-only modules swapped for their `.edge.ts` siblings (scripts/edge-build.ts). ESM only;
  // the types are the Node build's (same exports).
  {
    entry: { index: 'src/index.ts' },
    outDir: 'dist/edge',
    format: ['esm'],
    platform: 'neutral',
    target: 'es2022',
    dts: false,
    clean: true,
    sourcemap: false,
    noExternal: ['canonicalize'],
    esbuildPlugins: [edgeSwapPlugin('src')],
    esbuildOptions(options) {
      options.conditions = EDGE_CONDITIONS;
      options.mainFields = ['module', 'main'];
    },
  },
]);
