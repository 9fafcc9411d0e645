import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { arch, platform } from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser } from 'playwright-core';

/**
 * A headless Chromium for the dashboard's browser test, brought by `pnpm install` alone.
 *
 * Order: `TOOLGATE_CHROMIUM` (a path) wins; on x64 Linux the Chromium inside the
 * `@sparticuz/chromium` npm package (decompressed at run time into the temp dir, no postinstall
 * and no download); elsewhere (arm64, macOS) the system's Chromium or Chrome. A browser that cannot
 * be found or started is an error, never a skip: the caller's test fails with this message.
 */
export class BrowserLaunchError extends Error {
  readonly code = 'BROWSER_LAUNCH_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BrowserLaunchError';
  }
}

/** Where the system's Chromium or Chrome usually is, for platforms the npm-shipped one does not support. */
const SYSTEM_BROWSERS = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

/**
 * Flags for a closed network and a root user: no sandbox (it refuses to start as root with one),
 * nothing that phones home, no first-run UI. Web security stays on (the tests check CSRF and XSS).
 */
export const BROWSER_ARGS = [
  '--no-sandbox',
  '--disable-setuid-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-domain-reliability',
  '--disable-sync',
  '--no-pings',
];

export interface ResolvedBrowser {
  executablePath: string;
  source: 'env' | 'npm' | 'system';
}

/** Finds the browser to launch (see the order above). */
export async function resolveBrowser(env: NodeJS.ProcessEnv = process.env): Promise<ResolvedBrowser> {
  const override = env.TOOLGATE_CHROMIUM;
  if (override) {
    if (!existsSync(override)) throw new BrowserLaunchError(`TOOLGATE_CHROMIUM=${override}: no such file`);
    return { executablePath: override, source: 'env' };
  }
  if (platform === 'linux' && arch === 'x64') {
    try {
      return { executablePath: await unpackNpmChromium(), source: 'npm' };
    } catch (err) {
      throw new BrowserLaunchError(
        `could not unpack the Chromium of @sparticuz/chromium (run pnpm install; set TOOLGATE_CHROMIUM to use another browser): ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  const found = SYSTEM_BROWSERS.find((p) => existsSync(p));
  if (!found) {
    throw new BrowserLaunchError(
      `no Chromium for ${platform}/${arch}: install Chromium or Chrome, or set TOOLGATE_CHROMIUM to its path (looked in ${SYSTEM_BROWSERS.join(', ')})`,
    );
  }
  return { executablePath: found, source: 'system' };
}

/**
 * Unpacks the Chromium of `@sparticuz/chromium` (into the temp dir, where it stays for later runs).
 * Its unpacking is neither atomic nor safe for two processes at once, and a run killed midway
 * leaves a truncated binary behind; so test files that start browsers in parallel take a lock,
 * and a binary that does not answer `--version` with the package's Chromium version is removed and
 * unpacked again.
 */
async function unpackNpmChromium(): Promise<string> {
  const { default: sparticuz } = await import('@sparticuz/chromium');
  // The package's major version is Chromium's: a binary left by another release is unpacked anew.
  const entry = createRequire(import.meta.url).resolve('@sparticuz/chromium');
  const major = (JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version.split('.')[0]!;
  return withLock(join(tmpdir(), 'toolgate-chromium.lock'), async () => {
    for (let attempt = 1; ; attempt++) {
      const path = await sparticuz.executablePath();
      try {
        const version = execFileSync(path, ['--version'], { encoding: 'utf8', stdio: 'pipe', timeout: 30_000 });
        if (!new RegExp(`\\b${major}\\.`).test(version)) throw new BrowserLaunchError(`${path} is ${version.trim()}, not Chromium ${major}`);
        return path;
      } catch (err) {
        if (attempt === 2) throw err;
        rmSync(path, { force: true });
      }
    }
  });
}

/** Runs `fn` holding a lock directory; a lock whose process died is taken over. Exported for its test. */
export async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!ownerAlive(dir)) rmSync(dir, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new BrowserLaunchError(`waited 180 s for ${dir} (another process unpacking Chromium); remove it if no test is running`);
      else await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether the process that holds the lock still runs. */
function ownerAlive(dir: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
  } catch {
    // Being taken right now, or its taker died between mkdir and writing the pid.
    try {
      return Date.now() - statSync(dir).mtimeMs < 10_000;
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Launches the browser headless through playwright-core; fails with a message that says which and why. */
export async function launchBrowser(): Promise<Browser> {
  const { executablePath, source } = await resolveBrowser();
  try {
    return await chromium.launch({ executablePath, headless: true, args: BROWSER_ARGS, timeout: 60_000 });
  } catch (err) {
    throw new BrowserLaunchError(`could not start Chromium at ${executablePath} (${source}): ${(err as Error).message}`, { cause: err });
  }
}
