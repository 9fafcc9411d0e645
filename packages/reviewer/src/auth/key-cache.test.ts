import { afterEach, describe, expect, it } from 'vitest';
import { openAuditTrail } from '../store/audit-trail';
import { openStore } from '../store/open-store';
import { removeDir, tempDir } from '../testing/fixture';
import { createApiKey, revokeApiKey } from './api-keys';
import { createKeyCache } from './key-cache';
import type { KeyInfo } from './api-keys';

/** On SQLite the cache answers synchronously: no extra tick or I/O per request. */
function sync(r: KeyInfo | null | Promise<KeyInfo | null>): KeyInfo | null {
  if (r instanceof Promise) throw new Error('a SQLite key lookup must be synchronous');
  return r;
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function setup() {
  const dir = tempDir();
  const store = openStore(dir);
  const audit = openAuditTrail(store, { flushMs: 1 });
  // Another process on the same data dir (the CLI).
  const cliStore = openStore(dir);
  const cliAudit = openAuditTrail(cliStore, { flushMs: 1 });
  cleanups.push(() => removeDir(dir));
  cleanups.push(() => store.close());
  cleanups.push(() => cliStore.close());
  cleanups.push(() => audit.close());
  cleanups.push(() => cliAudit.close());
  return { store, audit, cliStore, cliAudit };
}

describe('API key cache', () => {
  it('a key revoked through the same store stops working at once', () => {
    const { store, audit } = setup();
    const cache = createKeyCache(store, { ttlMs: 60_000 });
    const k = createApiKey(store, audit, { scope: 'eval', name: 'agent' });
    expect(cache.authenticate(k.key)).toEqual({ id: k.id, name: 'agent', scope: 'eval' });
    revokeApiKey(store, audit, k.id);
    expect(cache.authenticate(k.key)).toBeNull();
  });

  it('a key revoked by another process stops working once the TTL has passed', () => {
    const { store, audit, cliStore, cliAudit } = setup();
    let t = 1_000;
    const cache = createKeyCache(store, { ttlMs: 1000, now: () => t });
    const k = createApiKey(store, audit, { scope: 'approve' });
    expect(sync(cache.authenticate(k.key))?.id).toBe(k.id);
    revokeApiKey(cliStore, cliAudit, k.id);
    t += 999;
    expect(sync(cache.authenticate(k.key))?.id).toBe(k.id); // still trusted from memory, as documented
    t += 2;
    expect(cache.authenticate(k.key)).toBeNull();
  });

  it('does not cache unknown or malformed keys', () => {
    const { store, audit } = setup();
    const cache = createKeyCache(store);
    expect(cache.authenticate('tgk_nope')).toBeNull();
    expect(cache.authenticate('x'.repeat(10_000))).toBeNull();
    const k = createApiKey(store, audit, { scope: 'eval' });
    // Created after a miss for it would have been cached: still found.
    expect(sync(cache.authenticate(k.key))?.id).toBe(k.id);
    expect(cache.authenticate(`${k.key}x`)).toBeNull();
  });
});
