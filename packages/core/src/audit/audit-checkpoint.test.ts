import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, createLocalJWKSet } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../proof/generate-signing-key';
import type { AuditEntry, AuditRecord } from '../types';
import { checkpointJws, checkpointOf, createCheckpointSigner, type CheckpointSigner, type SignedCheckpoint } from './audit-checkpoint';
import { hashRecord, sealRecord, verifyAuditRecords } from './chain';
import { jsonlAudit } from './jsonl-audit';
import { verifyAuditLog } from './verify-audit-log';

type Key = Awaited<ReturnType<typeof generateSigningKey>>;

let dir: string;
let server: Key;
let attacker: Key;
let cp: CheckpointSigner;
beforeAll(async () => {
  server = await generateSigningKey();
  attacker = await generateSigningKey();
  cp = createCheckpointSigner({ privateJwk: server.privateJwk, kid: server.kid });
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'toolgate-checkpoint-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const jwks = () => ({ keys: [server.publicJwk] });

function review(i: number, verdict: 'allow' | 'deny'): AuditEntry {
  return {
    id: `rec-${i}`,
    ts: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
    kind: 'review',
    call: { tool: 'transfer', digest: `sha256:${i.toString(16).padStart(64, '0')}`, args: { amount: 1000 * i } },
    decision: { verdict, reason: verdict === 'deny' ? 'too large' : 'ok', conditions: [], evaluated: [], source: 'policy' } as unknown as AuditEntry['decision'],
  };
}

/** A log of 6 reviews (record 2 a deny) with a signed checkpoint after record 4 and one at the end. */
async function signedLog(path: string): Promise<AuditRecord[]> {
  const sink = jsonlAudit(path, { fsync: 'never' });
  for (let i = 1; i <= 6; i++) {
    sink.append(review(i, i === 2 ? 'deny' : 'allow'));
    if (i === 4 || i === 6) sink.append(cp.entry(sink.head!));
  }
  await sink.close();
  return readLines(path);
}

function readLines(path: string): AuditRecord[] {
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditRecord);
}

/** What an attacker with write access does: edit one record and recompute every later hash. */
function rewriteAndRehash(records: AuditRecord[], edit: (r: AuditRecord) => void): AuditRecord[] {
  const out = records.map((r) => structuredClone(r));
  const at = out.findIndex((r) => r.kind === 'review' && r.decision?.verdict === 'deny');
  edit(out[at]!);
  for (let i = at; i < out.length; i++) {
    if (i > 0) out[i]!.prevHash = out[i - 1]!.hash;
    out[i]!.hash = hashRecord(out[i]!);
  }
  return out;
}

const write = (path: string, records: AuditRecord[]) => writeFileSync(path, records.map((r) => `${JSON.stringify(r)}\n`).join(''));

describe('signed audit checkpoints', () => {
  it('a clean signed log verifies offline with the JWKS and reports its checkpoints', async () => {
    const path = join(dir, 'audit.jsonl');
    const records = await signedLog(path);
    const r = await verifyAuditLog(path, { jwks: jwks() });
    expect(r).toMatchObject({ ok: true, records: 8, checkpoints: { count: 2, signed: true, uncovered: 0, last: { seq: 7, hash: records[6]!.hash, kid: server.kid } } });
    expect(r.note).toBeUndefined();
    // The same check on records in memory (the database table).
    expect(verifyAuditRecords(records, { jwks: jwks(), head: r.last! })).toMatchObject({ ok: true, checkpoints: { count: 2 } });
    // The checkpoint is a standard compact JWS any JOSE library verifies with the JWKS.
    const c = checkpointOf(records[4]!) as SignedCheckpoint;
    const { payload, protectedHeader } = await compactVerify(checkpointJws(c), createLocalJWKSet(jwks()));
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', typ: 'toolgate-audit-checkpoint+jwt' });
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({ aud: 'toolgate-audit', seq: 4, hash: records[3]!.hash, ts: c.ts });
  });

  it('a deny rewritten to allow with every later hash recomputed is caught by the signed checkpoint', async () => {
    const path = join(dir, 'audit.jsonl');
    const records = await signedLog(path);
    write(
      path,
      rewriteAndRehash(records, (r) => {
        r.decision!.verdict = 'allow';
      }),
    );
    for (const options of [undefined, { jwks: jwks() }]) {
      const r = await verifyAuditLog(path, options);
      expect(r.ok).toBe(false);
      expect(r.firstBroken).toMatchObject({ seq: 5, line: 5, reason: expect.stringMatching(/^checkpoint mismatch: the signed checkpoint says the chain ended at seq 4/) });
    }
  });

  it('checkpoints re-signed with another key, or dropped, do not pass with the JWKS', async () => {
    const path = join(dir, 'audit.jsonl');
    const records = await signedLog(path);
    const forger = createCheckpointSigner({ privateJwk: attacker.privateJwk, kid: server.kid });
    const forged = rewriteAndRehash(records, (r) => {
      r.decision!.verdict = 'allow';
    });
    for (let i = 0; i < forged.length; i++) {
      if (checkpointOf(forged[i]!) === undefined) continue;
      const c = forger.sign({ seq: forged[i - 1]!.seq, hash: forged[i - 1]!.hash });
      forged[i]!.meta = { ...forged[i]!.meta, ...c };
      for (let j = i; j < forged.length; j++) {
        if (j > 0) forged[j]!.prevHash = forged[j - 1]!.hash;
        forged[j]!.hash = hashRecord(forged[j]!);
      }
    }
    write(path, forged);
    const r = await verifyAuditLog(path, { jwks: jwks() });
    expect(r).toMatchObject({ ok: false, firstBroken: { seq: 5, reason: expect.stringMatching(/^checkpoint signature invalid: not signed by a trusted key/) } });
    // Without keys the structure is right, and the result says the signatures went unchecked.
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true, note: expect.stringMatching(/^checkpoint signatures not checked/) });
  });

  it('records cut off the end fail against the expected head or a signed checkpoint kept elsewhere', async () => {
    const path = join(dir, 'audit.jsonl');
    const records = await signedLog(path);
    const head = { seq: records.at(-1)!.seq, hash: records.at(-1)!.hash };
    const kept = checkpointOf(records.at(-1)!) as SignedCheckpoint; // the last checkpoint, e.g. from the database
    expect(await verifyAuditLog(path, { jwks: jwks(), head, checkpoint: kept })).toMatchObject({ ok: true });
    write(path, records.slice(0, 5)); // cut after the first checkpoint: the chain alone still verifies
    expect(await verifyAuditLog(path, { jwks: jwks() })).toMatchObject({ ok: true });
    expect(await verifyAuditLog(path, { jwks: jwks(), head })).toMatchObject({
      ok: false,
      firstBroken: { reason: expect.stringMatching(/^truncated: the log ends at seq 5 .*, the expected head is seq 8/) },
    });
    expect(await verifyAuditLog(path, { reaches: { seq: 6, hash: records[5]!.hash } })).toMatchObject({
      ok: false,
      firstBroken: { reason: expect.stringMatching(/^truncated: the log ends at seq 5 .*, the expected head is seq 6/) },
    });
    expect(await verifyAuditLog(path, { reaches: { seq: 3, hash: records[3]!.hash } })).toMatchObject({ ok: false, firstBroken: { reason: expect.stringMatching(/^head mismatch/) } });
    expect(await verifyAuditLog(path, { reaches: { seq: 3, hash: records[2]!.hash } })).toMatchObject({ ok: true });
    expect(await verifyAuditLog(path, { jwks: jwks(), checkpoint: kept })).toMatchObject({
      ok: false,
      firstBroken: { reason: expect.stringMatching(/^truncated: a signed checkpoint names seq 7, beyond the end of the log \(seq 5\)/) },
    });
    // A checkpoint that was not signed by a trusted key is refused before reading the log.
    const fake = createCheckpointSigner({ privateJwk: attacker.privateJwk, kid: 'x' }).sign({ seq: 1, hash: records[0]!.hash });
    await expect(verifyAuditLog(path, { jwks: jwks(), checkpoint: fake })).rejects.toMatchObject({ code: 'AUDIT_INVALID' });
  });

  it('an old log without checkpoints still verifies, with a note that it is unsigned', async () => {
    const path = join(dir, 'old.jsonl');
    const sink = jsonlAudit(path, { fsync: 'never' });
    for (let i = 1; i <= 3; i++) sink.append(review(i, 'allow'));
    await sink.close();
    const plain = await verifyAuditLog(path);
    expect(plain).toEqual({ ok: true, records: 3, last: { seq: 3, hash: sink.head!.hash } });
    expect(await verifyAuditLog(path, { jwks: jwks() })).toMatchObject({
      ok: true,
      records: 3,
      checkpoints: { count: 0, signed: true, uncovered: 3 },
      note: expect.stringMatching(/^unsigned: this log has no signed checkpoint/),
    });
  });

  it('a checkpoint signed after its key was retired (JWK exp) is refused', async () => {
    const path = join(dir, 'audit.jsonl');
    await signedLog(path);
    const retiredLongAgo = { ...server.publicJwk, exp: Math.floor(Date.UTC(2020, 0, 1) / 1000) };
    expect(await verifyAuditLog(path, { keys: [retiredLongAgo] })).toMatchObject({
      ok: false,
      firstBroken: { seq: 5, reason: expect.stringMatching(/^checkpoint signature invalid: signed at .* retired 2020-01-01/) },
    });
  });

  it('a checkpoint survives sealing and the default redaction unchanged', () => {
    const entry = cp.entry({ seq: 41, hash: `sha256:${'a'.repeat(64)}` });
    const sealed = sealRecord(entry, { seq: 41, hash: `sha256:${'a'.repeat(64)}` });
    expect(sealed.meta).toEqual(entry.meta);
    expect(verifyAuditRecords([sealed], { from: { seq: 41, hash: `sha256:${'a'.repeat(64)}` }, jwks: jwks() })).toMatchObject({ ok: true, checkpoints: { count: 1 } });
  });
});
