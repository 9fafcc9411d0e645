import { describe, expect, it } from 'vitest';
import { createSessionStore } from './session-store';

const alice = { id: 'key_a', name: 'alice', scope: 'approve' as const };

describe('createSessionStore', () => {
  it('ends a session after the idle time, and touching it keeps it alive', () => {
    let t = 1_000;
    const store = createSessionStore({ idleMs: 100, absoluteMs: 10_000, now: () => t });
    const ended: string[] = [];
    store.onEnd((id) => ended.push(id));
    const s = store.create(alice, 'hash');
    expect(s.id).not.toBe(s.csrf);
    t += 90;
    expect(store.get(s.id)).toBe(s);
    t += 90;
    expect(store.get(s.id)).toBe(s);
    t += 100;
    expect(store.get(s.id)).toBeUndefined();
    expect(ended).toEqual([s.id]);
  });

  it('peek() does not count as use', () => {
    let t = 0;
    const store = createSessionStore({ idleMs: 100, now: () => t });
    const s = store.create(alice, 'hash');
    t = 90;
    expect(store.peek(s.id)).toBe(s);
    t = 100;
    expect(store.peek(s.id)).toBeUndefined();
  });

  it('ends a session after the absolute lifetime even when used', () => {
    let t = 0;
    const store = createSessionStore({ idleMs: 100, absoluteMs: 250, now: () => t });
    const s = store.create(alice, 'hash');
    for (t = 50; t < 250; t += 50) expect(store.get(s.id)).toBeDefined();
    t = 250;
    expect(store.get(s.id)).toBeUndefined();
  });

  it('evicts the least recently used session when full, and clear() ends all', () => {
    const store = createSessionStore({ maxSessions: 2 });
    const ended: string[] = [];
    store.onEnd((id) => ended.push(id));
    const a = store.create(alice, 'h');
    const b = store.create(alice, 'h');
    store.get(a.id);
    const c = store.create(alice, 'h');
    expect(ended).toEqual([b.id]);
    expect(store.get(a.id)).toBeDefined();
    expect(store.get(c.id)).toBeDefined();
    store.clear();
    expect(store.size).toBe(0);
    expect(ended).toHaveLength(3);
    expect(store.get(undefined)).toBeUndefined();
  });
});
