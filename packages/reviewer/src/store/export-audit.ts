import { open } from 'node:fs/promises';
import type { ChainHead } from '@toolgate/core';
import type { ReviewStore } from './review-store';

/**
 * Writes the whole audit chain of a store (SQLite or PostgreSQL) as JSONL, one sealed record a
 * line, oldest first: the file `toolgate audit verify` checks offline. Created with `wx` (never
 * overwrites) and mode 0600. Returns how many records it wrote and the head it ends on.
 */
export async function exportAuditJsonl(store: Pick<ReviewStore, 'auditAfter'>, path: string, pageSize = 2_000): Promise<{ records: number; head: ChainHead | undefined }> {
  const file = await open(path, 'wx', 0o600);
  let records = 0;
  let head: ChainHead | undefined;
  try {
    let after = 0;
    for (;;) {
      const page = await store.auditAfter(after, pageSize);
      if (page.length === 0) break;
      await file.write(page.map((r) => `${JSON.stringify(r)}\n`).join(''));
      records += page.length;
      const last = page[page.length - 1]!;
      head = { seq: last.seq, hash: last.hash };
      after = last.seq;
    }
    await file.sync();
  } finally {
    await file.close();
  }
  return { records, head };
}
