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
