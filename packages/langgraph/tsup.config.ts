import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base';

export default defineConfig({
  ...packageBuild,
  // `middleware` is its own entry: it imports the optional peer `langchain`, the main entry never does.
  entry: ['src/index.ts', 'src/middleware.ts'],
});
