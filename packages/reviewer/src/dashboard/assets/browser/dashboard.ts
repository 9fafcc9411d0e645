/**
 * The dashboard's browser script. No framework: esbuild bundles this file (and `visible.ts`) into
 * one IIFE that the server sends as `/dashboard/assets/dashboard.js` (see `../dashboard-js.ts`).
 * Type-checked for the DOM without Node's types by `tsconfig.json` beside it.
 *
 * Every value from the server goes into the page through `textContent` / text nodes (never
 * `innerHTML`), and through `visible` first, so redacted arguments and reasons render as inert text.
 */
import { visible, visibleLines } from './visible';

// ---------------------------------------------------------------------------------------------
// what the server sends (the subset of ReviewView and the audit status this page reads)

interface EvaluatedCheck {
  rule: string;
  field: string;
  op: string;
  expected?: unknown;
  actual?: unknown;
  passed: boolean;
}

interface ReviewView {
  id: string;
  tool: string;
  status: string;
  verdict?: string | null;
  reason?: string;
  digest?: string;
  callId?: string;
  runId?: string;
  args?: unknown;
  agent?: { id: string; name?: string };
  context?: unknown;
  policy?: { verdict: string | null; reason: string; matchedRules: string[] };
  evaluated?: EvaluatedCheck[];
  source?: string;
  submittedBy?: { keyId: string };
  decidedBy?: string;
  createdAt?: string;
  decidedAt?: string;
  expiresAt?: string;
  executed?: boolean;
  outcome?: { status: string; message?: string };
  hiddenCharacters?: boolean;
  /** Nobody decided before the deadline (verdict deny, decidedBy expiry): not a human rejection. */
  expired?: boolean;
  /** Two-person (N-person) approvals: how many distinct approvers, who approved so far. */
  approvals?: { required: number; approvers: string[]; groups?: string[] };
  /** Decided with edited arguments: those args and the edited call's digest. */
  edited?: { args: unknown; digest: string; originalDigest: string };
  /** Edited calls approvers proposed on a pending review, each with its own approvals. */
  edits?: Array<{ digest: string; args: unknown; required: number; approvers: string[]; verdict: string }>;
}

interface ReviewPage {
  reviews: ReviewView[];
  next: string | null;
}

interface AuditStatus {
  ok: boolean;
  records: number | null;
  mirrorRecords: number | null;
  checkedAt: string;
  firstBroken?: { where: string; seq: number; reason?: string } | null;
  error?: string;
}

interface ApiError {
  error?: { code?: string; message?: string };
}

interface ApiResult<T> {
  ok: boolean;
  status: number;
  body: (T & ApiError) | null;
}

// ---------------------------------------------------------------------------------------------
// helpers

const doc = document;
function meta(name: string): string {
  const m = doc.querySelector('meta[name="' + name + '"]');
  return m ? m.getAttribute('content') || '' : '';
}
const CSRF = meta('toolgate-csrf');
const MY_KEY = meta('toolgate-key-id');
const TITLE = doc.title;

/** An element the page shell (render-pages.ts) always has. */
function $<T extends HTMLElement = HTMLElement>(id: string): T {
  return doc.getElementById(id) as T;
}

type Prop = string | number | boolean | null | undefined;
type Child = Node | string | null | undefined | false | readonly Child[];

function appendChildren(e: HTMLElement, c: Child): void {
  if (c === undefined || c === null || c === false) return;
  if (Array.isArray(c)) (c as readonly Child[]).forEach((x) => appendChildren(e, x));
  else e.append(typeof c === 'string' ? visible(c) : (c as Node));
}

