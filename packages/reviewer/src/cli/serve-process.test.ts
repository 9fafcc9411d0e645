import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { http, removeDir, tempDir } from '../testing/fixture';
import { runSourceCli, spawnSourceCli } from '../testing/source-cli';

const POLICY = fileURLToPath(new URL('../../../core/src/policy/examples/example-policy.yaml', import.meta.url));

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function dataDir(): string {
  const dir = tempDir();
  cleanups.push(() => removeDir(dir));
  return dir;
}

type LogLine = { level: number; msg: string; [k: string]: unknown };

describe('toolgate serve as a real process (run from the sources)', () => {
  it('reads its settings from TOOLGATE_* (a flag wins), writes only JSON log lines to stdout, is ready, and exits 0 on SIGTERM', async () => {
    const dir = dataDir();
    // TOOLGATE_PORT is unusable on purpose: --port must win over it.
    const child = spawnSourceCli(['serve', '--port', '0'], { env: { TOOLGATE_DATA: dir, TOOLGATE_POLICY: POLICY, TOOLGATE_PORT: 'not-a-port', TOOLGATE_LOG_LEVEL: 'info' } });
    cleanups.push(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const listening = new Promise<LogLine>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        stdout += b.toString();
        for (const line of stdout.split('\n')) {
          if (line.includes('toolgate reviewer listening')) resolve(JSON.parse(line) as LogLine);
        }
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${code} before listening: ${stderr}`)));
    });
    const line = await listening;
    expect(line).toMatchObject({ level: 30, data: dir, policy: POLICY });
    const url = line.url as string;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(line.dashboard).toBe(`${url}/`);
    expect(line.hint).toContain(`open ${url}/`);

    const ready = await http(url, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.ready).toBe(true);

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const lines = stdout.split('\n').filter((l) => l !== '');
    // No plain banner: every line on stdout is one JSON log event with a pino level.
    for (const l of lines) expect(JSON.parse(l), l).toMatchObject({ level: expect.any(Number), msg: expect.any(String) });
    expect(lines.map((l) => (JSON.parse(l) as LogLine).msg)).toContain('no API keys yet');
    expect((JSON.parse(lines.at(-1)!) as LogLine).msg).toBe('toolgate reviewer stopped');
  });

  it('says what to do when the port is in use: one line on stderr, exit 1, no stack trace', async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const port = (blocker.address() as AddressInfo).port;
    const r = runSourceCli(['serve', '--port', String(port), '--data', dataDir()]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`toolgate: port ${port} is in use on 127.0.0.1: pass --port 0 for a free port (or another --port / TOOLGATE_PORT), or stop the other process\n`);
    for (const l of r.stdout.split('\n').filter(Boolean)) expect(() => JSON.parse(l), l).not.toThrow();
  });
});
