import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base';

export default defineConfig({
  ...packageBuild,
  entry: ['src/index.ts'],
  // canonicalize (RFC 8785, by the RFC's author) ships ESM only; bundling it keeps the CJS build
  // loadable on every Node 22 without require(esm).
  noExternal: ['canonicalize'],
});
