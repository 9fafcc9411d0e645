// The adapter against the lowest @openai/agents in its peer range. The rest of the suite runs
// against the devDependency (the newest release line); this runs the SDK scenarios (attacks,
// hooks, MCP) again in a child vitest whose `@openai/agents` is the alias @openai/agents-lowest.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const read = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as { version: string; peerDependencies?: Record<string, string>; devDependencies?: Record<string, string> };

describe('@openai/agents peer range', () => {
  const own = read(`${pkgDir}package.json`);
  const range = own.peerDependencies?.['@openai/agents'] ?? '';

  it('its lower bound is the alias under test, its upper bound the line after the newest devDependency', () => {
    const lowest = read(`${pkgDir}node_modules/@openai/agents-lowest/package.json`).version;
    const newest = read(`${pkgDir}node_modules/@openai/agents/package.json`).version;
    const [, lo, hiMinor] = /^>=(\d+\.\d+\.\d+) <0\.(\d+)\.0$/.exec(range) ?? [];
    expect(lo, `peer range ${range}`).toBe(lowest);
    expect(Number(hiMinor)).toBe(Number(newest.split('.')[1]) + 1);
  });

  it('the SDK scenarios pass against the lowest release in range', () => {
    const require = createRequire(import.meta.url);
    const vitest = join(dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
    const child = spawnSync(process.execPath, [vitest, 'run', '--config', `${pkgDir}vitest.sdk-lowest.config.ts`], {
      cwd: pkgDir,
      encoding: 'utf8',
      timeout: 180_000,
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
    });
    const out = `${child.stdout}\n${child.stderr}`;
    expect(child.status, out.slice(-4000)).toBe(0);
    expect(out).toMatch(/Tests\s+\d+ passed/);
    expect(out).not.toMatch(/\bfailed\b|skipped/);
  }, 200_000);
});
