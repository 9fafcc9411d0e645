import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/toolgate.js', import.meta.url));
const PKG = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };

/** Runs the bin shim on this Node, reporting `version` as the Node version (the shim reads process.versions). */
function runAs(version: string, ...args: string[]) {
  const preload = `data:text/javascript,Object.defineProperty(process.versions,'node',{value:${JSON.stringify(version)}})`;
  return spawnSync(process.execPath, ['--import', preload, BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
}

describe('the toolgate bin on an older Node', () => {
  it('declares the lowest Node it runs on as a plain >=x.y.z range', () => {
    expect(PKG.engines.node).toMatch(/^>=\d+\.\d+\.\d+$/);
  });

  it('exits 1 with the Node it needs, before loading the CLI (which would crash inside undici or node:sqlite)', () => {
    const min = PKG.engines.node.slice(2);
    for (const old of ['20.20.2', '22.12.0', '22.18.9']) {
      const r = runAs(old, '--help');
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`toolgate needs Node ${min} or later`);
      expect(r.stderr).toContain(`this is Node ${old}`);
      expect(r.stdout).toBe('');
    }
  });

  it('lets the lowest declared Node through to the CLI', () => {
    const r = runAs(PKG.engines.node.slice(2), '--help');
    expect(r.stderr).not.toContain('toolgate needs Node');
  });
});

describe('toolgate --version', () => {
  it('prints the package version and the Node it runs on, without loading the CLI', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`toolgate ${pkg.version} (@toolgate/reviewer, Node ${process.versions.node})\n`);
  });
});
