/**
 * Refreshes the dashboard screenshots in packages/reviewer/docs/ (the README and docs/dashboard.md
 * show them). It starts a review server from the sources on 127.0.0.1 with a temp data dir, has a
 * real gate submit a few demo calls, and drives the dashboard in the headless Chromium of the
 * browser test (src/testing/launch-browser.ts). From the repository root:
 *
 *   pnpm exec node --experimental-transform-types --import ./packages/reviewer/src/testing/source-hooks.ts packages/reviewer/scripts/update-screenshots.ts
 *
 * The screenshots are not published (the package's `files` lists docs/*.md only).
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createGate, httpReviewer, type Decision, type Gate } from '@toolgate/core';
import type { Page } from 'playwright-core';
import { removeDir, startServer } from '../src/testing/fixture.ts';
import { launchBrowser } from '../src/testing/launch-browser.ts';

const DOCS = fileURLToPath(new URL('../docs/', import.meta.url));
const WAIT = { timeout: 30_000 };

interface DemoCall {
  tool: string;
  args: Record<string, unknown>;
  callId: string;
  context?: Record<string, unknown>;
}

async function main(): Promise<void> {
  const s = await startServer({ pendingTimeoutMs: 60 * 60_000 });
  const gate: Gate = createGate({
    reviewer: httpReviewer({ url: s.url, apiKey: s.evalKey }),
    highStakes: ['transfer', 'email.send'],
    onReview: 'wait',
    reviewTimeoutMs: 5 * 60_000,
  });
  const browser = await launchBrowser();
  try {
    const review = (call: DemoCall): Promise<Decision> =>
      gate.review({ ...call, runId: 'run-42', agent: { id: 'agent-7', name: 'payments-bot' } });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: 'UTC', colorScheme: 'light' });
    context.setDefaultTimeout(WAIT.timeout);
    const page = await context.newPage();
    mkdirSync(DOCS, { recursive: true });
    const shot = async (p: Page, name: string) => {
      await p.screenshot({ path: `${DOCS}${name}`, fullPage: true, animations: 'disabled' });
      console.log(`wrote packages/reviewer/docs/${name}`);
    };

    // 1. The sign-in page.
    await page.goto(`${s.url}/`);
    await page.getByRole('heading', { name: 'Sign in to approve tool calls' }).waitFor(WAIT);
    await shot(page, 'dashboard-login.png');

    // Some history first: one call the policy allowed, one a human denied.
    const coffee = await review({ tool: 'transfer', args: { amount: 40, currency: 'EUR', to: 'Coffee Co' }, callId: 'call-coffee' });
    await gate.reportOutcome(coffee, { status: 'success', durationMs: 38 });
    await page.getByLabel('Approver key').fill(s.approveKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#live-status', { hasText: 'Live' }).waitFor(WAIT);

    const denied = review({ tool: 'transfer', args: { amount: 9000, currency: 'EUR', to: 'Unknown Ltd' }, callId: 'call-unknown', context: { task: 'Pay supplier invoices due this week' } });
    const unknown = page.locator('article.card', { hasText: 'Unknown Ltd' });
    await unknown.waitFor(WAIT);
    await unknown.getByLabel('Reason').fill('Supplier is not on the approved list');
    await unknown.getByRole('button', { name: 'Deny' }).click();
    await denied;
    await unknown.waitFor({ state: 'detached', ...WAIT });

    // 2. A pending review, as it arrives over the event stream.
    const args = { amount: 2500, currency: 'EUR', to: 'ACME GmbH', iban: 'DE89 3704 0044 0532 0130 00', apiKey: 'sk-live-do-not-show', memo: 'Invoice 2024-117' };
    const approved = review({
      tool: 'transfer',
      args,
      callId: 'call-acme',
      context: { task: 'Pay supplier invoices due this week', reversibility: 'none', blastRadius: 'one payment' },
    });
    const card = page.locator('article.card', { hasText: 'ACME GmbH' });
    await card.waitFor(WAIT);
    await page.locator('#pending-count', { hasText: '1' }).waitFor(WAIT);
    await page.locator('#audit-status', { hasText: 'Audit chain verified' }).waitFor(WAIT);
    await shot(page, 'dashboard-pending.png');

    // 3. The decided history, filtered and with one row opened.
    await card.getByLabel('Reason').fill('Invoice 2024-117 checked against the purchase order');
    await card.getByRole('button', { name: 'Approve' }).click();
    const d = await approved;
    if (d.verdict !== 'allow') throw new Error(`the demo approval came back ${d.verdict}: ${d.reason}`);
    await gate.reportOutcome(d, { status: 'success', durationMs: 412 });
    await card.waitFor({ state: 'detached', ...WAIT });
    const rows = page.locator('#history-body tr[data-review-id]');
    await rows.filter({ hasText: 'Invoice 2024-117' }).filter({ hasText: 'success' }).waitFor(WAIT);
    await rows.filter({ hasText: 'small-transfer' }).waitFor(WAIT);
    await rows.filter({ hasText: 'Invoice 2024-117' }).getByRole('button', { name: 'Details' }).click();
    await page.locator('#history-body tr.detail-row:not([hidden])').waitFor(WAIT);
    await page.locator('#audit-status', { hasText: 'Audit chain verified' }).waitFor(WAIT);
    await page.locator('#history-title').scrollIntoViewIfNeeded();
    await shot(page, 'dashboard-history.png');
  } finally {
    await browser.close().catch(() => {});
    await gate.close();
    await s.server.close();
    removeDir(s.dataDir);
  }
}

await main();
