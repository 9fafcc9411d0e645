import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base';

export default defineConfig([
  { ...packageBuild, entry: ['src/index.ts'] },
  // The toolgate-mcp bin: ESM only, no types (nothing imports it).
  { ...packageBuild, entry: ['src/proxy-cli.ts'], format: ['esm'], dts: false, clean: false },
]);
