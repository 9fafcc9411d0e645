import type { KeyInfo } from '../auth/api-keys';
import { visibleText } from '../server/visible-text';

/**
 * Escapes text for HTML element content and double-quoted attribute values; controls and bidi
 * overrides become visible `\uXXXX` escapes (see `visibleText`).
 */
export function escapeHtml(value: string): string {
  return visibleText(value).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export const ASSET_PATHS = {
  css: '/dashboard/assets/dashboard.css',
  js: '/dashboard/assets/dashboard.js',
} as const;

function head(title: string, extra = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSET_PATHS.css}">
${extra}</head>`;
}

const BRAND = '<span class="brand-mark" aria-hidden="true"></span><span class="brand-name">toolgate</span> <span class="brand-sub">reviewer</span>';

/** The sign-in page. `error` is plain text (escaped here). */
export function loginPage(p: { csrf: string; error?: string; notice?: string }): string {
  const alert = p.error ? `<p class="alert alert-error" role="alert">${escapeHtml(p.error)}</p>` : '';
  const notice = p.notice ? `<p class="alert alert-info" role="status">${escapeHtml(p.notice)}</p>` : '';
  return `${head('Sign in · toolgate reviewer')}
<body class="page-login">
<main class="login-card" aria-labelledby="login-title">
  <p class="brand">${BRAND}</p>
  <h1 id="login-title">Sign in to approve tool calls</h1>
  <p class="muted">Use an API key with the <code>approve</code> or <code>admin</code> scope.</p>
  ${alert}${notice}
  <form method="post" action="/dashboard/login" class="login-form">
    <input type="hidden" name="_csrf" value="${escapeHtml(p.csrf)}">
    <label for="api-key">Approver key</label>
    <input id="api-key" name="key" type="password" required autocomplete="off" spellcheck="false" autocapitalize="off" placeholder="tgk_…" autofocus>
    <button type="submit" class="btn btn-primary">Sign in</button>
  </form>
  <p class="hint">No key yet? Create one on the server host:<br><code>toolgate keys create --scope approve --name your-name</code></p>
</main>
</body>
</html>
`;
}

/** The dashboard shell; `dashboard.js` fills it from `/dashboard/api/*` and the event stream. */
export function appPage(p: { csrf: string; key: KeyInfo }): string {
  const meta = `<meta name="toolgate-csrf" content="${escapeHtml(p.csrf)}">
<meta name="toolgate-key-id" content="${escapeHtml(p.key.id)}">
<script src="${ASSET_PATHS.js}" defer></script>
`;
  return `${head('Reviews · toolgate reviewer', meta)}
<body class="page-app">
<a class="skip-link" href="#pending-title">Skip to pending reviews</a>
<header class="topbar">
  <p class="brand">${BRAND}</p>
  <div class="status-group">
    <span id="audit-status" class="pill pill-neutral" role="status" aria-live="polite" title="Hash chain of the audit table and its JSONL mirror">Audit chain: checking…</span>
    <span id="live-status" class="pill pill-neutral" role="status" aria-live="polite">Connecting…</span>
  </div>
  <div class="who">
    <span>Signed in as <strong>${escapeHtml(p.key.name)}</strong> <span class="scope">${escapeHtml(p.key.scope)}</span></span>
    <form method="post" action="/dashboard/logout">
      <input type="hidden" name="_csrf" value="${escapeHtml(p.csrf)}">
      <button type="submit" class="btn btn-quiet">Sign out</button>
    </form>
  </div>
</header>
<main class="content">
  <div id="announcer" class="sr-only" role="status" aria-live="polite"></div>
  <section class="panel" aria-labelledby="pending-title">
    <div class="panel-head">
      <h1 id="pending-title">Pending reviews <span id="pending-count" class="count">0</span></h1>
      <p class="muted">Tool calls waiting for a human. The agent is blocked until you decide or the review expires (an expired review does not run and is shown as expired). Some reviews need two approvers: each card says how many have approved..</p>
    </div>
    <p id="pending-empty" class="empty">Nothing is waiting for a decision.</p>
    <div id="pending-list" class="cards"></div>
  </section>
  <section class="panel" aria-labelledby="history-title">
    <div class="panel-head">
      <h2 id="history-title">Decided</h2>
    </div>
    <form id="history-filter" class="filters" role="search" aria-label="Filter decided reviews">
      <label>Verdict
        <select name="verdict">
          <option value="">Any</option>
          <option value="allow">allow</option>
          <option value="deny">deny</option>
        </select>
      </label>
      <label>Tool <input name="tool" type="text" autocomplete="off" spellcheck="false" placeholder="exact name"></label>
      <label>Decided by <input name="decidedBy" type="text" autocomplete="off" spellcheck="false" placeholder="alice, policy, expiry"></label>
      <div class="filter-actions">
        <button type="submit" class="btn btn-secondary">Apply</button>
        <button type="reset" class="btn btn-quiet">Clear</button>
      </div>
    </form>
    <div class="table-wrap" hidden>
      <table id="history-table" class="history">
        <caption class="sr-only">Decided reviews, newest first</caption>
        <thead>
          <tr><th scope="col">Submitted</th><th scope="col">Tool</th><th scope="col">Agent</th><th scope="col">Verdict</th><th scope="col">Decided by</th><th scope="col">Reason</th><th scope="col">Outcome</th><th scope="col"><span class="sr-only">Details</span></th></tr>
        </thead>
        <tbody id="history-body"></tbody>
      </table>
    </div>
    <p id="history-empty" class="empty" hidden>No decided reviews match.</p>
    <button id="history-more" type="button" class="btn btn-secondary" hidden>Load more</button>
  </section>
</main>
</body>
</html>
`;
}

/** A small error page for refused form posts (CSRF, origin). */
export function errorPage(title: string, message: string): string {
  return `${head(`${title} · toolgate reviewer`)}
<body class="page-login">
<main class="login-card">
  <p class="brand">${BRAND}</p>
  <h1>${escapeHtml(title)}</h1>
  <p class="alert alert-error" role="alert">${escapeHtml(message)}</p>
  <p><a href="/">Back to the dashboard</a></p>
</main>
</body>
</html>
`;
}
