import { defineConfig } from 'tsup';

export default defineConfig({
  // `middleware` is its own entry: it imports the optional peer `langchain`, the main entry never does.
  entry: ['src/index.ts', 'src/middleware.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node22',
});
