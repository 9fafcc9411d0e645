import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { callDigest, compilePolicy, evaluatePolicy, loadPolicy, memoryPolicyState } from '@toolgate/core';
import { afterEach, describe, expect, it } from 'vitest';
import { http, removeDir, tempDir } from '../testing/fixture';
import { runCli } from './run-cli';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function io(cwd: string, env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), env, cwd },
    get stdout() {
      return out.join('');
    },
    get stderr() {
      return err.join('');
    },
  };
}

function workspace(): string {
  const dir = tempDir();
  cleanups.push(() => removeDir(dir));
  return dir;
}

describe('toolgate init', () => {
  it('writes a starter policy that core loads, and prints the next three commands', async () => {
    const cwd = workspace();
    const x = io(cwd);
    expect(await runCli(['init', 'proj'], x.io)).toBe(0);
    const dir = join(cwd, 'proj');
    expect(x.stdout).toContain('  1. cd proj && toolgate serve --env-file .env\n');
    expect(x.stdout).toContain('  2. open http://127.0.0.1:7070/ and sign in with TOOLGATE_KEY from .env');
    expect(x.stdout).toContain('  3. point a gate at it: cd proj && node --env-file=.env your-agent.js');

    const policy = await loadPolicy(join(dir, 'policy.yaml'));
    const compiled = compilePolicy(policy);
    const state = memoryPolicyState();
    const decide = (tool: string, args: Record<string, unknown>) =>
      evaluatePolicy(compiled, { tool, args, digest: callDigest(tool, args), agent: { id: 'a' } }, { state, dryRun: true }).verdict;
    expect(decide('transfer', { amount: 50 })).toBe('allow');
    expect(decide('transfer', { amount: 5000 })).toBe('review');
    expect(decide('transfer', { amount: 50_000 })).toBe('deny');
    expect(decide('transfer', {})).toBe('deny');
    expect(decide('shell', { command: 'rm -rf /' })).toBe('deny');
    expect(decide('shell', { command: 'sudo rm -fr ~' })).toBe('deny');
    expect(decide('shell', { command: 'ls -la' })).toBe('review');
    expect(decide('db.drop', { table: 'users' })).toBe('deny');
    expect(decide('send_email', { to: 'x@example.com' })).toBe('review');
  });

  it('writes a .env (0600) whose keys a server on that data dir accepts, with the scopes they are for', async () => {
    const cwd = workspace();
    expect(await runCli(['init'], io(cwd).io)).toBe(0);
    const envFile = join(cwd, '.env');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    const env = parseEnv(readFileSync(envFile, 'utf8'));
    expect(env).toMatchObject({ TOOLGATE_DATA: '.toolgate', TOOLGATE_POLICY: 'policy.yaml', TOOLGATE_URL: 'http://127.0.0.1:7070', TOOLGATE_LOG_LEVEL: 'info' });
    expect(env.TOOLGATE_KEY).toMatch(/^tgk_/);
    expect(env.TOOLGATE_EVAL_KEY).toMatch(/^tgk_/);
    // Only their hashes are stored.
    const db = readFileSync(join(cwd, '.toolgate', 'toolgate.db'));
    expect(db.includes(Buffer.from(env.TOOLGATE_KEY!))).toBe(false);

    // `toolgate serve --env-file .env` (port 0: 7070 may be taken on this machine).
    let stop!: () => void;
    const served = io(cwd);
    let url = '';
    let listening!: () => void;
    const ready = new Promise<void>((r) => (listening = r));
    const run = runCli(['serve', '--env-file', '.env', '--port', '0'], {
      ...served.io,
      stopSignal: new Promise<void>((r) => (stop = r)),
      onListening: (u) => {
        url = u;
        listening();
      },
    });
    cleanups.push(async () => {
      stop();
      expect(await run).toBe(0);
    });
    await Promise.race([ready, run.then((code) => Promise.reject(new Error(`serve exited ${code}: ${served.stderr}`)))]);
    const start = JSON.parse(served.stdout.split('\n').find((l) => l.includes('listening on'))!) as { data: string; policy: string };
    expect(start).toMatchObject({ data: join(cwd, '.toolgate'), policy: join(cwd, 'policy.yaml') });

    const small = await http(url, 'POST', '/v1/reviews', env.TOOLGATE_EVAL_KEY, { idempotencyKey: 'i-1', call: { tool: 'transfer', args: { amount: 50 } } });
    expect(small.status).toBe(200);
    expect(small.body.verdict).toBe('allow');
    const big = await http(url, 'POST', '/v1/reviews', env.TOOLGATE_EVAL_KEY, { idempotencyKey: 'i-2', call: { tool: 'transfer', args: { amount: 5000 } } });
    expect(big.status).toBe(202);
    const pending = await http(url, 'GET', '/v1/reviews?status=pending', env.TOOLGATE_KEY);
    expect(pending.status).toBe(200);
    expect(pending.body.reviews.map((r: { id: string }) => r.id)).toEqual([big.body.id]);
    // The agent's key cannot decide its own reviews.
    expect((await http(url, 'POST', `/v1/reviews/${big.body.id}/decision`, env.TOOLGATE_EVAL_KEY, { verdict: 'allow' })).status).toBe(403);
    // The approver decides through the CLI, with the same .env.
    const approve = io(cwd, {});
    expect(await runCli(['reviews', 'approve', big.body.id, '--env-file', '.env', '--url', url], approve.io)).toBe(0);
    expect(approve.stdout).toContain('allow');
  });

  it('refuses to overwrite anything, says which file, and writes nothing', async () => {
    const cwd = workspace();
    expect(await runCli(['init'], io(cwd).io)).toBe(0);
    const before = readFileSync(join(cwd, '.env'), 'utf8');
    const again = io(cwd);
    expect(await runCli(['init'], again.io)).toBe(1);
    expect(again.stderr).toBe(`toolgate init: ${join(cwd, 'policy.yaml')} already exists; toolgate init never overwrites anything. Remove it, or run \`toolgate init <another dir>\`\n`);
    expect(readFileSync(join(cwd, '.env'), 'utf8')).toBe(before);

    for (const existing of ['.env', '.toolgate']) {
      const dir = join(workspace(), 'p');
      mkdirSync(dir);
      if (existing === '.env') writeFileSync(join(dir, '.env'), 'MINE=1\n');
      else mkdirSync(join(dir, '.toolgate'));
      const x = io(dir);
      expect(await runCli(['init'], x.io)).toBe(1);
      expect(x.stderr).toContain(`${join(dir, existing)} already exists`);
      expect(existsSync(join(dir, 'policy.yaml'))).toBe(false);
      expect(existsSync(join(dir, existing === '.env' ? '.toolgate' : '.env'))).toBe(false);
    }
    const usage = io(cwd);
    expect(await runCli(['init', 'a', 'b'], usage.io)).toBe(2);
  });
});

