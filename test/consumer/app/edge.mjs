// @toolgate/core and @toolgate/ai-sdk as installed from the tarballs, bundled the way Next.js
// bundles an edge route (conditions edge-light, worker, browser) and run in EdgeRuntime (web APIs
// only): the package.json conditions pick core's edge build, nothing imports node:, and the gate
// decides with the digests Node computes.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { callDigest } from '@toolgate/core';
import { build } from 'esbuild';
import edgeRuntime from 'edge-runtime';

writeFileSync(
  'edge-entry.mjs',
  "export * as core from '@toolgate/core';\nexport * as aiSdk from '@toolgate/ai-sdk';\nexport { tool } from 'ai';\nexport { z } from 'zod';\n",
);
const bundle = await build({
  entryPoints: ['edge-entry.mjs'],
  bundle: true,
  write: false,
  metafile: true,
  format: 'iife',
  globalName: '__toolgate',
  platform: 'neutral',
  mainFields: ['module', 'main'],
  conditions: ['edge-light', 'worker', 'browser'],
  external: ['@opentelemetry/api'],
  logLevel: 'error',
});
const inputs = Object.keys(bundle.metafile.inputs);
assert.ok(inputs.some((p) => /(@toolgate|packages)\/core\/dist\/edge\/index\.js$/.test(p)), `core's edge build was not picked: ${inputs.filter((p) => /@toolgate|packages\//.test(p)).join(', ')}`);
assert.ok(!inputs.some((p) => /node_modules\/(\.pnpm\/)?undici/.test(p)), 'undici is in the edge bundle');

const runtime = new edgeRuntime.EdgeRuntime();
runtime.evaluate(bundle.outputFiles[0].text);
const args = { to: 'mallory', amount: 5000, note: 'café ☕' };
const out = JSON.parse(
  await runtime.evaluate(`(async () => {
    const { core, aiSdk, tool, z } = __toolgate;
    const gate = core.createGate({
      reviewer: core.policyReviewer({ rules: [{ name: 'large', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 1000 }], verdict: 'deny' }], default: 'allow' }),
      highStakes: ['transfer'],
      audit: core.memoryAudit(),
    });
    let ran = 0;
    const tools = aiSdk.withGovernance({ transfer: tool({ inputSchema: z.object({ to: z.string(), amount: z.number(), note: z.string() }), execute: async () => { ran++; return 'sent'; } }) }, gate);
    await tools.transfer.execute(${JSON.stringify(args)}, { toolCallId: 'call_big', messages: [] });
    const afterDenied = ran;
    const ok = await tools.transfer.execute({ to: 'alice', amount: 50, note: '' }, { toolCallId: 'call_small', messages: [] });
    const digest = (await gate.review({ tool: 'transfer', args: ${JSON.stringify(args)} })).digest;
    await gate.close();
    return JSON.stringify({ afterDenied, ran, ok, digest });
  })()`),
);
assert.deepEqual(out, { afterDenied: 0, ran: 1, ok: 'sent', digest: callDigest('transfer', args) });
console.log('edge: core and ai-sdk bundled for an edge route ran in EdgeRuntime: allowed 1, denied 1, digests equal');
