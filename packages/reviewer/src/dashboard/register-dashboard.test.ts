import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashRecord, verifyAuditLog, type AuditRecord } from '@toolgate/core';
import { request } from 'undici';
import { http, removeDir, startServer, type Started } from '../testing/fixture';
import { createDashboard, SESSION_COOKIE, type DashboardOptions } from './register-dashboard';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function started(options: DashboardOptions = {}): Promise<Started> {
  const s = await startServer({ dashboard: createDashboard(options) });
  cleanups.push(() => removeDir(s.dataDir));
  cleanups.push(() => s.server.close());
  return s;
}

type Cookie = { name: string; value: string; httpOnly?: boolean; sameSite?: string; secure?: boolean; path?: string };
const cookieOf = (res: { cookies: Cookie[] }, name: string) => res.cookies.find((c) => c.name === name);
const field = (html: string, re: RegExp) => re.exec(html)?.[1] ?? '';

/** The sign-in form: its login cookie and CSRF field. */
async function loginForm(s: Started) {
  const res = await s.server.app.inject({ method: 'GET', url: '/' });
  const nonce = cookieOf(res, 'toolgate_login')!;
  return { cookie: `toolgate_login=${nonce.value}`, csrf: field(res.body, /name="_csrf" value="([^"]+)"/), res };
}

async function postLogin(s: Started, key: string, form?: { cookie: string; csrf: string }, headers: Record<string, string> = {}) {
  const f = form ?? (await loginForm(s));
  return s.server.app.inject({
    method: 'POST',
    url: '/dashboard/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: f.cookie, ...headers },
    payload: new URLSearchParams({ _csrf: f.csrf, key }).toString(),
  });
}

/** Signs in and returns the session cookie header and the page's CSRF token. */
async function signIn(s: Started, key = s.approveKey) {
  const res = await postLogin(s, key);
  expect(res.statusCode).toBe(303);
  const cookie = `${SESSION_COOKIE}=${cookieOf(res, SESSION_COOKIE)!.value}`;
  const page = await s.server.app.inject({ method: 'GET', url: '/', headers: { cookie } });
  return { cookie, csrf: field(page.body, /name="toolgate-csrf" content="([^"]+)"/), page };
}

const decide = (s: Started, id: string, session: { cookie: string; csrf?: string }, body: unknown, headers: Record<string, string> = {}) =>
  s.server.app.inject({
    method: 'POST',
    url: `/dashboard/api/reviews/${id}/decision`,
    headers: { cookie: session.cookie, 'content-type': 'application/json', ...(session.csrf ? { 'x-csrf-token': session.csrf } : {}), ...headers },
    payload: JSON.stringify(body),
  });

async function pendingReview(s: Started, idem: string, key = s.evalKey, amount = 500): Promise<string> {
  const r = await http(s.url, 'POST', '/v1/reviews', key, { idempotencyKey: idem, call: { tool: 'transfer', args: { amount }, callId: `c-${idem}` } });
  expect(r.status).toBe(202);
  return r.body.id as string;
}

