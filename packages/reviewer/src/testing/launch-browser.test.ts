import { arch, platform } from 'node:process';
import { describe, expect, it } from 'vitest';
import { BrowserLaunchError, resolveBrowser } from './launch-browser';

describe('the browser for the dashboard test', () => {
  it('comes from the npm registry on x64 Linux, with no system browser and no download', async () => {
    if (platform === 'linux' && arch === 'x64') {
      const b = await resolveBrowser({});
      expect(b.source).toBe('npm');
    } else {
      // Elsewhere it is the system's browser, or a clear error: never a silent skip.
      await resolveBrowser({}).then(
        (b) => expect(b.source).toBe('system'),
        (err: unknown) => expect(err).toBeInstanceOf(BrowserLaunchError),
      );
    }
  }, 120_000);

  it('TOOLGATE_CHROMIUM wins, and a wrong path is an error that names it', async () => {
    await expect(resolveBrowser({ TOOLGATE_CHROMIUM: '/nonexistent/chromium' })).rejects.toThrow(/TOOLGATE_CHROMIUM=\/nonexistent\/chromium: no such file/);
    await expect(resolveBrowser({ TOOLGATE_CHROMIUM: process.execPath })).resolves.toEqual({ executablePath: process.execPath, source: 'env' });
  });
});

describe('the unpack lock', () => {
  it('serialises holders, and a lock left by a dead process is taken over', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, existsSync, rmSync } = await import('node:fs');
    const { spawnSync } = await import('node:child_process');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { withLock } = await import('./launch-browser');
    const base = mkdtempSync(join(tmpdir(), 'toolgate-lock-test-'));
    const lock = join(base, 'lock');
    try {
      const order: string[] = [];
      const holder = (name: string) =>
        withLock(lock, async () => {
          order.push(`${name}+`);
          await new Promise((r) => setImmediate(r));
          order.push(`${name}-`);
        });
      await Promise.all([holder('a'), holder('b')]);
      expect(order).toEqual(['a+', 'a-', 'b+', 'b-']);
      expect(existsSync(lock)).toBe(false);

      // A lock held by a process that has exited.
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), dead.stdout);
      await expect(withLock(lock, async () => 'taken')).resolves.toBe('taken');
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
