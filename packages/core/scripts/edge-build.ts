import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Plugin } from 'esbuild';

/**
 * The package.json conditions that select core's edge build (`dist/edge/index.js`): Vercel/Next
 * edge (`edge-light`), Cloudflare (`workerd`), web workers and other bundlers for the web
 * (`worker`, `browser`).
 */
export const EDGE_CONDITIONS = ['edge-light', 'workerd', 'worker', 'browser'];

/**
 * The esbuild plugin that makes the edge build: a relative import of `x` from core's sources
 * resolves to `x.edge.ts` when that sibling exists. The Node build and the tests use `x.ts`
 * unchanged. Siblings: platform/sha256 (pure-JS SHA-256, synchronous), platform/random-uuid (Web
 * Crypto), platform/http-client (fetch instead of an undici pool), platform/node-crypto (Ed25519
 * signing stubs), and the file-system APIs (jsonlAudit, verifyAuditLog, loadPolicy) as stubs that
 * throw a typed error naming the web-standard alternative.
 */
export function edgeSwapPlugin(srcDir: string): Plugin {
  const root = resolve(srcDir);
  return {
    name: 'toolgate-edge-swap',
    setup(build) {
      build.onResolve({ filter: /^\.\.?\// }, (args) => {
        if (!args.importer.startsWith(root)) return undefined;
        const target = resolve(dirname(args.importer), args.path).replace(/\.ts$/, '');
        const edge = `${target}.edge.ts`;
        if (args.importer === edge || !existsSync(edge)) return undefined;
        return { path: edge };
      });
    },
  };
}