describe('dashboard sign-in', () => {
  it('serves the sign-in page with a strict CSP and an HttpOnly SameSite=Strict login cookie', async () => {
    const s = await started();
    const { res, csrf } = await loginForm(s);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(csrf.length).toBeGreaterThan(20);
    expect(cookieOf(res, 'toolgate_login')).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/dashboard/login' });
    expect(cookieOf(res, 'toolgate_login')!.secure).toBeFalsy();
  });

  it('creates a server-side session for an approver key: HttpOnly, SameSite=Strict, Path=/, not Secure over http', async () => {
    const s = await started();
    const res = await postLogin(s, s.approveKey);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/');
    const c = cookieOf(res, SESSION_COOKIE)!;
    expect(c).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(c.secure).toBeFalsy();
    expect(c.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const me = await s.server.app.inject({ method: 'GET', url: '/dashboard/api/session', headers: { cookie: `${SESSION_COOKIE}=${c.value}` } });
    expect(me.json()).toMatchObject({ key: { name: 'alice', scope: 'approve' } });
    expect(me.body).not.toContain(s.approveKey);
  });

  it('refuses unknown keys, eval keys, a missing or foreign form token, and a foreign Origin', async () => {
    const s = await started();
    expect((await postLogin(s, 'tgk_nope')).statusCode).toBe(401);
    const evalRes = await postLogin(s, s.evalKey);
    expect(evalRes.statusCode).toBe(403);
    expect(evalRes.body).toContain('needs an approve or admin key');

    const form = await loginForm(s);
    expect((await postLogin(s, s.approveKey, { cookie: form.cookie, csrf: '' })).statusCode).toBe(403);
    const other = await loginForm(s);
    // A token minted for another login cookie does not fit this one.
    expect((await postLogin(s, s.approveKey, { cookie: form.cookie, csrf: other.csrf })).statusCode).toBe(403);
    expect((await postLogin(s, s.approveKey, { cookie: '', csrf: form.csrf })).statusCode).toBe(403);
    const foreign = await postLogin(s, s.approveKey, form, { origin: 'https://evil.example' });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.body).toContain('cross-origin request refused');
    const crossSite = await postLogin(s, s.approveKey, form, { 'sec-fetch-site': 'cross-site' });
    expect(crossSite.statusCode).toBe(403);
    for (const r of [evalRes, foreign, crossSite]) expect(cookieOf(r, SESSION_COOKIE)).toBeUndefined();
    // The same form with the right Origin works.
    expect((await postLogin(s, s.approveKey, form, { origin: 'http://localhost:80' })).statusCode).toBe(303);
  });

  it('behind a TLS-terminating proxy: accepts the https Origin of this host and marks the session cookie Secure', async () => {
    const s = await started({ allowedOrigins: ['https://reviews.example.com'] });
    const direct = await postLogin(s, s.approveKey, undefined, { origin: 'https://localhost:80' });
    expect(direct.statusCode).toBe(303);
    expect(cookieOf(direct, SESSION_COOKIE)).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Strict' });
    // A proxy that rewrites Host: the public origin is allowed by configuration, others are not.
    expect((await postLogin(s, s.approveKey, undefined, { origin: 'https://reviews.example.com' })).statusCode).toBe(303);
    expect((await postLogin(s, s.approveKey, undefined, { origin: 'https://other.example.com' })).statusCode).toBe(403);
    expect((await postLogin(s, s.approveKey, undefined, { origin: 'https://localhost:81' })).statusCode).toBe(403);
  });

  it('rate-limits failed sign-ins per address (even a right key waits)', async () => {
    const s = await started({ maxLoginFailures: 3 });
    for (let i = 0; i < 3; i++) expect((await postLogin(s, `tgk_wrong${i}`)).statusCode).toBe(401);
    const limited = await postLogin(s, s.approveKey);
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(cookieOf(limited, SESSION_COOKIE)).toBeUndefined();
  });

  it("another client's wrong guesses from the same address do not lock out an approver who signed in before; the guesser stays locked", async () => {
    const s = await started({ maxLoginFailures: 3 });
    await signIn(s);
    const guesses: number[] = [];
    for (let i = 0; i < 10; i++) guesses.push((await postLogin(s, `tgk_${String(i).repeat(8)}${'x'.repeat(35)}`)).statusCode);
    expect(guesses).toEqual([401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
    // Same address (loopback), the approver's key: still signs in.
    expect((await postLogin(s, s.approveKey)).statusCode).toBe(303);
    // The guesser is still locked, whatever it sends next (a key of its own prefix, or nothing).
    expect((await postLogin(s, `tgk_zzzzzzzz${'y'.repeat(35)}`)).statusCode).toBe(429);
    expect((await postLogin(s, 'not-a-key')).statusCode).toBe(429);
    // Guessing the rest of a known prefix is limited too: that prefix locks for this address.
    const near = `${s.approveKey.slice(0, 12)}${'q'.repeat(31)}`;
    const tries: number[] = [];
    for (let i = 0; i < 4; i++) tries.push((await postLogin(s, near)).statusCode);
    expect(tries).toEqual([401, 401, 401, 429]);
  });

  it('escapes the key name in the page', async () => {
    const s = await started();
    const key = s.server.keys.create('approve', '<script>alert(1)</script>');
    const { page } = await signIn(s, key);
    expect(page.body).not.toContain('<script>alert(1)</script>');
    expect(page.body).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
  });

  it('a revoked key ends its sessions at once', async () => {
    const s = await started();
    const created = s.server.keys.createKey('approve', 'bob');
    const { cookie } = await signIn(s, created.key);
    expect((await s.server.app.inject({ method: 'GET', url: '/dashboard/api/session', headers: { cookie } })).statusCode).toBe(200);
    s.server.keys.revoke(created.id);
    expect((await s.server.app.inject({ method: 'GET', url: '/dashboard/api/session', headers: { cookie } })).statusCode).toBe(401);
    const page = await s.server.app.inject({ method: 'GET', url: '/', headers: { cookie } });
    expect(page.body).toContain('Sign in to approve tool calls');
  });

  it('signs out only with the session token', async () => {
    const s = await started();
    const session = await signIn(s);
    const bad = await s.server.app.inject({
      method: 'POST',
      url: '/dashboard/logout',
      headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: '_csrf=wrong',
    });
    expect(bad.statusCode).toBe(403);
    expect((await s.server.app.inject({ method: 'GET', url: '/dashboard/api/session', headers: { cookie: session.cookie } })).statusCode).toBe(200);
    const ok = await s.server.app.inject({
      method: 'POST',
      url: '/dashboard/logout',
      headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: session.csrf }).toString(),
    });
    expect(ok.statusCode).toBe(303);
    expect((await s.server.app.inject({ method: 'GET', url: '/dashboard/api/session', headers: { cookie: session.cookie } })).statusCode).toBe(401);
  });
});

