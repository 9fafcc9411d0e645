import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runSourceCli } from '../testing/source-cli';
import { packageInfo, versionLine } from './package-version';
import { runCli } from './run-cli';

const PKG = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
const LINE = `toolgate ${PKG.version} (${PKG.name}, Node ${process.versions.node})`;

describe('toolgate --version', () => {
  it('finds the reviewer package.json from the sources and from where the build puts the bin (dist/cli.js)', () => {
    expect(packageInfo()).toEqual({ name: PKG.name, version: PKG.version });
    expect(packageInfo(new URL('../../dist/cli.js', import.meta.url))).toEqual({ name: PKG.name, version: PKG.version });
    expect(() => packageInfo('/nowhere/at/all.js')).toThrow(/cannot find the package.json of @toolgate\/reviewer/);
    expect(versionLine()).toBe(LINE);
  });

  it('--version, -v and version print it with exit 0', async () => {
    for (const flag of ['--version', '-v', 'version']) {
      const out: string[] = [];
      expect(await runCli([flag], { out: (t) => out.push(t), err: () => {}, env: {} })).toBe(0);
      expect(out.join('')).toBe(`${LINE}\n`);
    }
  });

  it('prints it from a real process running the sources', () => {
    const r = runSourceCli(['-v']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${LINE}\n`);
  });
});