describe('--env-file', () => {
  it('is read only when given; the environment wins over it and a flag over both', async () => {
    const cwd = workspace();
    writeFileSync(join(cwd, 'custom.env'), 'TOOLGATE_PORT=not-a-port\nTOOLGATE_DATA=from-file\n');
    // Without --env-file nothing from the file is used: a .env in the working directory is ignored too.
    writeFileSync(join(cwd, '.env'), 'TOOLGATE_DATA=from-dotenv\n');
    const keys = io(cwd);
    expect(await runCli(['keys', 'create', '--scope', 'eval', '--json'], keys.io)).toBe(0);
    expect(existsSync(join(cwd, '.toolgate', 'toolgate.db'))).toBe(true);
    expect(existsSync(join(cwd, 'from-dotenv'))).toBe(false);

    const fromFile = io(cwd);
    expect(await runCli(['--env-file', 'custom.env', 'serve'], fromFile.io)).toBe(2);
    expect(fromFile.stderr).toContain('TOOLGATE_PORT "not-a-port" is not a port');
    const envWins = io(cwd, { TOOLGATE_DATA: 'from-env' });
    expect(await runCli(['keys', 'create', '--scope', 'eval', '--env-file=custom.env'], envWins.io)).toBe(0);
    expect(existsSync(join(cwd, 'from-env', 'toolgate.db'))).toBe(true);
    expect(existsSync(join(cwd, 'from-file'))).toBe(false);
    const flagWins = io(cwd);
    expect(await runCli(['keys', 'create', '--scope', 'eval', '--env-file', 'custom.env', '--data', 'from-flag'], flagWins.io)).toBe(0);
    expect(existsSync(join(cwd, 'from-flag', 'toolgate.db'))).toBe(true);
    const fileOnly = io(cwd);
    expect(await runCli(['keys', 'create', '--scope', 'eval', '--env-file', 'custom.env'], fileOnly.io)).toBe(0);
    expect(existsSync(join(cwd, 'from-file', 'toolgate.db'))).toBe(true);

    const missing = io(cwd);
    expect(await runCli(['serve', '--env-file', 'nope.env'], missing.io)).toBe(2);
    expect(missing.stderr).toMatch(/^toolgate: --env-file nope.env: cannot read .*nope\.env \(ENOENT\)/);
    const bare = io(cwd);
    expect(await runCli(['serve', '--env-file'], bare.io)).toBe(2);
    expect(bare.stderr).toContain('--env-file needs a file');
  });
});