describe('dashboard decisions', () => {
  it('decides through the service as the signed-in key, audited as via dashboard', async () => {
    const s = await started();
    const id = await pendingReview(s, 'd-1');
    const session = await signIn(s);
    const res = await decide(s, id, session, { verdict: 'allow', reason: 'looks right' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'decided', verdict: 'allow', decidedBy: 'human:alice', reason: 'looks right' });
    expect(typeof res.json().proof).toBe('string');
    const audit = (await http(s.url, 'GET', '/v1/audit', s.adminKey)).body.records as Array<{ kind: string; meta?: Record<string, unknown> }>;
    expect(audit.filter((r) => r.kind === 'human_decision')).toEqual([expect.objectContaining({ meta: expect.objectContaining({ via: 'dashboard', keyName: 'alice' }) })]);
  });

  it('refuses a POST without the CSRF header, with a wrong one, or from another origin; the review stays pending', async () => {
    const s = await started();
    const id = await pendingReview(s, 'd-2');
    const session = await signIn(s);
    for (const res of [
      await decide(s, id, { cookie: session.cookie }, { verdict: 'allow' }),
      await decide(s, id, { cookie: session.cookie, csrf: 'x'.repeat(43) }, { verdict: 'allow' }),
      await decide(s, id, session, { verdict: 'allow' }, { origin: 'http://evil.example' }),
      await decide(s, id, session, { verdict: 'allow' }, { 'sec-fetch-site': 'same-site' }),
    ]) {
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('CSRF_REJECTED');
    }
    // A %-escaped path reaches the same route; it needs the same token (form-encoded or not).
    for (const type of ['application/json', 'application/x-www-form-urlencoded']) {
      const sneaky = await s.server.app.inject({
        method: 'POST',
        url: `/%64ashboard/api/reviews/${id}/decision`,
        headers: { cookie: session.cookie, 'content-type': type },
        payload: type === 'application/json' ? JSON.stringify({ verdict: 'allow' }) : 'verdict=allow',
      });
      expect(sneaky.statusCode).toBe(403);
    }
    // Another session's token does not fit this session.
    const other = await signIn(s, s.adminKey);
    expect((await decide(s, id, { cookie: session.cookie, csrf: other.csrf }, { verdict: 'allow' })).statusCode).toBe(403);
    // No session at all.
    expect((await decide(s, id, { cookie: '', csrf: session.csrf }, { verdict: 'allow' })).statusCode).toBe(401);
    expect((await s.server.service.viewById(id)).status).toBe('pending');
  });

  it('passes on the server refusals: self-approval (audit-flagged), already decided, bad body, unknown review', async () => {
    const s = await started();
    const own = await pendingReview(s, 'd-3', s.adminKey);
    const admin = await signIn(s, s.adminKey);
    const self = await decide(s, own, admin, { verdict: 'allow' });
    expect(self.statusCode).toBe(403);
    expect(self.json().error.code).toBe('SELF_APPROVAL');
    const audit = (await http(s.url, 'GET', '/v1/audit', s.adminKey)).body.records as Array<{ meta?: Record<string, unknown> }>;
    expect(audit.some((r) => r.meta?.flagged === 'self_approval' && r.meta.via === 'dashboard')).toBe(true);

    const alice = await signIn(s);
    expect((await decide(s, own, alice, { verdict: 'deny' })).statusCode).toBe(200);
    const again = await decide(s, own, alice, { verdict: 'allow' });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('ALREADY_DECIDED');
    expect((await decide(s, own, alice, { verdict: 'maybe' })).statusCode).toBe(400);
    expect((await decide(s, 'rev_missing', alice, { verdict: 'allow' })).statusCode).toBe(404);
  });
});

