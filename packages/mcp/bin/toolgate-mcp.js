#!/usr/bin/env node
// The `toolgate-mcp` command. A checked-in shim, so package managers can link the bin before the
// package is built, and so an older Node gets a sentence instead of a stack trace: it checks the
// Node version before loading anything that needs a newer one. stdout is the MCP channel: every
// message here goes to stderr. Keep this file to syntax that old Node versions can parse.
import { createRequire } from 'node:module';

const pkg = createRequire(import.meta.url)('../package.json');
const range = (pkg.engines && pkg.engines.node) || '';
const want = (/(\d+)\.(\d+)\.(\d+)/.exec(range) || []).slice(1).map(Number);
const have = process.versions.node.split('.').map(Number);
const older = (a, b) => a[0] !== b[0] ? a[0] < b[0] : a[1] !== b[1] ? a[1] < b[1] : a[2] < b[2];
if (want.length === 3 && older(have, want)) {
  process.stderr.write(
    'toolgate-mcp needs Node ' + want.join('.') + ' or later (package engines: ' + range + '); this is Node ' + process.versions.node + '.\n' +
      'Point your MCP client at a newer node (its "command"), or install one (nvm, `npx -y node@22 ...`).\n',
  );
  process.exit(1);
} else if (process.argv.length === 3 && (process.argv[2] === '--version' || process.argv[2] === '-v')) {
  process.stderr.write('toolgate-mcp ' + pkg.version + ' (' + pkg.name + ', Node ' + process.versions.node + ')\n');
} else {
  const cli = new URL('../dist/proxy-cli.js', import.meta.url);
  import(cli.href).catch((err) => {
    const missing = err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(cli.pathname);
    process.stderr.write(missing ? 'toolgate-mcp: ' + cli.pathname + ' is missing; in the toolgate workspace, run `pnpm build` first.\n' : 'toolgate-mcp: ' + ((err && err.stack) || String(err)) + '\n');
    process.exit(1);
  });
}
