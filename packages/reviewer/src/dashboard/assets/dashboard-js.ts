/**
 * The dashboard's browser script, shipped as a string so the tsup bundle carries it. Plain
 * ES2020, no framework. Every value from the server goes into the page through `textContent` /
 * text nodes (never `innerHTML`), so redacted arguments and reasons render as inert text.
 * (Written without template literals so it can live inside this one.)
 */
export const DASHBOARD_JS = String.raw`(function () {
  'use strict';
  var doc = document;
  function meta(name) {
    var m = doc.querySelector('meta[name="' + name + '"]');
    return m ? m.getAttribute('content') || '' : '';
  }
  var CSRF = meta('toolgate-csrf');
  var MY_KEY = meta('toolgate-key-id');
  var TITLE = doc.title;
  function $(id) { return doc.getElementById(id); }

  // Controls, bidi overrides, zero-width and other invisible characters are shown as visible
  // escapes (backslash-u and the hex code) wherever text reaches the page. The server already
  // sends them escaped; this is the second line, so an agent-chosen name cannot reorder or hide
  // what the approver reads.
  var HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u115F\u1160\u3164\uFFA0]/gu;
  function visible(text) {
    return String(text).replace(HIDDEN, function (ch) {
      var cp = ch.codePointAt(0);
      var hex = cp.toString(16).toUpperCase();
      return cp > 0xffff ? '\\u{' + hex + '}' : '\\u' + ('0000' + hex).slice(-4);
    });
  }
  function h(tag, props, children) {
    var e = doc.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        var v = props[k];
        if (v === undefined || v === null || v === false) return;
        if (k === 'class') e.className = v;
        else if (k === 'text') e.textContent = visible(v);
        else e.setAttribute(k, v === true ? '' : visible(v));
      });
    }
    if (children !== undefined && children !== null) {
      [].concat(children).flat(Infinity).forEach(function (c) {
        if (c === undefined || c === null || c === false) return;
        e.append(typeof c === 'string' ? visible(c) : c);
      });
    }
    return e;
  }
  function hiddenFlag(v) {
    if (!v.hiddenCharacters) return null;
    return h('p', { class: 'alert alert-error hidden-chars', role: 'alert', text: 'Warning: this call contains hidden/control characters (shown as \\u escapes). What you read may not be what runs: check the tool name and arguments character by character.' });
  }

  var dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
  function timeEl(iso) {
    if (!iso) return '—';
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return h('time', { datetime: iso, title: iso, text: dateFmt.format(d) });
  }
  function remaining(ms) {
    var s = Math.floor(ms / 1000), m = Math.floor(s / 60), hr = Math.floor(m / 60);
    if (hr > 0) return hr + 'h ' + (m % 60) + 'm';
    if (m > 0) return m + 'm ' + String(s % 60).padStart(2, '0') + 's';
    return s + 's';
  }
  function pretty(v) {
    if (v === undefined) return '(none)';
    try { return JSON.stringify(v, null, 2); } catch (e) { return String(v); }
  }
  function compact(v) {
    if (v === undefined) return 'undefined';
    try { return JSON.stringify(v); } catch (e) { return String(v); }
  }
  function agentLabel(v) {
    if (!v.agent) return 'unknown agent';
    return v.agent.name ? v.agent.name + ' (' + v.agent.id + ')' : String(v.agent.id);
  }
  function verdictBadge(verdict) {
    return h('span', { class: 'verdict verdict-' + (verdict === 'allow' || verdict === 'deny' ? verdict : 'review'), text: verdict || '?' });
  }
  function announce(text) {
    var a = $('announcer');
    a.textContent = '';
    setTimeout(function () { a.textContent = text; }, 50);
  }

  var signingOut = false;
  function api(path, init) {
    var opts = Object.assign({ credentials: 'same-origin' }, init || {});
    opts.headers = Object.assign({ accept: 'application/json' }, (init && init.headers) || {});
    return fetch(path, opts).then(function (res) {
      return res.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        if (res.status === 401 && !signingOut) {
          signingOut = true;
          window.location.assign('/');
        }
        return { ok: res.ok, status: res.status, body: body };
      });
    }, function (err) {
      return { ok: false, status: 0, body: { error: { code: 'NETWORK', message: 'The server cannot be reached (' + err.message + ').' } } };
    });
  }
  function errorText(r) {
    var e = r.body && r.body.error;
    if (e && e.message) return (e.code ? e.code + ': ' : '') + e.message;
    return 'Request failed (HTTP ' + r.status + ').';
  }

  function checksTable(evaluated) {
    var rows = evaluated.map(function (c) {
      return h('tr', null, [
        h('td', null, h('code', { text: c.rule })),
        h('td', null, h('code', { text: c.field })),
        h('td', { text: c.op }),
        h('td', null, h('code', { text: compact(c.expected) })),
        h('td', null, h('code', { text: compact(c.actual) })),
        h('td', { class: c.passed ? 'pass' : 'fail', text: c.passed ? '✓ matched' : '✗ no match' })
      ]);
    });
    return h('table', { class: 'checks' }, [
      h('caption', { class: 'sr-only', text: 'Evaluated policy checks' }),
      h('thead', null, h('tr', null, ['Rule', 'Field', 'Op', 'Expected', 'Actual', 'Result'].map(function (t) { return h('th', { scope: 'col', text: t }); }))),
      h('tbody', null, rows)
    ]);
  }
  function policyBlock(v) {
    var p = v.policy || { reason: v.reason || '', matchedRules: [] };
    var rules = p.matchedRules && p.matchedRules.length ? p.matchedRules.join(', ') : 'none (policy default)';
    return [
      h('h4', { text: 'Policy result' }),
      h('p', { class: 'policy-reason', text: p.reason || v.reason || '' }),
      h('p', { class: 'rules' }, ['Policy verdict: ', h('strong', { text: p.verdict || 'none' }), ' · matched rules: ', rules]),
      v.evaluated && v.evaluated.length ? checksTable(v.evaluated) : h('p', { class: 'muted', text: 'No rule conditions were evaluated.' })
    ];
  }
  function metaList(pairs) {
    var items = [];
    pairs.forEach(function (p) {
      if (p[1] === undefined || p[1] === null || p[1] === '') return;
      items.push(h('dt', { text: p[0] }), h('dd', null, p[1]));
    });
    return h('dl', { class: 'meta' }, items);
  }
  function code(text) { return text ? h('code', { text: text }) : null; }

  // ---------------------------------------------------------------------------------------------
  // pending reviews

  var seq = 0;
  var pending = new Map();
  var gone = new Set();

  function expiryOf(v) {
    var t = Date.parse(v.expiresAt || '');
    return isNaN(t) ? Number.MAX_SAFE_INTEGER : t;
  }
  function updatePendingCount() {
    $('pending-count').textContent = String(pending.size);
    $('pending-empty').hidden = pending.size > 0;
    doc.title = (pending.size ? '(' + pending.size + ') ' : '') + TITLE;
  }
  function upsertPending(v) {
    if (!v || v.status !== 'pending' || gone.has(v.id)) { if (v) removePending(v.id); return; }
    if (pending.has(v.id)) return;
    var el = renderCard(v);
    var before = null;
    pending.forEach(function (p) {
      if (before === null && expiryOf(v) < expiryOf(p.view)) before = p.el;
    });
    $('pending-list').insertBefore(el, before);
    pending.set(v.id, { view: v, el: el });
    updatePendingCount();
    tick();
  }
  function removePending(id) {
    var p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    p.el.remove();
    updatePendingCount();
  }
  function loadPending() {
    return api('/dashboard/api/reviews?status=pending&limit=500').then(function (r) {
      if (!r.ok) { $('pending-empty').textContent = 'Could not load pending reviews: ' + errorText(r); $('pending-empty').hidden = false; return; }
      $('pending-empty').textContent = 'Nothing is waiting for a decision.';
      var ids = new Set(r.body.reviews.map(function (v) { return v.id; }));
      Array.from(pending.keys()).forEach(function (id) { if (!ids.has(id)) removePending(id); });
      r.body.reviews.forEach(upsertPending);
      updatePendingCount();
    });
  }

  function renderCard(v) {
    var n = ++seq;
    var titleId = 'rv' + n + '-title', reasonId = 'rv' + n + '-reason';
    var err = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
    var reason = h('textarea', { id: reasonId, name: 'reason', rows: 2, maxlength: 2000, placeholder: 'Why? Recorded in the audit trail and returned to the agent.' });
    var approve = h('button', { type: 'submit', name: 'verdict', value: 'allow', class: 'btn btn-approve', text: 'Approve' });
    var deny = h('button', { type: 'submit', name: 'verdict', value: 'deny', class: 'btn btn-deny', text: 'Deny' });
    var self = v.submittedBy && v.submittedBy.keyId === MY_KEY;
    var form = h('form', { class: 'decide', 'aria-label': 'Decide on ' + v.tool }, [
      h('label', { for: reasonId, text: 'Reason' }),
      reason,
      self ? h('p', { class: 'self-note', text: 'Your key submitted this review, so the server will refuse your decision (no self-approval). Another approver must decide.' }) : null,
      h('div', { class: 'actions' }, [approve, deny]),
      err
    ]);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var verdict = ev.submitter ? ev.submitter.value : '';
      if (verdict !== 'allow' && verdict !== 'deny') return;
      approve.disabled = true; deny.disabled = true; err.hidden = true;
      var body = { verdict: verdict };
      if (reason.value.trim()) body.reason = reason.value.trim();
      api('/dashboard/api/reviews/' + encodeURIComponent(v.id) + '/decision', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': CSRF },
        body: JSON.stringify(body)
      }).then(function (r) {
        if (r.ok) {
          gone.add(v.id);
          removePending(v.id);
          announce((verdict === 'allow' ? 'Approved ' : 'Denied ') + v.tool + '.');
          refreshSoon();
          return;
        }
        err.textContent = errorText(r);
        err.hidden = false;
        if (r.status === 409) {
          err.textContent += ' Refreshing the list…';
          setTimeout(loadPending, 4000);
          return;
        }
        approve.disabled = false; deny.disabled = false;
      });
    });

    return h('article', { class: 'card', 'data-review-id': v.id, 'aria-labelledby': titleId }, [
      h('div', { class: 'card-head' }, [
        h('h3', { id: titleId }, h('code', { text: v.tool })),
        h('span', { class: 'agent', text: 'by ' + agentLabel(v) }),
        h('span', { class: 'expires', 'data-expires': v.expiresAt || '' })
      ]),
      hiddenFlag(v),
      metaList([
        ['Review', code(v.id)],
        ['Agent', agentLabel(v)],
        ['Call id', code(v.callId)],
        ['Run id', code(v.runId)],
        ['Digest', code(v.digest)],
        ['Submitted', timeEl(v.createdAt)],
        ['Expires', timeEl(v.expiresAt)],
        ['Submitting key', code(v.submittedBy && v.submittedBy.keyId)]
      ]),
      h('div', { class: 'grid-2' }, [
        h('div', null, [h('h4', { text: 'Arguments (redacted)' }), h('pre', { class: 'json', text: pretty(v.args) })]),
        h('div', null, [h('h4', { text: 'Context' }), h('pre', { class: 'json', text: v.context ? pretty(v.context) : '(none)' })])
      ]),
      policyBlock(v),
      form
    ]);
  }

  function tick() {
    var now = Date.now();
    pending.forEach(function (p) {
      var e = p.el.querySelector('.expires');
      var at = expiryOf(p.view);
      if (at === Number.MAX_SAFE_INTEGER) { e.textContent = ''; return; }
      var left = at - now;
      e.textContent = left > 0 ? 'expires in ' + remaining(left) : 'expired: will be denied';
      e.classList.toggle('soon', left < 60000);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // decided history

  var historyFilter = {};
  var historyNext = null;
  var historyRun = 0;

  function historyRows(v) {
    var n = ++seq;
    var detailId = 'hd' + n;
    var toggle = h('button', { type: 'button', class: 'btn btn-quiet', 'aria-expanded': 'false', 'aria-controls': detailId, text: 'Details' });
    var row = h('tr', { 'data-review-id': v.id }, [
      h('td', { class: 'when' }, timeEl(v.createdAt)),
      h('td', null, [h('code', { text: v.tool }), v.hiddenCharacters ? h('span', { class: 'hidden-chars-mark', title: 'contains hidden/control characters', text: ' (hidden characters)' }) : null]),
      h('td', { text: agentLabel(v) }),
      h('td', null, verdictBadge(v.verdict)),
      h('td', { text: v.decidedBy || '—' }),
      h('td', { class: 'reason', text: v.reason || '' }),
      h('td', { text: v.outcome ? v.outcome.status : v.executed ? 'executed' : '—' }),
      h('td', null, toggle)
    ]);
    var detail = h('tr', { id: detailId, class: 'detail-row', hidden: true }, h('td', { colspan: 8 }, h('div', { class: 'detail-grid' }, [
      h('div', { class: 'detail' }, [
        hiddenFlag(v),
        h('h4', { text: 'Review' }),
        metaList([
          ['Review', code(v.id)],
          ['Digest', code(v.digest)],
          ['Call id', code(v.callId)],
          ['Run id', code(v.runId)],
          ['Source', v.source],
          ['Decided', timeEl(v.decidedAt)],
          ['Outcome', v.outcome ? v.outcome.status + (v.outcome.message ? ': ' + v.outcome.message : '') : null]
        ])
      ]),
      h('div', { class: 'detail' }, [h('h4', { text: 'Arguments (redacted)' }), h('pre', { class: 'json', text: pretty(v.args) })]),
      h('div', { class: 'detail span-all' }, policyBlock(v))
    ])));
    toggle.addEventListener('click', function () {
      var open = detail.hidden;
      detail.hidden = !open;
      toggle.setAttribute('aria-expanded', String(open));
      toggle.textContent = open ? 'Hide' : 'Details';
    });
    return [row, detail];
  }
  function loadHistory(append) {
    var run = ++historyRun;
    var params = new URLSearchParams(historyFilter);
    params.set('status', 'decided');
    params.set('limit', '25');
    if (append && historyNext !== null) params.set('cursor', historyNext);
    return api('/dashboard/api/reviews?' + params.toString()).then(function (r) {
      if (run !== historyRun) return;
      var body = $('history-body');
      var empty = $('history-empty');
      if (!r.ok) { empty.textContent = 'Could not load the history: ' + errorText(r); empty.hidden = false; return; }
      if (!append) body.replaceChildren();
      r.body.reviews.forEach(function (v) { historyRows(v).forEach(function (tr) { body.append(tr); }); });
      historyNext = r.body.next;
      $('history-more').hidden = historyNext === null;
      empty.textContent = Object.keys(historyFilter).length ? 'No decided reviews match these filters.' : 'Nothing has been decided yet.';
      empty.hidden = body.children.length > 0;
      $('history-table').parentElement.hidden = body.children.length === 0;
    });
  }
  function filterFromForm() {
    var data = new FormData($('history-filter'));
    var q = {};
    ['verdict', 'tool', 'decidedBy'].forEach(function (k) {
      var v = String(data.get(k) || '').trim();
      if (v) q[k] = v;
    });
    return q;
  }

  // ---------------------------------------------------------------------------------------------
  // audit chain status

  function loadAudit() {
    return api('/dashboard/api/audit').then(function (r) {
      var el = $('audit-status');
      if (!r.ok || !r.body) { el.className = 'pill pill-warn'; el.textContent = 'Audit chain: unknown'; el.title = errorText(r); return; }
      var a = r.body;
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

  var refreshTimer = null;
  function refreshSoon() {
    if (refreshTimer) clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () { refreshTimer = null; loadHistory(false); loadAudit(); }, 250);
  }

  // ---------------------------------------------------------------------------------------------
  // live stream

  var source = null;
  var retryTimer = null;
  function live(kind, text) {
    var el = $('live-status');
    el.className = 'pill pill-' + kind;
    el.textContent = text;
  }
  function parse(data) {
    try { return JSON.parse(data); } catch (e) { return null; }
  }
  function connect() {
    if (source) source.close();
    live('neutral', 'Connecting…');
    source = new EventSource('/dashboard/events');
    source.addEventListener('open', function () { live('ok', 'Live'); loadPending(); });
    source.addEventListener('review.created', function (e) {
      var v = parse(e.data);
      if (!v) return;
      upsertPending(v);
      if (v.status === 'pending') announce('New review: ' + v.tool + ' by ' + agentLabel(v) + '.');
    });
    source.addEventListener('review.decided', function (e) {
      var v = parse(e.data);
      if (!v) return;
      gone.add(v.id);
      removePending(v.id);
      refreshSoon();
    });
    source.addEventListener('review.outcome', refreshSoon);
    source.addEventListener('error', function () {
      if (source.readyState !== EventSource.CLOSED) { live('warn', 'Reconnecting…'); return; }
      live('bad', 'Disconnected');
      // Closed for good: maybe the session ended (api() then goes to the sign-in page).
      api('/dashboard/api/session').then(function (r) {
        if (r.status === 401) return;
        if (retryTimer) clearTimeout(retryTimer);
        retryTimer = setTimeout(connect, 3000);
      });
    });
  }

  $('history-filter').addEventListener('submit', function (e) {
    e.preventDefault();
    historyFilter = filterFromForm();
    loadHistory(false);
  });
  $('history-filter').addEventListener('reset', function () {
    setTimeout(function () { historyFilter = {}; loadHistory(false); }, 0);
  });
  $('history-more').addEventListener('click', function () { loadHistory(true); });

  connect();
  loadPending();
  loadHistory(false);
  loadAudit();
  setInterval(tick, 1000);
  setInterval(loadAudit, 30000);
})();
`;
