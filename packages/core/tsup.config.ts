import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node22',
  // canonicalize (RFC 8785, by the RFC's author) ships ESM only; bundling it keeps the CJS build
  // loadable on every Node 22 without require(esm).
  noExternal: ['canonicalize'],
});