describe('dashboard data', () => {
  it('lists pending reviews and pages the decided history with filters, without skipping same-millisecond rows', async () => {
    const s = await started();
    // 30 reviews decided by policy (small transfers), most created within the same few milliseconds.
    for (let i = 0; i < 30; i++) {
      const r = await http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey: `h-${i}`, call: { tool: 'transfer', args: { amount: i + 1 }, callId: `h${i}` } });
      expect(r.body.verdict).toBe('allow');
    }
    const denied = await http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey: 'h-big', call: { tool: 'transfer', args: { amount: 50_000 }, callId: 'hbig' } });
    expect(denied.body.verdict).toBe('deny');
    const pendingId = await pendingReview(s, 'h-pending');
    const { cookie } = await signIn(s);
    const get = async (qs: string) => {
      const res = await s.server.app.inject({ method: 'GET', url: `/dashboard/api/reviews?${qs}`, headers: { cookie } });
      expect(res.statusCode).toBe(200);
      return res.json() as { reviews: Array<{ id: string; verdict: string }>; next: string | null };
    };

    expect((await get('status=pending')).reviews.map((r) => r.id)).toEqual([pendingId]);

    const seen: string[] = [];
    let next: string | null = null;
    let pages = 0;
    do {
      const page = await get(`status=decided&limit=7${next ? `&cursor=${next}` : ''}`);
      seen.push(...page.reviews.map((r) => r.id));
      next = page.next;
      pages++;
    } while (next && pages < 20);
    expect(seen.length).toBe(31);
    expect(new Set(seen).size).toBe(31);

    expect((await get('status=decided&verdict=deny')).reviews.map((r) => r.id)).toEqual([denied.body.id]);
    expect((await get('status=decided&decidedBy=POLICY&limit=200')).reviews.length).toBe(31);
    expect((await get('status=decided&decidedBy=alice')).reviews).toEqual([]);
    expect((await get('status=decided&tool=db.drop')).reviews).toEqual([]);

    for (const bad of ['status=maybe', 'status=decided&verdict=review', 'status=decided&cursor=abc', 'limit=0']) {
      expect((await s.server.app.inject({ method: 'GET', url: `/dashboard/api/reviews?${bad}`, headers: { cookie } })).statusCode).toBe(400);
    }
    expect((await s.server.app.inject({ method: 'GET', url: '/dashboard/api/reviews?status=pending' })).statusCode).toBe(401);
  });

  it('reports the audit chain status', async () => {
    const s = await started();
    await pendingReview(s, 'a-1');
    const { cookie } = await signIn(s);
    const res = await s.server.app.inject({ method: 'GET', url: '/dashboard/api/audit', headers: { cookie } });
    // 3 key.create records, one review, and the signed checkpoint verifying appends.
    expect(res.json()).toMatchObject({ ok: true, records: 5, mirrorRecords: 5 });
  });

  it('reports a rewritten and rehashed audit file as broken (the database head and the file head differ)', async () => {
    const s = await started();
    await pendingReview(s, 'a-1');
    const { cookie } = await signIn(s);
    const status = async () => (await s.server.app.inject({ method: 'GET', url: '/dashboard/api/audit', headers: { cookie } })).json();
    await s.server.audit.flush();
    const file = join(s.dataDir, 'audit.jsonl');
    const records = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditRecord);
    const last = records.at(-1)!;
    last.ts = '2020-01-01T00:00:00.000Z';
    last.hash = hashRecord(last);
    writeFileSync(file, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    // The file's own chain is intact; only the comparison with the database shows the rewrite.
    expect(await verifyAuditLog(file)).toMatchObject({ ok: true });
    const broken = await status();
    expect(broken.ok).toBe(false);
    expect(`${broken.firstBroken?.reason ?? ''}${broken.error ?? ''}`).toMatch(/head mismatch|prevHash mismatch/);
  });

  it('serves the script and stylesheet with an ETag, and the script parses', async () => {
    const s = await started();
    const js = await s.server.app.inject({ method: 'GET', url: '/dashboard/assets/dashboard.js' });
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(() => new Function(js.body)).not.toThrow();
    expect(js.body).not.toContain('innerHTML');
    const again = await s.server.app.inject({ method: 'GET', url: '/dashboard/assets/dashboard.js', headers: { 'if-none-match': String(js.headers.etag) } });
    expect(again.statusCode).toBe(304);
    const css = await s.server.app.inject({ method: 'GET', url: '/dashboard/assets/dashboard.css' });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
  });
});

