import { mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { request } from 'undici';
import { callDigest, createGate, httpReviewer, verifyProof, type Decision, type Gate, type JWK, type Policy } from '@toolgate/core';
import { http, removeDir, startServer, TEST_POLICY, type Started } from '../testing/fixture';
import { launchBrowser } from '../testing/launch-browser';

/**
 * The dashboard end to end in a real browser driven by playwright-core, against the real server on
 * loopback, with a real gate waiting on a human. The browser comes from `pnpm install` (see
 * launch-browser.ts); when it cannot start, this suite fails, it is never skipped.
 */
/** The docs' screenshots are rewritten only on request (`TOOLGATE_UPDATE_SCREENSHOTS=1`), so a test run leaves the tree clean. */
const SHOTS = process.env.TOOLGATE_UPDATE_SCREENSHOTS === '1' ? join(dirname(fileURLToPath(import.meta.url)), '../../docs') : join(tmpdir(), 'toolgate-dashboard-screenshots');
const WAIT = { timeout: 20_000 };

let s: Started;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let gate: Gate;
/** Side effect of the guarded tool: it runs only on allow. */
const transfers: Array<Record<string, unknown>> = [];

async function transfer(args: Record<string, unknown>, callId: string): Promise<Decision> {
  const d = await gate.review({
    tool: 'transfer',
    args,
    callId,
    runId: 'run-42',
    agent: { id: 'agent-7', name: 'payments-bot' },
    context: { task: 'Pay supplier invoices due this week', reversibility: 'none', blastRadius: 'one payment' },
  });
  if (d.verdict === 'allow') transfers.push(args);
  return d;
}

async function jwks(): Promise<JWK[]> {
  return (await http(s.url, 'GET', '/.well-known/jwks.json')).body.keys as JWK[];
}

async function screenshot(p: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, name);
  await p.screenshot({ path, fullPage: true, animations: 'disabled' });
  expect(statSync(path).size).toBeGreaterThan(5_000);
}

async function signIn(p: Page, key: string): Promise<void> {
  await p.goto(`${s.url}/`);
  await p.getByLabel('Approver key').fill(key);
  await p.getByRole('button', { name: 'Sign in' }).click();
}

