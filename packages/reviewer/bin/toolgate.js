#!/usr/bin/env node
// The `toolgate` command. A checked-in shim, so package managers can link the bin before the
// package is built (in this workspace, `pnpm build` makes dist/). It checks the Node version
// first, before loading anything that would crash on an older Node (undici, node:sqlite), and
// says which Node toolgate needs. Keep this file to syntax that old Node versions can parse.
import { createRequire } from 'node:module';

const pkg = createRequire(import.meta.url)('../package.json');
const range = (pkg.engines && pkg.engines.node) || '';
const want = (/(\d+)\.(\d+)\.(\d+)/.exec(range) || []).slice(1).map(Number);
const have = process.versions.node.split('.').map(Number);
const older = (a, b) => a[0] !== b[0] ? a[0] < b[0] : a[1] !== b[1] ? a[1] < b[1] : a[2] < b[2];
if (want.length === 3 && older(have, want)) {
  process.stderr.write(
    'toolgate needs Node ' + want.join('.') + ' or later (package engines: ' + range + '); this is Node ' + process.versions.node + '.\n' +
      'Install a newer Node (for example with nvm, or `npx -y node@22 ...`) and run toolgate again.\n',
  );
  process.exit(1);
} else if (process.argv.length === 3 && (process.argv[2] === '--version' || process.argv[2] === '-v')) {
  // Answered here, without loading the server: the published version and the Node it runs on.
  process.stdout.write('toolgate ' + pkg.version + ' (' + pkg.name + ', Node ' + process.versions.node + ')\n');
} else {
  const cli = new URL('../dist/cli.js', import.meta.url);
  import(cli.href).catch((err) => {
    const missing = err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(cli.pathname);
    process.stderr.write(missing ? 'toolgate: ' + cli.pathname + ' is missing; in the toolgate workspace, run `pnpm build` first.\n' : 'toolgate: ' + ((err && err.stack) || String(err)) + '\n');
    process.exit(1);
  });
}
