import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkpointOf, hashRecord, verifyAuditLog, type AuditRecord } from '@toolgate/core';
import { runCli } from '../cli/run-cli';
import { jwksOf, readSigningKeys } from '../signing/signing-keys';
import { http, removeDir, startServer, tempDir, type Started } from '../testing/fixture';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function started(options: Parameters<typeof startServer>[0] = {}): Promise<Started> {
  const s = await startServer(options);
  cleanups.push(() => removeDir(s.dataDir));
  cleanups.push(() => s.server.close());
  return s;
}

function cli() {
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

const submit = (s: Started, key: string, amount: number) =>
  http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey: key, call: { tool: 'transfer', args: { amount }, callId: `c-${key}` } });

const read = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditRecord);
const write = (path: string, records: AuditRecord[]) => writeFileSync(path, records.map((r) => `${JSON.stringify(r)}\n`).join(''));

/**
 * The attack: the policy's deny becomes an allow and every later hash is recomputed, so the chain
 * alone verifies. With `strip`, the attacker also drops the signed checkpoints it cannot re-sign.
 */
function rewriteDenyToAllow(path: string, strip: boolean): void {
  const records = read(path).filter((r) => !strip || checkpointOf(r) === undefined);
  const at = records.findIndex((r) => r.kind === 'review' && r.decision?.verdict === 'deny');
  expect(at).toBeGreaterThan(0);
  records[at]!.decision!.verdict = 'allow';
  for (let i = 0; i < records.length; i++) {
    records[i]!.seq = i + 1;
    records[i]!.prevHash = i === 0 ? records[0]!.prevHash : records[i - 1]!.hash;
    records[i]!.hash = hashRecord(records[i]!);
  }
  write(path, records);
}

/** A server with an allow and a policy deny in its trail, a signed checkpoint, then stopped. */
async function trailWithDeny(): Promise<{ s: Started; file: string }> {
  const s = await started();
  expect((await submit(s, 'ok-1', 5)).body.verdict).toBe('allow');
  expect((await submit(s, 'big-1', 50_000)).body.verdict).toBe('deny');
  expect((await submit(s, 'ok-2', 6)).body.verdict).toBe('allow');
  return { s, file: join(s.dataDir, 'audit.jsonl') };
}

describe('audit verify over HTTP: signed checkpoints and database vs file', () => {
  it('a clean trail verifies, with signed checkpoints in both copies and the same head', async () => {
    const { s } = await trailWithDeny();
    const v = await http(s.url, 'GET', '/v1/audit/verify', s.approveKey);
    expect(v.body).toMatchObject({
      ok: true,
      table: { ok: true, checkpoints: { count: 1, signed: true, uncovered: 0 } },
      mirror: { ok: true, checkpoints: { count: 1, signed: true, uncovered: 0 } },
    });
    expect(v.body.heads.database).toEqual(v.body.heads.mirror);
    // Verifying again appends nothing new when nothing happened.
    expect((await http(s.url, 'GET', '/v1/audit/verify', s.approveKey)).body.table.records).toBe(v.body.table.records);
  });

  for (const strip of [false, true]) {
    it(`a deny rewritten to allow in audit.jsonl with every later hash recomputed${strip ? ' and the checkpoints dropped' : ''} fails /v1/audit/verify`, async () => {
      const { s, file } = await trailWithDeny();
      expect((await http(s.url, 'GET', '/v1/audit/verify', s.approveKey)).body.ok).toBe(true);
      await s.server.audit.flush();
      rewriteDenyToAllow(file, strip);
      expect((await verifyAuditLog(file)).ok).toBe(!strip ? false : true); // the chain alone: only the checkpoint catches it
      const v = await http(s.url, 'GET', '/v1/audit/verify', s.approveKey);
      expect(v.status).toBe(200);
      expect(v.body.ok).toBe(false);
      expect(v.body.table.ok).toBe(true);
      expect(v.body.mirror.ok).toBe(false);
      expect(v.body.mirror.firstBroken.reason).toMatch(/^(checkpoint mismatch|prevHash mismatch|head mismatch|truncated)/);
    });
  }
});

