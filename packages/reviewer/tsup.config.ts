import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base';
import { dashboardAssetsPlugin } from './src/dashboard/assets/bundle-dashboard';

// The dashboard's script (browser/dashboard.ts, bundled by esbuild) and stylesheet become string
// constants in the bundle: dist carries their text, not esbuild nor a file read at run time.
const esbuildPlugins = [dashboardAssetsPlugin()];

// node:sqlite only exists with its prefix; keep every node: import as written.
export default defineConfig([
  { ...packageBuild, entry: ['src/index.ts'], removeNodeProtocol: false, esbuildPlugins },
  {
    // The `toolgate` bin: ESM only, with a shebang.
    ...packageBuild,
    entry: { cli: 'src/cli.ts' },
    format: ['esm'],
    dts: false,
    clean: false,
    removeNodeProtocol: false,
    banner: { js: '#!/usr/bin/env node' },
    esbuildPlugins,
  },
]);