describe('dashboard event stream', () => {
  it('ends the stream of a revoked key at the next heartbeat', async () => {
    const s = await started({ heartbeatMs: 50 });
    const created = s.server.keys.createKey('approve', 'carol');
    const { cookie } = await signIn(s, created.key);
    const res = await request(`${s.url}/dashboard/events`, { headers: { cookie } });
    expect(res.statusCode).toBe(200);
    const iterator = res.body[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    s.server.keys.revoke(created.id);
    // The stream ends on its own (the test would time out otherwise).
    for (;;) if ((await iterator.next()).done) break;
    expect((await s.server.app.inject({ method: 'GET', url: '/dashboard/api/session', headers: { cookie } })).statusCode).toBe(401);
  });

  it('a revoked key receives no further review (even before the next heartbeat)', async () => {
    const s = await started({ heartbeatMs: 60_000 });
    const created = s.server.keys.createKey('approve', 'dave');
    const { cookie } = await signIn(s, created.key);
    const res = await request(`${s.url}/dashboard/events`, { headers: { cookie } });
    const iterator = res.body[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    s.server.keys.revoke(created.id);
    await pendingReview(s, 'after-revoke', s.evalKey, 777);
    let text = '';
    for (;;) {
      const chunk = await iterator.next();
      if (chunk.done) break;
      text += new TextDecoder().decode(chunk.value as Uint8Array);
    }
    expect(text).not.toContain('after-revoke');
    expect(text).not.toContain('777');
  });

  it('streams review events to a signed-in client, refuses anonymous ones, and does not hold up close()', async () => {
    const s = await started();
    const anonymous = await request(`${s.url}/dashboard/events`);
    expect(anonymous.statusCode).toBe(401);
    await anonymous.body.dump();

    const { cookie } = await signIn(s);
    const res = await request(`${s.url}/dashboard/events`, { headers: { cookie } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const decoder = new TextDecoder();
    let text = '';
    const iterator = res.body[Symbol.asyncIterator]();
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const chunk = await iterator.next();
        if (chunk.done) throw new Error(`stream ended before ${needle}; got ${text}`);
        text += decoder.decode(chunk.value as Uint8Array, { stream: true });
      }
    };
    await readUntil(': connected');
    const id = await pendingReview(s, 'sse-1');
    await readUntil('event: review.created');
    await readUntil(id);

    // close() ends the stream instead of waiting for the client to leave.
    await s.server.close();
    for (;;) {
      const chunk = await iterator.next();
      if (chunk.done) break;
    }
  });
});

describe('dashboard: hidden and control characters cannot spoof what an approver reads', () => {
  // Raw characters that must never reach the page: ESC, CSI (C1), RLO, LRI/PDI, zero-width space.
  const RAW_HIDDEN = /[\u001b\u009b\u202e\u2066\u2069\u200b]/;
  const spoofed = {
    idempotencyKey: 'spoof-1',
    call: { tool: 'transfer\u202elacol', args: { to: 'acct-\u202e9876', memo: '\u2066ok\u2069', amount: 1e9 }, callId: 'c\u200b1' },
    agent: { id: 'bot\u001b[2K', name: 'x\u009b31m' },
  };

  it('the dashboard API and event stream send escapes and a flag, never the raw characters', async () => {
    const s = await started();
    const { cookie } = await signIn(s);
    const events = await request(`${s.url}/dashboard/events`, { headers: { cookie } });
    const iterator = events.body[Symbol.asyncIterator]();
    const decoder = new TextDecoder();
    let stream = '';
    const readUntil = async (needle: string) => {
      while (!stream.includes(needle)) {
        const chunk = await iterator.next();
        if (chunk.done) throw new Error(`stream ended before ${needle}`);
        stream += decoder.decode(chunk.value as Uint8Array, { stream: true });
      }
    };
    await readUntil(': connected');
    const r = await http(s.url, 'POST', '/v1/reviews', s.evalKey, spoofed);
    expect(r.status).toBe(202);
    await readUntil('event: review.created');
    await readUntil(r.body.id);
    await readUntil('\n\n');
    const event = JSON.parse(/data: (.*)\n/.exec(stream.slice(stream.indexOf('event: review.created')))![1]!);
    expect(event.tool).toBe('transfer\\u202Elacol');
    expect(event.hiddenCharacters).toBe(true);
    expect(stream).not.toMatch(RAW_HIDDEN);
    expect(JSON.stringify(event)).not.toMatch(RAW_HIDDEN);

    const list = await s.server.app.inject({ method: 'GET', url: '/dashboard/api/reviews?status=pending', headers: { cookie } });
    expect(list.body).not.toMatch(RAW_HIDDEN);
    expect(JSON.stringify(list.json())).not.toMatch(RAW_HIDDEN);
    const shown = list.json().reviews[0];
    expect(shown).toMatchObject({ tool: 'transfer\\u202Elacol', callId: 'c\\u200B1', agent: { id: 'bot\\u001B[2K', name: 'x\\u009B31m' }, hiddenCharacters: true });
    expect(shown.args).toMatchObject({ to: 'acct-\\u202E9876', memo: '\\u2066ok\\u2069' });
    const one = await s.server.app.inject({ method: 'GET', url: `/dashboard/api/reviews/${r.body.id}`, headers: { cookie } });
    expect(JSON.stringify(one.json())).not.toMatch(RAW_HIDDEN);
    expect(one.json().hiddenCharacters).toBe(true);
    // The protocol API keeps the exact values (a machine reads them) and carries the flag too.
    const api = (await http(s.url, 'GET', `/v1/reviews?status=pending`, s.approveKey)).body.reviews[0];
    expect(api).toMatchObject({ tool: spoofed.call.tool, hiddenCharacters: true });
    await s.server.close();
    for (;;) if ((await iterator.next()).done) break;
  });

  it('a decision reason that is not well-formed Unicode is 400, not 500, and the review stays pending', async () => {
    const s = await started();
    const id = await pendingReview(s, 'lone-1');
    const session = await signIn(s);
    const r = await decide(s, id, session, { verdict: 'allow', reason: 'fine\ud800' });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('INVALID_REQUEST');
    expect(s.server.store.getReview(id)!.status).toBe('pending');
    expect((await decide(s, id, session, { verdict: 'deny', reason: 'no' })).statusCode).toBe(200);
  });

  it('a review without such characters carries no flag', async () => {
    const s = await started();
    const id = await pendingReview(s, 'plain-1');
    expect((await s.server.service.viewById(id)).hiddenCharacters).toBeUndefined();
  });

  it('the page script escapes what it renders and shows the flag; server-rendered HTML escapes too', async () => {
    const { DASHBOARD_JS } = await import('./assets/dashboard-js');
    // The script compiles, and its `visible` (applied to every text and attribute it sets) escapes.
    expect(() => new Function(DASHBOARD_JS)).not.toThrow();
    const src = /var HIDDEN = [^\n]+\n\s*function visible\(text\) \{[\s\S]*?\n {2}\}/.exec(DASHBOARD_JS)![0];
    const visible = new Function(`${src}; return visible;`)() as (t: string) => string;
    expect(visible('transfer\u202elacol\u001b[2K\u{E0041}')).toBe('transfer\\u202Elacol\\u001B[2K\\u{E0041}');
    expect(visible('plain text, ünïcödé')).toBe('plain text, ünïcödé');
    // DASHBOARD_JS is browser/dashboard.ts as esbuild bundles it (double quotes).
    expect(DASHBOARD_JS).toContain('else if (k === "text") e.textContent = visible(v);');
    expect(DASHBOARD_JS).toMatch(/hiddenFlag\(v\),\s*metaList/);
    expect(DASHBOARD_JS).toContain('contains hidden/control characters');

    const s = await started();
    const key = s.server.keys.create('approve', 'alice\u202eecila');
    const { page } = await signIn(s, key);
    expect(page.body).not.toMatch(RAW_HIDDEN);
    expect(page.body).toContain('alice\\u202Eecila');
  });
});