describe('audit verify over HTTP: the copies are compared', () => {
  it('a file whose last record was rewritten and rehashed (its chain alone intact) fails, naming both heads', async () => {
    const { s, file } = await trailWithDeny();
    expect((await http(s.url, 'GET', '/v1/audit/verify', s.approveKey)).body.ok).toBe(true);
    const records = read(file);
    const last = records.at(-1)!;
    last.ts = '2020-01-01T00:00:00.000Z';
    last.hash = hashRecord(last);
    write(file, records);
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true });
    const v = await http(s.url, 'GET', '/v1/audit/verify', s.approveKey);
    expect(v.body.ok).toBe(false);
    expect(v.body.mismatch ?? v.body.mirror.firstBroken?.reason).toMatch(/head mismatch/);
    expect(JSON.stringify(v.body)).toContain(last.hash);
    expect(v.body.heads.database.hash).not.toBe(v.body.heads.mirror.hash);
  });
});

describe('toolgate audit verify: checkpoints and the database head', () => {
  async function stoppedTrail() {
    const { s, file } = await trailWithDeny();
    await http(s.url, 'GET', '/v1/audit/verify', s.approveKey);
    await s.server.close();
    return { s, file };
  }

  it('a clean trail: exit 0, signed checkpoints valid, the database head matches', async () => {
    const { file } = await stoppedTrail();
    const x = cli();
    expect(await runCli(['audit', 'verify', file], x.io)).toBe(0);
    expect(x.stdout).toMatch(/^ok: \d+ records, chain intact/);
    expect(x.stdout).toMatch(/signed checkpoints: \d+, signatures valid/);
    expect(x.stdout).toMatch(/database head matches the file/);
  });

  it('a rewrite-and-rehash attack: exit 1 (the checkpoint, or with checkpoints dropped the database head, names it)', async () => {
    const { file } = await stoppedTrail();
    const copy = `${file}.orig`;
    copyFileSync(file, copy);
    rewriteDenyToAllow(file, false);
    const a = cli();
    expect(await runCli(['audit', 'verify', file], a.io)).toBe(1);
    expect(a.stderr).toMatch(/BROKEN: .*checkpoint mismatch/);

    copyFileSync(copy, file);
    rewriteDenyToAllow(file, true);
    const b = cli();
    expect(await runCli(['audit', 'verify', file], b.io)).toBe(1);
    // Both heads are named: where the file ends and what the database says.
    expect(b.stderr).toMatch(/BROKEN: .*truncated: the log ends at seq (\d+) \(sha256:[0-9a-f]{64}\), the expected head is seq \d+ \(sha256:[0-9a-f]{64}\)/);
  });

  it('records cut off the end of the file: exit 1, truncated', async () => {
    const { file } = await stoppedTrail();
    write(file, read(file).slice(0, -2));
    const x = cli();
    expect(await runCli(['audit', 'verify', file], x.io)).toBe(1);
    expect(x.stderr).toMatch(/truncated: the log ends at seq \d+ .*the expected head is seq \d+/);
  });

  it('a copy verified elsewhere: with --jwks the signatures are checked; a file without checkpoints is ok and flagged unsigned', async () => {
    const { s, file } = await stoppedTrail();
    const elsewhere = tempDir();
    cleanups.push(() => removeDir(elsewhere));
    mkdirSync(elsewhere, { recursive: true });
    const copy = join(elsewhere, 'audit.jsonl');
    copyFileSync(file, copy);
    const jwksFile = join(elsewhere, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify(jwksOf(readSigningKeys(s.dataDir)!, { includeDropped: true })));
    const x = cli();
    expect(await runCli(['audit', 'verify', copy, '--jwks', jwksFile], x.io)).toBe(0);
    expect(x.stdout).toMatch(/signatures valid/);
    expect(x.stdout).toMatch(/no database at .*: the file was not compared with one/);

    write(copy, read(copy).filter((r) => checkpointOf(r) === undefined).slice(0, 3)); // an old file: no checkpoints
    const old = cli();
    expect(await runCli(['audit', 'verify', copy, '--jwks', jwksFile], old.io)).toBe(0);
    expect(old.stdout).toMatch(/note: unsigned: this log has no signed checkpoint/);
  });
});
