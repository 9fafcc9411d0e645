import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/toolgate-mcp.js', import.meta.url));
const PKG = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string; engines: { node: string } };

/** Runs the bin shim on this Node, reporting `version` as the Node version (the shim reads process.versions). */
function runAs(version: string, ...args: string[]) {
  const preload = `data:text/javascript,Object.defineProperty(process.versions,'node',{value:${JSON.stringify(version)}})`;
  return spawnSync(process.execPath, ['--import', preload, BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
}

describe('the toolgate-mcp bin', () => {
  it('on an older Node: exits 1 naming the Node it needs, and writes nothing to stdout (the MCP channel)', () => {
    const min = PKG.engines.node.slice(2);
    for (const old of ['20.20.2', '22.18.9']) {
      const r = runAs(old, '--policy', 'p.yaml', '--', 'node', 'server.js');
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`toolgate-mcp needs Node ${min} or later`);
      expect(r.stdout).toBe('');
    }
  });

  it('--version answers on stderr without loading the proxy', () => {
    const r = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`toolgate-mcp ${PKG.version} (@toolgate/mcp, Node ${process.versions.node})`);
    expect(r.stdout).toBe('');
  });
});
