import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node22',
    // node:sqlite only exists with its prefix; keep every node: import as written.
    removeNodeProtocol: false,
  },
  {
    // The `toolgate` bin: ESM only, with a shebang.
    entry: { cli: 'src/cli.ts' },
    format: ['esm'],
    dts: false,
    clean: false,
    sourcemap: true,
    target: 'node22',
    // node:sqlite only exists with its prefix; keep every node: import as written.
    removeNodeProtocol: false,
    banner: { js: '#!/usr/bin/env node' },
  },
]);
