import type { Options } from 'tsup';

/**
 * What every @toolgate package builds: ESM + CJS + .d.ts for Node 22.19+. No source maps in the
 * published tarballs (a map would embed the TypeScript sources a second time; the JavaScript is
 * not minified, so stack traces stay readable). `shims` gives the CJS build an `import.meta.url`
 * (core resolves `yaml` from its own location on first use).
 */
export const packageBuild: Options = {
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: false,
  shims: true,
  target: 'node22',
};
