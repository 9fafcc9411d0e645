// The CLI for two-person approvals, on both stores: `toolgate keys create --group NAME`
// (repeatable) stores the groups with the key, lists them, and a running server counts the key for a
// policy rule's approverGroups; `toolgate reviews approve` says "1 of 2 approvals" and takes --args.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '@toolgate/core';
import { startPostgres, type StartedPostgres } from '../../../../test/support/embedded-postgres';
import { http, removeDir, startServer, TEST_POLICY, type Started } from '../testing/fixture';
import { freshDatabase } from '../testing/postgres-database';
import { runCli } from './run-cli';

const POLICY: Policy = {
  ...TEST_POLICY,
  rules: [
    ...TEST_POLICY.rules,
    { id: 'payouts', tools: ['payout'], verdict: 'review', approverGroups: ['finance'] },
    { id: 'two-person', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 1000 }], verdict: 'review', approvals: 2 },
  ],
};

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), env: {} },
    get stdout() {
      return out.join('');
    },
    get stderr() {
      return err.join('');
    },
  };
}

let pgServer: StartedPostgres | undefined;
afterAll(async () => {
  await pgServer?.stop();
}, 30_000);
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe.each(['sqlite', 'postgres'] as const)('keys create --group on %s', (engine) => {
  beforeAll(async () => {
    if (engine === 'postgres') pgServer ??= await startPostgres();
  }, 90_000);

  it('stores the groups, lists them, and the server counts the key only for its groups', async () => {
    const database = engine === 'postgres' ? await freshDatabase(pgServer!.url) : undefined;
    const s: Started = await startServer({ policy: POLICY, apiKeyCacheMs: 0, ...(database ? { database } : {}) });
    cleanups.push(() => removeDir(s.dataDir));
    cleanups.push(() => s.server.close());
    const where = database ? ['--database', database] : ['--data', s.dataDir];

    const made = io();
    expect(await runCli(['keys', 'create', '--scope', 'approve', '--name', 'fin', '--group', 'finance', '--group', 'ops', '--group', 'finance', '--json', ...where], made.io)).toBe(0);
    const key = JSON.parse(made.stdout) as { id: string; key: string; groups: string[] };
    expect(key.groups).toEqual(['finance', 'ops']);
    expect(made.stderr).toContain('in groups finance, ops');

    const listed = io();
    expect(await runCli(['keys', 'list', '--json', ...where], listed.io)).toBe(0);
    const rows = JSON.parse(listed.stdout) as Array<{ id: string; name: string; groups?: string[] }>;
    expect(rows.find((r) => r.id === key.id)?.groups).toEqual(['finance', 'ops']);
    expect(rows.find((r) => r.name === 'alice')?.groups).toBeUndefined();

    const bad = io();
    expect(await runCli(['keys', 'create', '--scope', 'approve', '--group', 'two words', ...where], bad.io)).toBe(2);
    expect(bad.stderr).toContain('--group');

    const r = await http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey: 'g-1', call: { tool: 'payout', args: { to: 'acme' } } });
    expect(r.body).toMatchObject({ status: 'pending', approvals: { required: 1, groups: ['finance'] } });
    const outsider = await http(s.url, 'POST', `/v1/reviews/${r.body.id}/decision`, s.approveKey, { verdict: 'allow' });
    expect(outsider.body.error.code).toBe('NOT_IN_APPROVER_GROUP');
    const member = await http(s.url, 'POST', `/v1/reviews/${r.body.id}/decision`, key.key, { verdict: 'allow' });
    expect(member.status).toBe(200);
    expect(member.body).toMatchObject({ verdict: 'allow', decidedBy: 'human:fin', approvals: { required: 1, approvers: ['fin'], groups: ['finance'] } });
  });

  it('reviews approve says "1 of 2 approvals" while a two-person review waits, then the decision; --args approves an edit', async () => {
    const database = engine === 'postgres' ? await freshDatabase(pgServer!.url) : undefined;
    const s: Started = await startServer({ policy: POLICY, ...(database ? { database } : {}) });
    cleanups.push(() => removeDir(s.dataDir));
    cleanups.push(() => s.server.close());
    const bob = (await s.server.keys.createStored('approve', 'bob')).key;
    const r = await http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey: 'cli-2p', call: { tool: 'transfer', args: { amount: 2000 } } });
    const id = r.body.id as string;
    const first = io();
    expect(await runCli(['reviews', 'approve', id, '--url', s.url, '--key', s.approveKey], first.io)).toBe(0);
    expect(first.stdout).toBe(`${id}: approval recorded, 1 of 2 approvals (alice); still pending\n`);
    const second = io();
    expect(await runCli(['reviews', 'approve', id, '--url', s.url, '--key', bob], second.io)).toBe(0);
    expect(second.stdout).toBe(`${id}: allow (human:alice, bob)\n`);

    const e = await http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey: 'cli-ed', call: { tool: 'transfer', args: { amount: 700 } } });
    const badJson = io();
    expect(await runCli(['reviews', 'approve', e.body.id, '--args', '{amount:', '--url', s.url, '--key', bob], badJson.io)).toBe(2);
    const refused = io();
    expect(await runCli(['reviews', 'approve', e.body.id, '--args', '{"amount":99999}', '--url', s.url, '--key', bob], refused.io)).toBe(1);
    expect(refused.stderr).toContain('EDIT_DENIED');
    const edited = io();
    expect(await runCli(['reviews', 'approve', e.body.id, '--args', '{"amount":600}', '--url', s.url, '--key', bob], edited.io)).toBe(0);
    expect(edited.stdout).toBe(`${e.body.id}: allow with edited arguments {"amount":600} (human:bob)\n`);
  });
});