describe('dashboard in headless Chromium', () => {
  beforeAll(async () => {
    // TEST_POLICY: transfers of 100 or less are allowed, over 10000 denied, the rest (the default) go to a human.
    // Plus: wires need two distinct approvers (two-person rule).
    const policy: Policy = { ...TEST_POLICY, rules: [...TEST_POLICY.rules, { id: 'two-person-wire', tools: ['wire'], verdict: 'review', approvals: 2 }] };
    s = await startServer({ pendingTimeoutMs: 10 * 60_000, policy });
    gate = createGate({
      reviewer: httpReviewer({ url: s.url, apiKey: s.evalKey }),
      highStakes: ['transfer'],
      onReview: 'wait',
      reviewTimeoutMs: 20_000,
      jwksUrl: `${s.url}/.well-known/jwks.json`,
      requireProof: true,
    });
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: 'UTC', colorScheme: 'light' });
    context.setDefaultTimeout(20_000);
    page = await context.newPage();
  }, 90_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await gate?.close();
    await s?.server.close();
    if (s) removeDir(s.dataDir);
  }, 60_000);

  it('refuses a wrong key and a key without the approve scope', async () => {
    await page.goto(`${s.url}/`);
    await expect(page.getByRole('heading', { name: 'Sign in to approve tool calls' }).isVisible()).resolves.toBe(true);
    await screenshot(page, 'dashboard-login.png');

    await page.getByLabel('Approver key').fill('tgk_this-is-not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Unknown or revoked key' }).waitFor(WAIT);

    await page.getByLabel('Approver key').fill(s.evalKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'needs an approve or admin key' }).waitFor(WAIT);

    // Still signed out: the API answers 401 to this browser.
    const status = await page.evaluate(async () => (await fetch('/dashboard/api/session')).status);
    expect(status).toBe(401);
  }, 60_000);

  it('shows a review the gate submitted, live, and approving it lets the waiting call run with a verified human proof', async () => {
    await signIn(page, s.approveKey);
    await page.getByRole('heading', { name: /Pending reviews/ }).waitFor(WAIT);
    await page.locator('#live-status', { hasText: 'Live' }).waitFor(WAIT);
    await page.locator('#audit-status', { hasText: 'Audit chain verified' }).waitFor(WAIT);
    await expect(page.locator('#pending-empty').isVisible()).resolves.toBe(true);

    const args = { amount: 2500, currency: 'EUR', to: 'ACME GmbH', iban: 'DE89 3704 0044 0532 0130 00', apiKey: 'sk-live-do-not-show', memo: '<img src=x onerror="window.__xss=1">' };
    const pendingCall = transfer(args, 'call-approve');

    // It arrives over the event stream: no reload.
    const card = page.locator('article.card', { hasText: 'ACME GmbH' });
    await card.waitFor(WAIT);
    const reviewId = await card.getAttribute('data-review-id');
    expect((await s.server.service.viewById(reviewId!))).toMatchObject({ status: 'pending', tool: 'transfer' });
    const text = await card.innerText();
    expect(text).toContain('transfer');
    expect(text).toContain('payments-bot (agent-7)');
    expect(text).toContain('Pay supplier invoices due this week');
    expect(text).toContain(callDigest('transfer', args));
    expect(text).toContain('[REDACTED]');
    // Pretty-printed arguments keep their line breaks (only hidden characters in them are escaped).
    expect(text).toContain('"currency": "EUR",\n');
    expect(text).not.toContain('sk-live-do-not-show');
    // Arguments render as text: the markup in `memo` is shown, not executed.
    expect(text).toContain('<img src=x onerror=');
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await card.locator('img').count()).toBe(0);
    // The policy result: why a human is asked, and the checks it evaluated.
    expect(text).toMatch(/matched rules/i);
    await expect(card.locator('table.checks').isVisible()).resolves.toBe(true);
    await page.locator('#pending-count', { hasText: '1' }).waitFor(WAIT);
    await screenshot(page, 'dashboard-pending.png');

    await card.getByLabel('Reason').fill('Invoice 2024-117 checked against the purchase order');
    await card.getByRole('button', { name: 'Approve' }).click();

    const d = await pendingCall;
    expect(d).toMatchObject({ verdict: 'allow', source: 'human', reviewId, decidedBy: 'human:alice' });
    expect(d.reason).toBe('Invoice 2024-117 checked against the purchase order');
    expect(transfers).toEqual([args]);
    const claims = await verifyProof(d.proof!, {
      keys: await jwks(),
      expected: { tool: 'transfer', digest: callDigest('transfer', args), callId: 'call-approve', verdict: 'allow' },
    });
    expect(claims.tg.decidedBy).toBe('human:alice');
    expect(claims.jti).toBe(reviewId);

    await card.waitFor({ state: 'detached', ...WAIT });
    await page.locator('#history-body tr[data-review-id]', { hasText: 'human:alice' }).first().waitFor(WAIT);
  }, 90_000);

  it('denying through the dashboard makes the waiting call resolve to deny, and the tool never runs', async () => {
    const before = transfers.length;
    const args = { amount: 9000, currency: 'EUR', to: 'Unknown Ltd' };
    const pendingCall = transfer(args, 'call-deny');
    const card = page.locator('article.card', { hasText: 'Unknown Ltd' });
    await card.waitFor(WAIT);
    await card.getByLabel('Reason').fill('Supplier is not on the approved list');
    await card.getByRole('button', { name: 'Deny' }).click();

    const d = await pendingCall;
    expect(d).toMatchObject({ verdict: 'deny', source: 'human', decidedBy: 'human:alice', reason: 'Supplier is not on the approved list' });
    expect(transfers.length).toBe(before);
    await card.waitFor({ state: 'detached', ...WAIT });
    await page.locator('#history-body tr[data-review-id]', { hasText: 'Supplier is not on the approved list' }).waitFor(WAIT);
  }, 90_000);

  it('filters the decided history by verdict, tool and decider', async () => {
    // One more decided by policy, so the decider filter has something to leave out.
    expect((await transfer({ amount: 40, to: 'Coffee Co' }, 'call-policy')).source).toBe('policy');
    const rows = page.locator('#history-body tr[data-review-id]');
    await rows.filter({ hasText: 'small-transfer' }).waitFor(WAIT);
    await expect.poll(() => rows.count(), WAIT).toBe(3);

    await page.getByLabel('Verdict').selectOption('deny');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => rows.count(), WAIT).toBe(1);
    expect(await rows.first().innerText()).toContain('Supplier is not on the approved list');

    await page.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(() => rows.count(), WAIT).toBe(3);
    await page.getByLabel('Decided by').fill('alice');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => rows.count(), WAIT).toBe(2);
    await page.getByLabel('Tool').fill('db.drop');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('#history-empty').waitFor({ state: 'visible', ...WAIT });
    expect(await rows.count()).toBe(0);

    await page.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(() => rows.count(), WAIT).toBe(3);
    await rows.filter({ hasText: 'Invoice 2024-117' }).getByRole('button', { name: 'Details' }).click();
    await page.locator('#history-body tr.detail-row:not([hidden])').waitFor(WAIT);
    await page.locator('#history-title').scrollIntoViewIfNeeded();
    await screenshot(page, 'dashboard-history.png');
  }, 90_000);

  it('refuses a decision POST without the CSRF token or from another origin, and leaves the review pending', async () => {
    const submitted = await http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey: 'csrf-1', call: { tool: 'transfer', args: { amount: 700 }, callId: 'c-csrf' } });
    expect(submitted.status).toBe(202);
    const id = submitted.body.id as string;
    await page.locator(`article.card[data-review-id="${id}"]`).waitFor(WAIT);

    // Same origin, with the session cookie, but no token.
    const noToken = await page.evaluate(async (reviewId) => {
      const res = await fetch(`/dashboard/api/reviews/${reviewId}/decision`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ verdict: 'allow' }) });
      return { status: res.status, body: (await res.json()) as { error: { code: string } } };
    }, id);
    expect(noToken).toMatchObject({ status: 403, body: { error: { code: 'CSRF_REJECTED' } } });

    // The right cookie and token, but sent by a page of another origin.
    const cookie = (await context.cookies(s.url)).find((c) => c.name === 'toolgate_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false, path: '/' });
    const token = await page.locator('meta[name="toolgate-csrf"]').getAttribute('content');
    const crossSite = await request(`${s.url}/dashboard/api/reviews/${id}/decision`, {
      method: 'POST',
      headers: { cookie: `toolgate_session=${cookie.value}`, 'x-csrf-token': token!, origin: 'http://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ verdict: 'allow' }),
    });
    expect(crossSite.statusCode).toBe(403);
    expect(((await crossSite.body.json()) as { error: { code: string } }).error.code).toBe('CSRF_REJECTED');

    expect((await s.server.service.viewById(id)).status).toBe('pending');

    // The same request with the token, from the page, is accepted (so the refusals above were about CSRF).
    await page.locator(`article.card[data-review-id="${id}"]`).getByRole('button', { name: 'Deny' }).click();
    await page.locator(`article.card[data-review-id="${id}"]`).waitFor({ state: 'detached', ...WAIT });
    expect((await s.server.service.viewById(id))).toMatchObject({ status: 'decided', verdict: 'deny', decidedBy: 'human:alice' });
  }, 60_000);

  it('shows the server refusing self-approval', async () => {
    // An admin key may submit and approve; it still cannot decide its own review.
    const submitted = await http(s.url, 'POST', '/v1/reviews', s.adminKey, { idempotencyKey: 'self-1', call: { tool: 'transfer', args: { amount: 800, to: 'Self Inc' }, callId: 'c-self' } });
    const id = submitted.body.id as string;
    const admin = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' });
    try {
      const p = await admin.newPage();
      await signIn(p, s.adminKey);
      const card = p.locator(`article.card[data-review-id="${id}"]`);
      await card.waitFor(WAIT);
      expect(await card.innerText()).toContain('Your key submitted this review');
      await card.getByRole('button', { name: 'Approve' }).click();
      await card.getByRole('alert').filter({ hasText: 'SELF_APPROVAL' }).waitFor(WAIT);
      expect((await s.server.service.viewById(id)).status).toBe('pending');
    } finally {
      await admin.close();
    }
  }, 60_000);

  it('two-person rule: a card shows "1 of 2 approvals" and who approved (live, and after approving here); the call runs only after the second approval', async () => {
    const bob = (await s.server.keys.createStored('approve', 'bob')).key;
    const wireGate = createGate({
      reviewer: httpReviewer({ url: s.url, apiKey: s.evalKey }),
      highStakes: ['wire'],
      onReview: 'wait',
      reviewTimeoutMs: 30_000,
      jwksUrl: `${s.url}/.well-known/jwks.json`,
      requireProof: true,
    });
    let wires = 0;
    const wire = (to: string, callId: string) =>
      wireGate.review({ tool: 'wire', args: { amount: 70_000, to }, callId, agent: { id: 'agent-7' } }).then((d) => {
        if (d.verdict === 'allow') wires++;
        return d;
      });
    try {
      // bob approves through the API first: alice's card says so, live.
      const first = wire('Big Corp', 'call-2p-1');
      const card = page.locator('article.card', { hasText: 'Big Corp' });
      await card.waitFor(WAIT);
      await card.locator('p.approvals', { hasText: '0 of 2 approvals' }).waitFor(WAIT);
      const id = (await card.getAttribute('data-review-id'))!;
      expect((await http(s.url, 'POST', `/v1/reviews/${id}/decision`, bob, { verdict: 'allow' })).status).toBe(202);
      await card.locator('p.approvals', { hasText: '1 of 2 approvals · approved by bob' }).waitFor(WAIT);
      expect(wires).toBe(0);
      await screenshot(page, 'dashboard-two-person.png');
      await card.getByRole('button', { name: 'Approve', exact: true }).click();
      const d = await first;
      expect(d).toMatchObject({ verdict: 'allow', source: 'human', decidedBy: 'human:bob, alice' });
      expect(wires).toBe(1);
      const claims = await verifyProof(d.proof!, { keys: await jwks(), expected: { tool: 'wire', digest: callDigest('wire', { amount: 70_000, to: 'Big Corp' }), verdict: 'allow' } });
      expect(claims.tg.approvers).toEqual(['bob', 'alice']);
      await card.waitFor({ state: 'detached', ...WAIT });

      // alice approves here first: the card stays, "1 of 2 approvals · approved by alice"; her second click counts once.
      const second = wire('Other Corp', 'call-2p-2');
      const card2 = page.locator('article.card', { hasText: 'Other Corp' });
      await card2.waitFor(WAIT);
      await card2.getByRole('button', { name: 'Approve', exact: true }).click();
      await card2.locator('p.approvals', { hasText: '1 of 2 approvals · approved by alice' }).waitFor(WAIT);
      const id2 = (await card2.getAttribute('data-review-id'))!;
      expect(await s.server.service.viewById(id2)).toMatchObject({ status: 'pending', approvals: { required: 2, approvers: ['alice'] } });
      await card2.getByRole('button', { name: 'Approve', exact: true }).click();
      await card2.getByRole('alert').filter({ hasText: 'ALREADY_APPROVED' }).waitFor(WAIT);
      // Any rejection ends it: bob denies, the call never runs.
      expect((await http(s.url, 'POST', `/v1/reviews/${id2}/decision`, bob, { verdict: 'deny', reason: 'not without a contract' })).status).toBe(200);
      expect(await second).toMatchObject({ verdict: 'deny', source: 'human', reason: 'not without a contract' });
      expect(wires).toBe(1);
      await card2.waitFor({ state: 'detached', ...WAIT });
      await page.locator(`#history-body tr[data-review-id="${id}"]`, { hasText: 'human:bob, alice' }).waitFor(WAIT);
    } finally {
      await wireGate.close();
    }
  }, 90_000);

  it('approve with edited arguments: prefilled JSON, the policy re-reviews the edit (a denied edit is refused and the review stays pending), the decision and its proof bind the edited call', async () => {
    // Submitted over HTTP: the gate's side of an edit decided on the server (httpReviewer reading
    // `edited`) is core's, and tested there; this is what the dashboard and the server do.
    const original = { amount: 5000, currency: 'EUR', to: 'Edit GmbH' };
    const submitted = await http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey: 'edit-1', call: { tool: 'transfer', args: original, callId: 'call-edit' } });
    expect(submitted.status).toBe(202);
    const id = submitted.body.id as string;
    const card = page.locator(`article.card[data-review-id="${id}"]`);
    await card.waitFor(WAIT);
    await card.getByText('Approve with edited arguments').click();
    const box = card.getByLabel('Edited arguments (JSON)');
    expect(JSON.parse(await box.inputValue())).toEqual(original);

    await box.fill('{ "amount": 4000,');
    await card.getByRole('button', { name: 'Approve with these arguments' }).click();
    await card.getByRole('alert').filter({ hasText: 'not JSON' }).waitFor(WAIT);

    await box.fill(JSON.stringify({ ...original, amount: 20_000 }));
    await card.getByRole('button', { name: 'Approve with these arguments' }).click();
    await card.getByRole('alert').filter({ hasText: 'EDIT_DENIED' }).waitFor(WAIT);
    expect((await s.server.service.viewById(id)).status).toBe('pending');

    const edited = { ...original, amount: 4000 };
    await box.fill(JSON.stringify(edited, null, 2));
    await card.getByRole('button', { name: 'Approve with these arguments' }).click();
    await card.waitFor({ state: 'detached', ...WAIT });
    const digest = callDigest('transfer', edited);
    const answer = await http(s.url, 'GET', `/v1/reviews/${id}`, s.evalKey);
    expect(answer.body).toMatchObject({
      status: 'decided',
      verdict: 'allow',
      decidedBy: 'human:alice',
      digest,
      edited: { args: edited, digest, originalDigest: callDigest('transfer', original) },
    });
    const claims = await verifyProof(answer.body.proof as string, { keys: await jwks(), expected: { tool: 'transfer', digest, callId: 'call-edit', verdict: 'allow' } });
    expect(claims.tg).toMatchObject({ originalDigest: callDigest('transfer', original), approvers: ['alice'] });
    const row = page.locator(`#history-body tr[data-review-id="${id}"]`);
    await row.filter({ hasText: 'edited' }).waitFor(WAIT);
    await row.getByRole('button', { name: 'Details' }).click();
    await page.locator('#history-body tr.detail-row:not([hidden])', { hasText: 'Approved with edited arguments' }).waitFor(WAIT);
  }, 90_000);

  it('shows an expired review as expired, not as denied', async () => {
    const submitted = await http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey: 'exp-1', call: { tool: 'transfer', args: { amount: 650, to: 'Late Ltd' }, callId: 'c-exp' } });
    const id = submitted.body.id as string;
    await page.locator(`article.card[data-review-id="${id}"]`).waitFor(WAIT);
    // Past every pending deadline, without waiting on a clock.
    await s.server.service.expireDue(Date.now() + 60 * 60_000);
    await page.locator(`article.card[data-review-id="${id}"]`).waitFor({ state: 'detached', ...WAIT });
    const row = page.locator(`#history-body tr[data-review-id="${id}"]`);
    await row.waitFor(WAIT);
    expect(await row.locator('.verdict').innerText()).toBe('expired');
    expect(await row.innerText()).toContain('nobody decided in time');
    expect(await row.locator('.verdict-deny').count()).toBe(0);
  }, 60_000);

  it('signs out: the old session cookie no longer works', async () => {
    const cookie = (await context.cookies(s.url)).find((c) => c.name === 'toolgate_session')!;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to approve tool calls' }).waitFor(WAIT);
    const res = await request(`${s.url}/dashboard/api/session`, { headers: { cookie: `toolgate_session=${cookie.value}` } });
    expect(res.statusCode).toBe(401);
    await res.body.dump();
  }, 60_000);
});