/** Creates an element; `text` sets its text, `class` its class name, any other key an attribute. */
function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Record<string, Prop> | null, children?: Child): HTMLElementTagNameMap[K] {
  const e = doc.createElement(tag);
  if (props) {
    Object.keys(props).forEach((k) => {
      const v = props[k];
      if (v === undefined || v === null || v === false) return;
      if (k === 'class') e.className = String(v);
      else if (k === 'text') e.textContent = visible(v);
      else e.setAttribute(k, v === true ? '' : visible(v));
    });
  }
  appendChildren(e, children);
  return e;
}
function hiddenFlag(v: ReviewView): HTMLElement | null {
  if (!v.hiddenCharacters) return null;
  return h('p', { class: 'alert alert-error hidden-chars', role: 'alert', text: 'Warning: this call contains hidden/control characters (shown as \\u escapes). What you read may not be what runs: check the tool name and arguments character by character.' });
}

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
function timeEl(iso: string | undefined): HTMLElement | string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (isNaN(d.getTime())) return String(iso);
  return h('time', { datetime: iso, title: iso, text: dateFmt.format(d) });
}
function remaining(ms: number): string {
  const s = Math.floor(ms / 1000), m = Math.floor(s / 60), hr = Math.floor(m / 60);
  if (hr > 0) return hr + 'h ' + (m % 60) + 'm';
  if (m > 0) return m + 'm ' + String(s % 60).padStart(2, '0') + 's';
  return s + 's';
}
function pretty(v: unknown): string {
  if (v === undefined) return '(none)';
  try { return JSON.stringify(v, null, 2); } catch { return String(v); }
}
/** A `<pre>` with pretty-printed JSON: its layout kept, hidden characters escaped (`visibleLines`). */
function jsonBlock(text: string): HTMLElement {
  const pre = h('pre', { class: 'json' });
  pre.textContent = visibleLines(text);
  return pre;
}
function compact(v: unknown): string {
  if (v === undefined) return 'undefined';
  try { return JSON.stringify(v); } catch { return String(v); }
}
function agentLabel(v: ReviewView): string {
  if (!v.agent) return 'unknown agent';
  return v.agent.name ? v.agent.name + ' (' + v.agent.id + ')' : String(v.agent.id);
}
function verdictBadge(verdict: string | null | undefined, expired?: boolean): HTMLElement {
  // An expired review is its own outcome: nobody answered in time; it is not a human's denial.
  if (expired) return h('span', { class: 'verdict verdict-expired', title: 'Nobody decided before the deadline', text: 'expired' });
  return h('span', { class: 'verdict verdict-' + (verdict === 'allow' || verdict === 'deny' ? verdict : 'review'), text: verdict || '?' });
}
/** "1 of 2 approvals · approved by alice" (and the groups that count); null when one approval decides and none is given yet. */
function approvalsText(v: ReviewView): string | null {
  const a = v.approvals;
  if (!a || (a.required <= 1 && a.approvers.length === 0 && !a.groups)) return null;
  let t = a.approvers.length + ' of ' + a.required + ' approval' + (a.required === 1 ? '' : 's');
  t += a.approvers.length ? ' · approved by ' + a.approvers.join(', ') : ' · nobody has approved yet';
  if (a.groups && a.groups.length) t += ' · approvers of group ' + a.groups.join(' or ');
  return t;
}
/** The edited calls proposed on a pending review: their args and approvals (each needs its own). */
function editsBlock(v: ReviewView): HTMLElement | null {
  if (!v.edits || !v.edits.length) return null;
  return h('div', { class: 'edits' }, [
    h('h4', { text: 'Edited arguments proposed' }),
    v.edits.map((e) => h('div', { class: 'edit-proposal', 'data-digest': e.digest }, [
      h('p', { class: 'edit-approvals', text: e.approvers.length + ' of ' + e.required + ' approval' + (e.required === 1 ? '' : 's') + ' · approved by ' + (e.approvers.join(', ') || 'nobody yet') + ' · approving the same arguments counts for them' }),
      jsonBlock(pretty(e.args)),
    ])),
  ]);
}
function announce(text: string): void {
  const a = $('announcer');
  a.textContent = '';
  window.setTimeout(() => { a.textContent = text; }, 50);
}

