import type { Options } from 'tsup';

/** What every @toolgate package builds: ESM + CJS + .d.ts for Node 22+, with source maps. */
export const packageBuild: Options = {
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node22',
};
