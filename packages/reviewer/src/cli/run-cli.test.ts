import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { http, removeDir, startServer, tempDir, type Started } from '../testing/fixture';
import { loadOrCreateSigningKeys } from '../signing/signing-keys';
import { parseDuration, runCli } from './run-cli';

const EXAMPLE_POLICY = fileURLToPath(new URL('../../../core/src/policy/examples/example-policy.yaml', import.meta.url));

function io(env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), env },
    get stdout() {
      return out.join('');
    },
    get stderr() {
      return err.join('');
    },
  };
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function started(): Promise<Started> {
  const s = await startServer();
  cleanups.push(() => removeDir(s.dataDir));
  cleanups.push(() => s.server.close());
  return s;
}

describe('toolgate CLI', () => {
  it('prints help with exit 0, and usage errors with exit 2', async () => {
    const h = io();
    expect(await runCli(['--help'], h.io)).toBe(0);
    expect(h.stdout).toContain('toolgate <command>');
    for (const args of [['init', '--help'], ['serve', '--help'], ['keys', 'create', '--help'], ['reviews', '--help'], ['audit', 'verify', '--help'], ['policy', 'check', '--help']]) {
      const x = io();
      expect(await runCli(args, x.io)).toBe(0);
      expect(x.stdout).toMatch(/Usage: toolgate/);
    }
    const none = io();
    expect(await runCli([], none.io)).toBe(2);
    const bad = io();
    expect(await runCli(['frobnicate'], bad.io)).toBe(2);
    expect(bad.stderr).toContain('unknown command "frobnicate"');
    const badScope = io();
    expect(await runCli(['keys', 'create', '--scope', 'root'], badScope.io)).toBe(2);
    expect(badScope.stderr).toContain('--scope must be one of eval, approve, admin');
    const badFlag = io();
    expect(await runCli(['serve', '--prot', '1'], badFlag.io)).toBe(2);
  });

  it('keys create writes a hashed key a running server accepts at once', async () => {
    const s = await started();
    const x = io();
    expect(await runCli(['keys', 'create', '--scope', 'eval', '--name', 'cli-agent', '--data', s.dataDir], x.io)).toBe(0);
    const key = x.stdout.trim();
    expect(key).toMatch(/^tgk_/);
    expect(x.stderr).toContain('cli-agent');
    expect(readFileSync(join(s.dataDir, 'toolgate.db')).includes(Buffer.from(key))).toBe(false);
    const r = await http(s.url, 'POST', '/v1/reviews', key, { idempotencyKey: 'cli-1', call: { tool: 'transfer', args: { amount: 5 } } });
    expect(r.status).toBe(200);
    const verify = await http(s.url, 'GET', '/v1/audit/verify', s.approveKey);
    expect(verify.body.ok).toBe(true);
  });

  it('keys list shows keys (never the secret), keys revoke stops a running server accepting one', async () => {
    const s = await startServer({ apiKeyCacheMs: 0 });
    cleanups.push(() => removeDir(s.dataDir));
    cleanups.push(() => s.server.close());
    const made = io();
    expect(await runCli(['keys', 'create', '--scope', 'eval', '--name', 'leaky', '--data', s.dataDir, '--json'], made.io)).toBe(0);
    const { id, key } = JSON.parse(made.stdout) as { id: string; key: string };
    const body = { idempotencyKey: 'rv-1', call: { tool: 'transfer', args: { amount: 5 } } };
    expect((await http(s.url, 'POST', '/v1/reviews', key, body)).status).toBe(200);
    const list = io();
    expect(await runCli(['keys', 'list', '--data', s.dataDir], list.io)).toBe(0);
    expect(list.stdout).toContain(id);
    expect(list.stdout).toContain('leaky');
    expect(list.stdout).not.toContain(key);
    const revoke = io();
    expect(await runCli(['keys', 'revoke', id, '--data', s.dataDir], revoke.io)).toBe(0);
    expect((await http(s.url, 'POST', '/v1/reviews', key, { ...body, idempotencyKey: 'rv-2' })).status).toBe(401);
    const again = io();
    expect(await runCli(['keys', 'revoke', id, '--data', s.dataDir], again.io)).toBe(1);
    const listed = io();
    expect(await runCli(['keys', 'list', '--data', s.dataDir, '--json'], listed.io)).toBe(0);
    expect((JSON.parse(listed.stdout) as Array<{ id: string; revokedAt: string | null }>).find((k) => k.id === id)?.revokedAt).toBeTruthy();
  });

  it('reviews list / approve / deny talk to a running server', async () => {
    const s = await started();
    const a = await http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey: 'r-1', call: { tool: 'transfer', args: { amount: 500 } } });
    const b = await http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey: 'r-2', call: { tool: 'transfer', args: { amount: 501 } } });
    const env = { TOOLGATE_URL: s.url, TOOLGATE_KEY: s.approveKey };
    const list = io(env);
    expect(await runCli(['reviews', 'list', '--status', 'pending'], list.io)).toBe(0);
    expect(list.stdout).toContain(a.body.id);
    expect(list.stdout).toContain(b.body.id);
    const ok = io(env);
    expect(await runCli(['reviews', 'approve', a.body.id, '--reason', 'fine'], ok.io)).toBe(0);
    expect(ok.stdout).toContain('allow');
    const no = io(env);
    expect(await runCli(['reviews', 'deny', b.body.id], no.io)).toBe(0);
    expect(s.server.store.getReview(a.body.id)).toMatchObject({ verdict: 'allow', reason: 'fine' });
    expect(s.server.store.getReview(b.body.id)).toMatchObject({ verdict: 'deny' });
    const twice = io(env);
    expect(await runCli(['reviews', 'deny', b.body.id], twice.io)).toBe(1);
    expect(twice.stderr).toContain('ALREADY_DECIDED');
    const noKey = io({ TOOLGATE_URL: s.url });
    expect(await runCli(['reviews', 'list'], noKey.io)).toBe(2);
  });

  it('reviews list prints no terminal escape or bidi control from agent-chosen fields, and flags the review', async () => {
    const s = await started();
    // A 1e9 transfer whose name redraws the line as a harmless lookup, from an agent id with a right-to-left override.
    const spoof = 'transfer\u001b[2K\r\u001b[1Alookup_balance\u009b31m';
    const r = await http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey: 'esc-1', call: { tool: spoof, args: { amount: 1e9 } }, agent: { id: 'bot\u202egnp.exe' } });
    expect(r.status).toBe(202);
    const env = { TOOLGATE_URL: s.url, TOOLGATE_KEY: s.approveKey };
    const list = io(env);
    expect(await runCli(['reviews', 'list'], list.io)).toBe(0);
    expect(list.stdout).not.toMatch(/[\u001b\u009b\u202e\r]/);
    expect(list.stdout).toContain('transfer\\u001B[2K\\u000D\\u001B[1Alookup_balance\\u009B31m');
    expect(list.stdout).toContain('bot\\u202Egnp.exe');
    expect(list.stdout).toContain('[!] contains hidden/control characters');
    const json = io(env);
    expect(await runCli(['reviews', 'list', '--json'], json.io)).toBe(0);
    expect(json.stdout).not.toMatch(/[\u001b\u009b\u202e]/);
    const parsed = JSON.parse(json.stdout) as Array<{ tool: string; hiddenCharacters?: boolean }>;
    expect(parsed[0]).toMatchObject({ tool: spoof, hiddenCharacters: true });
  });

  it('audit verify: 0 for an intact trail, 1 naming the first broken record after tampering', async () => {
    const s = await started();
    await http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey: 'v-1', call: { tool: 'transfer', args: { amount: 5 } } });
    await http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey: 'v-2', call: { tool: 'transfer', args: { amount: 6 } } });
    await s.server.audit.flush();
    const file = join(s.dataDir, 'audit.jsonl');
    const good = io();
    expect(await runCli(['audit', 'verify', file], good.io)).toBe(0);
    expect(good.stdout).toMatch(/^ok: \d+ records, chain intact/);
    const lines = readFileSync(file, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes('"amount":5'));
    lines[i] = lines[i]!.replace('"amount":5', '"amount":5000');
    writeFileSync(file, lines.join('\n'));
    const bad = io();
    expect(await runCli(['audit', 'verify', file], bad.io)).toBe(1);
    expect(bad.stderr).toMatch(/BROKEN: \d+ records verified, then line \d+ \(seq \d+\): hash mismatch/);
    const missing = io();
    expect(await runCli(['audit', 'verify', join(s.dataDir, 'nope.jsonl')], missing.io)).toBe(1);
  });

  it('policy check validates a policy and shows what it decides for sample calls', async () => {
    const x = io();
    const code = await runCli(
      ['policy', 'check', EXAMPLE_POLICY, '--call', '{"tool":"transfer","args":{"amount":60000}}', '--call', '{"tool":"transfer","args":{"amount":10}}'],
      x.io,
    );
    expect(code).toBe(0);
    expect(x.stdout).toContain('is a valid policy');
    expect(x.stdout).toMatch(/transfer \{"amount":60000\}\n {2}→ deny/);
    expect(x.stdout).toMatch(/transfer \{"amount":10\}\n {2}→ allow/);
    const samples = io();
    expect(await runCli(['policy', 'check', EXAMPLE_POLICY], samples.io)).toBe(0);
    expect(samples.stdout).toContain('deploy {}');

    const dir = tempDir();
    cleanups.push(() => removeDir(dir));
    const broken = join(dir, 'bad.yaml');
    writeFileSync(broken, 'version: 1\nrules:\n  - id: x\n    verdict: maybe\n');
    const bad = io();
    expect(await runCli(['policy', 'check', broken], bad.io)).toBe(1);
    expect(bad.stderr).toContain('verdict');
    const badCall = io();
    expect(await runCli(['policy', 'check', EXAMPLE_POLICY, '--call', '{nope'], badCall.io)).toBe(2);
  });

  it('keys rotate-signing keeps the old public key in the key file', async () => {
    const dir = tempDir();
    cleanups.push(() => removeDir(dir));
    const before = await loadOrCreateSigningKeys(dir);
    const x = io();
    expect(await runCli(['keys', 'rotate-signing', '--data', dir], x.io)).toBe(0);
    const after = await loadOrCreateSigningKeys(dir);
    expect(after.activeKid).not.toBe(before.activeKid);
    expect(after.keys.map((k) => k.kid)).toEqual([before.activeKid, after.activeKid]);
    expect(after.keys[0]!.privateJwk).toBeUndefined();
  });

  it('serve starts on the given port and stops on the stop signal', async () => {
    const dir = tempDir();
    cleanups.push(() => removeDir(dir));
    let stop!: () => void;
    const x = io();
    let url = '';
    const run = runCli(['serve', '--port', '0', '--data', dir, '--policy', EXAMPLE_POLICY, '--pending-timeout', '2m'], {
      ...x.io,
      stopSignal: new Promise<void>((resolve) => (stop = resolve)),
      onListening: (u) => {
        url = u;
        const health = http(u, 'GET', '/healthz').then((r) => {
          expect(r.body.ok).toBe(true);
          stop();
        });
        cleanups.push(() => health);
      },
    });
    expect(await run).toBe(0);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(x.stdout).toContain('no API keys yet');
  });

  it('parses durations', () => {
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('250')).toBe(250);
    expect(() => parseDuration('soon')).toThrow(/not a duration/);
  });
});