let signingOut = false;
function api<T>(path: string, init?: RequestInit): Promise<ApiResult<T>> {
  const opts: RequestInit = Object.assign({ credentials: 'same-origin' as RequestCredentials }, init || {});
  opts.headers = Object.assign({ accept: 'application/json' }, (init && init.headers) || {});
  return fetch(path, opts).then((res) => {
    return res.text().then((text): ApiResult<T> => {
      let body: (T & ApiError) | null = null;
      try { body = text ? (JSON.parse(text) as T & ApiError) : null; } catch { body = null; }
      if (res.status === 401 && !signingOut) {
        signingOut = true;
        window.location.assign('/');
      }
      return { ok: res.ok, status: res.status, body };
    });
  }, (err: Error): ApiResult<T> => {
    return { ok: false, status: 0, body: { error: { code: 'NETWORK', message: 'The server cannot be reached (' + err.message + ').' } } as T & ApiError };
  });
}
function errorText(r: ApiResult<unknown>): string {
  const e = r.body && r.body.error;
  if (e && e.message) return (e.code ? e.code + ': ' : '') + e.message;
  return 'Request failed (HTTP ' + r.status + ').';
}

function checksTable(evaluated: EvaluatedCheck[]): HTMLElement {
  const rows = evaluated.map((c) => {
    return h('tr', null, [
      h('td', null, h('code', { text: c.rule })),
      h('td', null, h('code', { text: c.field })),
      h('td', { text: c.op }),
      h('td', null, h('code', { text: compact(c.expected) })),
      h('td', null, h('code', { text: compact(c.actual) })),
      h('td', { class: c.passed ? 'pass' : 'fail', text: c.passed ? '✓ matched' : '✗ no match' }),
    ]);
  });
  return h('table', { class: 'checks' }, [
    h('caption', { class: 'sr-only', text: 'Evaluated policy checks' }),
    h('thead', null, h('tr', null, ['Rule', 'Field', 'Op', 'Expected', 'Actual', 'Result'].map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', null, rows),
  ]);
}
function policyBlock(v: ReviewView): HTMLElement[] {
  const p = v.policy || { verdict: null, reason: v.reason || '', matchedRules: [] };
  const rules = p.matchedRules && p.matchedRules.length ? p.matchedRules.join(', ') : 'none (policy default)';
  return [
    h('h4', { text: 'Policy result' }),
    h('p', { class: 'policy-reason', text: p.reason || v.reason || '' }),
    h('p', { class: 'rules' }, ['Policy verdict: ', h('strong', { text: p.verdict || 'none' }), ' · matched rules: ', rules]),
    v.evaluated && v.evaluated.length ? checksTable(v.evaluated) : h('p', { class: 'muted', text: 'No rule conditions were evaluated.' }),
  ];
}
function metaList(pairs: Array<[string, Child]>): HTMLElement {
  const items: HTMLElement[] = [];
  pairs.forEach((p) => {
    if (p[1] === undefined || p[1] === null || p[1] === '') return;
    items.push(h('dt', { text: p[0] }), h('dd', null, p[1]));
  });
  return h('dl', { class: 'meta' }, items);
}
function code(text: string | undefined): HTMLElement | null {
  return text ? h('code', { text }) : null;
}

// ---------------------------------------------------------------------------------------------
// pending reviews

let seq = 0;
const pending = new Map<string, { view: ReviewView; el: HTMLElement }>();
const gone = new Set<string>();

function expiryOf(v: ReviewView): number {
  const t = Date.parse(v.expiresAt || '');
  return isNaN(t) ? Number.MAX_SAFE_INTEGER : t;
}
function updatePendingCount(): void {
  $('pending-count').textContent = String(pending.size);
  $('pending-empty').hidden = pending.size > 0;
  doc.title = (pending.size ? '(' + pending.size + ') ' : '') + TITLE;
}
function upsertPending(v: ReviewView | null): void {
  if (!v || v.status !== 'pending' || gone.has(v.id)) { if (v) removePending(v.id); return; }
  if (pending.has(v.id)) return;
  const el = renderCard(v);
  let before: HTMLElement | null = null;
  pending.forEach((p) => {
    if (before === null && expiryOf(v) < expiryOf(p.view)) before = p.el;
  });
  $('pending-list').insertBefore(el, before);
  pending.set(v.id, { view: v, el });
  updatePendingCount();
  tick();
}
function removePending(id: string): void {
  const p = pending.get(id);
  if (!p) return;
  pending.delete(id);
  p.el.remove();
  updatePendingCount();
}
function loadPending(): Promise<void> {
  return api<ReviewPage>('/dashboard/api/reviews?status=pending&limit=500').then((r) => {
    if (!r.ok || !r.body) { $('pending-empty').textContent = 'Could not load pending reviews: ' + errorText(r); $('pending-empty').hidden = false; return; }
    $('pending-empty').textContent = 'Nothing is waiting for a decision.';
    const reviews = r.body.reviews;
    const ids = new Set(reviews.map((v) => v.id));
    Array.from(pending.keys()).forEach((id) => { if (!ids.has(id)) removePending(id); });
    reviews.forEach(upsertPending);
    updatePendingCount();
  });
}

function renderCard(v: ReviewView): HTMLElement {
  const n = ++seq;
  const titleId = 'rv' + n + '-title', reasonId = 'rv' + n + '-reason';
  const err = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const reason = h('textarea', { id: reasonId, name: 'reason', rows: 2, maxlength: 2000, placeholder: 'Why? Recorded in the audit trail and returned to the agent.' });
  const approve = h('button', { type: 'submit', name: 'verdict', value: 'allow', class: 'btn btn-approve', text: 'Approve' });
  const deny = h('button', { type: 'submit', name: 'verdict', value: 'deny', class: 'btn btn-deny', text: 'Deny' });
  // Edit-and-approve: the same tool with other arguments, reviewed again by the server's policy.
  const argsId = 'rv' + n + '-args';
  const editArgs = h('textarea', { id: argsId, name: 'args', rows: 8, spellcheck: 'false', class: 'edit-args' });
  editArgs.value = pretty(v.args);
  const approveEdited = h('button', { type: 'submit', name: 'verdict', value: 'edit', class: 'btn btn-approve', text: 'Approve with these arguments' });
  const editBox = h('details', { class: 'edit' }, [
    h('summary', { text: 'Approve with edited arguments' }),
    h('p', { class: 'muted', text: 'Same tool, other arguments (JSON). The server reviews the edited call again with its policy: an edit the policy denies is refused and the review stays pending. Values shown as [REDACTED] cannot be edited here.' }),
    h('label', { for: argsId, text: 'Edited arguments (JSON)' }),
    editArgs,
    h('div', { class: 'actions' }, [approveEdited]),
  ]);
  const approvalsLine = h('p', { class: 'approvals', 'aria-live': 'polite' });
  const self = v.submittedBy && v.submittedBy.keyId === MY_KEY;
  const form = h('form', { class: 'decide', 'aria-label': 'Decide on ' + v.tool }, [
    h('label', { for: reasonId, text: 'Reason' }),
    reason,
    self ? h('p', { class: 'self-note', text: 'Your key submitted this review, so the server will refuse your decision (no self-approval). Another approver must decide.' }) : null,
    h('div', { class: 'actions' }, [approve, deny]),
    editBox,
    err,
  ]);
  const buttons = [approve, deny, approveEdited];
  form.addEventListener('submit', (ev: SubmitEvent) => {
    ev.preventDefault();
    const submitter = ev.submitter as HTMLButtonElement | null;
    const choice = submitter ? submitter.value : '';
    if (choice !== 'allow' && choice !== 'deny' && choice !== 'edit') return;
    err.hidden = true;
    const verdict = choice === 'deny' ? 'deny' : 'allow';
    const body: { verdict: string; reason?: string; args?: unknown } = { verdict };
    if (choice === 'edit') {
      try {
        body.args = JSON.parse(editArgs.value) as unknown;
      } catch (e) {
        err.textContent = 'The edited arguments are not JSON (' + (e as Error).message + '). Fix them, or approve the call as asked.';
        err.hidden = false;
        return;
      }
    }
    buttons.forEach((b) => { b.disabled = true; });
    if (reason.value.trim()) body.reason = reason.value.trim();
    void api('/dashboard/api/reviews/' + encodeURIComponent(v.id) + '/decision', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': CSRF },
      body: JSON.stringify(body),
    }).then((r) => {
      if (r.status === 202 && r.body) {
        // One approval of several: recorded; the review waits for the others.
        const got = r.body as unknown as ReviewView;
        showApprovals(card, got);
        announce('Your approval of ' + v.tool + ' is recorded: ' + (approvalsText(got) || 'more approvals needed') + '.');
        buttons.forEach((b) => { b.disabled = false; });
        void refreshCard(v.id);
        return;
      }
      if (r.ok) {
        gone.add(v.id);
        removePending(v.id);
        announce((verdict === 'allow' ? (choice === 'edit' ? 'Approved with edited arguments: ' : 'Approved ') : 'Denied ') + v.tool + '.');
        refreshSoon();
        return;
      }
      err.textContent = errorText(r);
      err.hidden = false;
      if (r.status === 409 && !(r.body && r.body.error && r.body.error.code === 'ALREADY_APPROVED')) {
        err.textContent += ' Refreshing the list…';
        window.setTimeout(loadPending, 4000);
        return;
      }
      buttons.forEach((b) => { b.disabled = false; });
    });
  });

  const card = h('article', { class: 'card', 'data-review-id': v.id, 'aria-labelledby': titleId }, [
    h('div', { class: 'card-head' }, [
      h('h3', { id: titleId }, h('code', { text: v.tool })),
      h('span', { class: 'agent', text: 'by ' + agentLabel(v) }),
      h('span', { class: 'expires', 'data-expires': v.expiresAt || '' }),
    ]),
    approvalsLine,
    hiddenFlag(v),
    metaList([
      ['Review', code(v.id)],
      ['Agent', agentLabel(v)],
      ['Call id', code(v.callId)],
      ['Run id', code(v.runId)],
      ['Digest', code(v.digest)],
      ['Submitted', timeEl(v.createdAt)],
      ['Expires', timeEl(v.expiresAt)],
      ['Submitting key', code(v.submittedBy && v.submittedBy.keyId)],
    ]),
    h('div', { class: 'grid-2' }, [
      h('div', null, [h('h4', { text: 'Arguments (redacted)' }), jsonBlock(pretty(v.args))]),
      h('div', null, [h('h4', { text: 'Context' }), jsonBlock(v.context ? pretty(v.context) : '(none)')]),
    ]),
    policyBlock(v),
    h('div', { class: 'edits-slot' }, editsBlock(v)),
    form,
  ]);
  showApprovals(card, v);
  return card;
}

/** Updates a pending card's approvals line and proposed edits in place (keeps what the approver is typing). */
function showApprovals(card: HTMLElement, v: ReviewView): void {
  const line = card.querySelector<HTMLElement>('p.approvals');
  if (line) {
    const t = approvalsText(v);
    line.textContent = t ? visible(t) : '';
    line.hidden = !t;
  }
  const slot = card.querySelector<HTMLElement>('.edits-slot');
  if (slot) slot.replaceChildren(...[editsBlock(v)].filter((x): x is HTMLElement => x !== null));
  const p = pending.get(v.id);
  if (p) p.view = v;
}
/** Reads a pending review again and shows its approvals (after this approver's 202: the view has the proposed edits). */
function refreshCard(id: string): Promise<void> {
  return api<ReviewView>('/dashboard/api/reviews/' + encodeURIComponent(id)).then((r) => {
    const p = pending.get(id);
    if (r.ok && r.body && p && r.body.status === 'pending') showApprovals(p.el, r.body);
  });
}

function tick(): void {
  const now = Date.now();
  pending.forEach((p) => {
    const e = p.el.querySelector<HTMLElement>('.expires');
    if (!e) return;
    const at = expiryOf(p.view);
    if (at === Number.MAX_SAFE_INTEGER) { e.textContent = ''; return; }
    const left = at - now;
    e.textContent = left > 0 ? 'expires in ' + remaining(left) : 'expired: nobody decided in time';
    e.classList.toggle('soon', left < 60000);
  });
}

// ---------------------------------------------------------------------------------------------
// decided history

let historyFilter: Record<string, string> = {};
let historyNext: string | null = null;
let historyRun = 0;

function historyRows(v: ReviewView): HTMLElement[] {
  const n = ++seq;
  const detailId = 'hd' + n;
  const toggle = h('button', { type: 'button', class: 'btn btn-quiet', 'aria-expanded': 'false', 'aria-controls': detailId, text: 'Details' });
  const row = h('tr', { 'data-review-id': v.id }, [
    h('td', { class: 'when' }, timeEl(v.createdAt)),
    h('td', null, [h('code', { text: v.tool }), v.hiddenCharacters ? h('span', { class: 'hidden-chars-mark', title: 'contains hidden/control characters', text: ' (hidden characters)' }) : null]),
    h('td', { text: agentLabel(v) }),
    h('td', null, verdictBadge(v.verdict, v.expired)),
    h('td', { text: v.expired ? 'expired (nobody decided in time)' : v.edited ? (v.decidedBy || '—') + ' · edited' : v.decidedBy || '—' }),
    h('td', { class: 'reason', text: v.reason || '' }),
    h('td', { text: v.outcome ? v.outcome.status : v.executed ? 'executed' : '—' }),
    h('td', null, toggle),
  ]);
  const detail = h('tr', { id: detailId, class: 'detail-row', hidden: true }, h('td', { colspan: 8 }, h('div', { class: 'detail-grid' }, [
    h('div', { class: 'detail' }, [
      hiddenFlag(v),
      h('h4', { text: 'Review' }),
      metaList([
        ['Review', code(v.id)],
        ['Digest', code(v.digest)],
        ['Call id', code(v.callId)],
        ['Run id', code(v.runId)],
        ['Source', v.expired ? 'expired: nobody decided before the deadline' : v.source],
        ['Approvers', v.approvals && v.approvals.approvers.length ? v.approvals.approvers.join(', ') + ' (' + v.approvals.approvers.length + ' of ' + v.approvals.required + ')' : null],
        ['Edited digest', v.edited ? code(v.edited.digest) : null],
        ['Decided', timeEl(v.decidedAt)],
        ['Outcome', v.outcome ? v.outcome.status + (v.outcome.message ? ': ' + v.outcome.message : '') : null],
      ]),
    ]),
    h('div', { class: 'detail' }, [
      h('h4', { text: v.edited ? 'Arguments asked about (redacted)' : 'Arguments (redacted)' }),
      jsonBlock(pretty(v.args)),
      v.edited ? [h('h4', { text: 'Approved with edited arguments' }), jsonBlock(pretty(v.edited.args))] : null,
    ]),
    h('div', { class: 'detail span-all' }, policyBlock(v)),
  ])));
  toggle.addEventListener('click', () => {
    const open = detail.hidden;
    detail.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    toggle.textContent = open ? 'Hide' : 'Details';
  });
  return [row, detail];
}
function loadHistory(append: boolean): Promise<void> {
  const run = ++historyRun;
  const params = new URLSearchParams(historyFilter);
  params.set('status', 'decided');
  params.set('limit', '25');
  if (append && historyNext !== null) params.set('cursor', historyNext);
  return api<ReviewPage>('/dashboard/api/reviews?' + params.toString()).then((r) => {
    if (run !== historyRun) return;
    const body = $('history-body');
    const empty = $('history-empty');
    if (!r.ok || !r.body) { empty.textContent = 'Could not load the history: ' + errorText(r); empty.hidden = false; return; }
    if (!append) body.replaceChildren();
    r.body.reviews.forEach((v) => { historyRows(v).forEach((tr) => { body.append(tr); }); });
    historyNext = r.body.next;
    $('history-more').hidden = historyNext === null;
    empty.textContent = Object.keys(historyFilter).length ? 'No decided reviews match these filters.' : 'Nothing has been decided yet.';
    empty.hidden = body.children.length > 0;
    const wrap = $('history-table').parentElement;
    if (wrap) wrap.hidden = body.children.length === 0;
  });
}
function filterFromForm(): Record<string, string> {
  const data = new FormData($<HTMLFormElement>('history-filter'));
  const q: Record<string, string> = {};
  ['verdict', 'tool', 'decidedBy'].forEach((k) => {
    const v = String(data.get(k) || '').trim();
    if (v) q[k] = v;
  });
  return q;
}

// ---------------------------------------------------------------------------------------------
// audit chain status

function loadAudit(): Promise<void> {
  return api<AuditStatus>('/dashboard/api/audit').then((r) => {
    const el = $('audit-status');
    if (!r.ok || !r.body) { el.className = 'pill pill-warn'; el.textContent = 'Audit chain: unknown'; el.title = errorText(r); return; }
    const a = r.body;
    if (a.ok) {
      el.className = 'pill pill-ok';
      el.textContent = 'Audit chain verified' + (a.records !== null ? ' · ' + a.records + ' records' : '');
      el.title = 'Hash chain of the audit table' + (a.mirrorRecords !== null ? ' and its JSONL mirror (' + a.mirrorRecords + ' records)' : '') + ' verified at ' + a.checkedAt;
    } else {
      el.className = 'pill pill-bad';
      el.textContent = 'Audit chain BROKEN' + (a.firstBroken ? ' (' + a.firstBroken.where + ', record ' + a.firstBroken.seq + ')' : '');
      el.title = (a.firstBroken && a.firstBroken.reason) || a.error || '';
    }
  });
}

let refreshTimer: number | null = null;
function refreshSoon(): void {
  if (refreshTimer) window.clearTimeout(refreshTimer);
  refreshTimer = window.setTimeout(() => { refreshTimer = null; void loadHistory(false); void loadAudit(); }, 250);
}

// ---------------------------------------------------------------------------------------------
// live stream

let source: EventSource | null = null;
let retryTimer: number | null = null;
function live(kind: string, text: string): void {
  const el = $('live-status');
  el.className = 'pill pill-' + kind;
  el.textContent = text;
}
function parse(data: string): ReviewView | null {
  try { return JSON.parse(data) as ReviewView; } catch { return null; }
}
function connect(): void {
  if (source) source.close();
  live('neutral', 'Connecting…');
  const es = new EventSource('/dashboard/events');
  source = es;
  es.addEventListener('open', () => { live('ok', 'Live'); void loadPending(); });
  es.addEventListener('review.created', (e: MessageEvent<string>) => {
    const v = parse(e.data);
    if (!v) return;
    upsertPending(v);
    if (v.status === 'pending') announce('New review: ' + v.tool + ' by ' + agentLabel(v) + '.');
  });
  es.addEventListener('review.approved', (e: MessageEvent<string>) => {
    const v = parse(e.data);
    const p = v ? pending.get(v.id) : undefined;
    if (!v || !p) return;
    showApprovals(p.el, v);
    announce(v.tool + ': ' + (approvalsText(v) || 'approval recorded') + '.');
  });
  es.addEventListener('review.decided', (e: MessageEvent<string>) => {
    const v = parse(e.data);
    if (!v) return;
    gone.add(v.id);
    removePending(v.id);
    refreshSoon();
  });
  es.addEventListener('review.outcome', refreshSoon);
  es.addEventListener('error', () => {
    if (es.readyState !== EventSource.CLOSED) { live('warn', 'Reconnecting…'); return; }
    live('bad', 'Disconnected');
    // Closed for good: maybe the session ended (api() then goes to the sign-in page).
    void api('/dashboard/api/session').then((r) => {
      if (r.status === 401) return;
      if (retryTimer) window.clearTimeout(retryTimer);
      retryTimer = window.setTimeout(connect, 3000);
    });
  });
}

$('history-filter').addEventListener('submit', (e) => {
  e.preventDefault();
  historyFilter = filterFromForm();
  void loadHistory(false);
});
$('history-filter').addEventListener('reset', () => {
  window.setTimeout(() => { historyFilter = {}; void loadHistory(false); }, 0);
});
$('history-more').addEventListener('click', () => { void loadHistory(true); });

connect();
void loadPending();
void loadHistory(false);
void loadAudit();
window.setInterval(tick, 1000);
window.setInterval(loadAudit, 30000);
