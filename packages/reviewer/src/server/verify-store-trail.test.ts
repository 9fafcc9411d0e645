// GET /v1/audit/verify on PostgreSQL reads the chain a page at a time and verifies it as it comes:
// the answer is the one verifying the whole chain in memory would give, it never asks the store for
// more than a page, and it stops reading at the first broken record.
import { createCheckpointSigner, verifyAuditRecords, type AuditEntry, type AuditRecord } from '@toolgate/core';
import { adminEntry } from '../auth/api-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedPostgres, startPostgres } from '../../../../test/support/embedded-postgres';
import { activeKey, jwksOf } from '../signing/signing-keys';
import { openPostgresStore, type PostgresStore } from '../store/postgres-store';
import type { ReviewStore } from '../store/review-store';
import { http, removeDir, startServer } from '../testing/fixture';
import { freshDatabase, runSql } from '../testing/postgres-database';
import { verifyStoreTrail } from './routes';

let postgres: StartedPostgres;
const opened: PostgresStore[] = [];
beforeAll(async () => {
  postgres = await startPostgres();
}, 90_000);
afterAll(async () => {
  await Promise.allSettled(opened.map((s) => s.close()));
  await postgres?.stop();
}, 30_000);

const entry = (i: number): AuditEntry => adminEntry('test.append', { i });

/** A store with `n` records and signed checkpoints after records 10 and 30, and its JWKS. */
async function chain(n: number) {
  const url = await freshDatabase(postgres.url);
  const store = await openPostgresStore(url, { poolSize: 4 });
  opened.push(store);
  const keyFile = await store.signingKeys();
  const key = activeKey(keyFile);
  const signer = createCheckpointSigner({ privateJwk: key.privateJwk as never, kid: key.kid });
  for (let i = 1; i <= n; i++) {
    await store.appendAudit(entry(i));
    if (i === 10 || i === 30) await store.checkpoint(signer);
  }
  const keys = { jwks: jwksOf(keyFile, { includeDropped: true }) as never };
  return { url, store, keys };
}

/** The same store, counting the pages asked for and the largest page size. */
function counting(store: ReviewStore) {
  const seen = { pages: 0, largest: 0 };
  const wrapped = Object.create(store) as ReviewStore;
  wrapped.auditAfter = async (after: number, limit: number) => {
    seen.pages++;
    seen.largest = Math.max(seen.largest, limit);
    return store.auditAfter(after, limit);
  };
  return { wrapped, seen };
}

async function everything(store: ReviewStore): Promise<AuditRecord[]> {
  return store.auditAfter(0, 1_000_000);
}

describe('verifyStoreTrail pages through the chain', () => {
  it('a chain of 5+ pages (with signed checkpoints) gives the same result as verifying it all in memory, one page at a time', async () => {
    const { store, keys } = await chain(47);
    const inMemory = verifyAuditRecords(await everything(store), keys);
    expect(inMemory).toMatchObject({ ok: true, records: 49, checkpoints: { count: 2, signed: true } });

    const { wrapped, seen } = counting(store);
    const paged = await verifyStoreTrail(wrapped, keys, undefined, 10);
    expect(paged).toEqual({ ok: true, table: inMemory, heads: { database: inMemory.last, mirror: null } });
    expect(seen).toEqual({ pages: 6, largest: 10 }); // 5 pages of records, then the empty one that ends it
    // The default page size (one page here) agrees too.
    expect((await verifyStoreTrail(store, keys)).table).toEqual(inMemory);
  }, 30_000);

  it('a record changed in page 2 of 5: the same first break as in memory, and pages 3 to 5 are never read', async () => {
    const { url, store, keys } = await chain(47);
    await runSql(url, `UPDATE audit SET record = replace(record, '"i":15', '"i":1500') WHERE seq = 16`);
    const inMemory = verifyAuditRecords(await everything(store), keys);
    expect(inMemory.ok).toBe(false);
    expect(inMemory.firstBroken).toMatchObject({ seq: 16, line: 16, reason: expect.stringMatching(/^hash mismatch/) });

    const { wrapped, seen } = counting(store);
    const paged = await verifyStoreTrail(wrapped, keys, undefined, 10);
    expect(paged).toEqual({ ok: false, table: inMemory, heads: { database: inMemory.last, mirror: null } });
    expect(seen.pages).toBe(2);
  }, 30_000);

  it('GET /v1/audit/verify on a PostgreSQL server answers what verifying the stored chain in memory gives', async () => {
    const database = await freshDatabase(postgres.url);
    const s = await startServer({ database });
    try {
      for (let i = 0; i < 12; i++) {
        const r = await http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey: `v-${i}`, call: { tool: 'transfer', args: { amount: 5 + i } } });
        expect(r.status).toBe(200);
      }
      const verify = await http(s.url, 'GET', '/v1/audit/verify', s.approveKey);
      expect(verify.status).toBe(200);
      const records = await s.server.reviewStore.auditAfter(0, 1_000_000);
      const keys = { jwks: jwksOf(await s.server.reviewStore.signingKeys(), { includeDropped: true }) as never };
      expect(verify.body).toMatchObject({ ok: true, table: JSON.parse(JSON.stringify(verifyAuditRecords(records, keys))) });
    } finally {
      await s.server.close();
      removeDir(s.dataDir);
    }
  }, 30_000);
});
