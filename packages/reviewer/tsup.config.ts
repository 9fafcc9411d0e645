import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base';

// node:sqlite only exists with its prefix; keep every node: import as written.
export default defineConfig([
  { ...packageBuild, entry: ['src/index.ts'], removeNodeProtocol: false },
  {
    // The `toolgate` bin: ESM only, with a shebang.
    ...packageBuild,
    entry: { cli: 'src/cli.ts' },
    format: ['esm'],
    dts: false,
    clean: false,
    removeNodeProtocol: false,
    banner: { js: '#!/usr/bin/env node' },
  },
]);
