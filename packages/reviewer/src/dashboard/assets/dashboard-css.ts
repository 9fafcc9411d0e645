/** The dashboard's stylesheet, shipped as a string so the tsup bundle carries it (no asset copy step). */
export const DASHBOARD_CSS = String.raw`
:root {
  --bg: #f5f6f8; --surface: #ffffff; --surface-2: #f0f2f5; --border: #dde1e7; --text: #1b1f24; --muted: #5b6472;
  --accent: #3b5bdb; --accent-text: #ffffff; --allow: #1f7a3f; --allow-bg: #e6f4ea; --deny: #b42318; --deny-bg: #fdecea;
  --warn: #9a6700; --warn-bg: #fff4d6; --focus: #3b5bdb; --code-bg: #f3f4f7; --radius: 10px;
  --shadow: 0 1px 2px rgba(16, 24, 40, .06), 0 1px 3px rgba(16, 24, 40, .08);
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1115; --surface: #171a21; --surface-2: #1e222b; --border: #2c313c; --text: #e6e8ec; --muted: #9aa3b2;
    --accent: #7b93ff; --accent-text: #0f1115; --allow: #5fd38a; --allow-bg: #13291c; --deny: #ff8a80; --deny-bg: #2d1614;
    --warn: #f2c14e; --warn-bg: #2b2410; --focus: #7b93ff; --code-bg: #11141a; --shadow: none;
  }
}
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin: 0; background: var(--bg); color: var(--text); font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; font-size: .9em; }
a { color: var(--accent); }
h1, h2, h3, h4 { line-height: 1.25; margin: 0; }
h1 { font-size: 1.35rem; } h2 { font-size: 1.2rem; } h3 { font-size: 1.05rem; } h4 { font-size: .8rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 1rem 0 .35rem; }
.muted { color: var(--muted); }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.skip-link { position: absolute; left: -999px; top: .5rem; background: var(--surface); padding: .5rem .75rem; border-radius: 6px; }
.skip-link:focus { left: .5rem; z-index: 10; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
[hidden] { display: none !important; }

.brand { display: flex; align-items: center; gap: .4rem; margin: 0; font-weight: 650; font-size: 1.05rem; }
.brand-mark { width: 1.1rem; height: 1.1rem; border-radius: 4px; background: linear-gradient(135deg, var(--accent), #15aabf); display: inline-block; }
.brand-sub { color: var(--muted); font-weight: 500; }

.btn { font: inherit; font-weight: 600; border-radius: 8px; border: 1px solid transparent; padding: .5rem .95rem; cursor: pointer; line-height: 1.2; }
.btn:disabled { opacity: .55; cursor: progress; }
.btn-primary { background: var(--accent); color: var(--accent-text); }
.btn-secondary { background: var(--surface); color: var(--text); border-color: var(--border); }
.btn-quiet { background: transparent; color: var(--muted); }
.btn-quiet:hover { color: var(--text); }
.btn-approve { background: var(--allow); color: #fff; }
.btn-deny { background: var(--deny); color: #fff; }
@media (prefers-color-scheme: dark) { .btn-approve, .btn-deny { color: #0f1115; } }

.alert { border-radius: 8px; padding: .6rem .8rem; margin: .75rem 0; }
.alert-error { background: var(--deny-bg); color: var(--deny); border: 1px solid color-mix(in srgb, var(--deny) 35%, transparent); }
.alert-info { background: var(--surface-2); color: var(--text); border: 1px solid var(--border); }

/* sign-in */
.page-login { min-height: 100vh; display: grid; place-items: center; padding: 1.5rem; }
.login-card { width: min(440px, 100%); background: var(--surface); border: 1px solid var(--border); border-radius: 14px; box-shadow: var(--shadow); padding: 1.75rem; }
.login-card h1 { margin: 1.1rem 0 .35rem; }
.login-form { display: grid; gap: .5rem; margin-top: 1rem; }
.login-form label { font-weight: 600; }
input[type=text], input[type=password], select, textarea { font: inherit; color: var(--text); background: var(--surface); border: 1px solid var(--border); border-radius: 8px; padding: .5rem .6rem; width: 100%; }
textarea { resize: vertical; min-height: 2.6rem; }
.login-form .btn { margin-top: .5rem; }
.hint { margin: 1.25rem 0 0; color: var(--muted); font-size: .9rem; }
.hint code { display: inline-block; margin-top: .3rem; background: var(--code-bg); padding: .2rem .4rem; border-radius: 5px; color: var(--text); }

/* app shell */
.topbar { position: sticky; top: 0; z-index: 5; display: flex; align-items: center; gap: 1rem; flex-wrap: wrap; padding: .7rem 1.5rem; background: var(--surface); border-bottom: 1px solid var(--border); }
.status-group { display: flex; gap: .5rem; flex-wrap: wrap; margin-right: auto; }
.who { display: flex; align-items: center; gap: .5rem; color: var(--muted); }
.who strong { color: var(--text); }
.who form { margin: 0; }
.scope { font-size: .75rem; border: 1px solid var(--border); border-radius: 999px; padding: .05rem .45rem; }
.pill { display: inline-flex; align-items: center; gap: .35rem; font-size: .85rem; font-weight: 600; border-radius: 999px; padding: .2rem .65rem; border: 1px solid var(--border); }
.pill::before { content: ""; width: .5rem; height: .5rem; border-radius: 50%; background: currentColor; }
.pill-neutral { color: var(--muted); }
.pill-ok { color: var(--allow); background: var(--allow-bg); border-color: transparent; }
.pill-bad { color: var(--deny); background: var(--deny-bg); border-color: transparent; }
.pill-warn { color: var(--warn); background: var(--warn-bg); border-color: transparent; }

.content { max-width: 1120px; margin: 0 auto; padding: 1.5rem; display: grid; gap: 1.75rem; }
.panel-head { display: grid; gap: .25rem; margin-bottom: .9rem; }
.panel-head p { margin: 0; }
.count { display: inline-block; min-width: 1.6rem; text-align: center; font-size: .85rem; padding: .05rem .45rem; border-radius: 999px; background: var(--accent); color: var(--accent-text); vertical-align: middle; }
.empty { background: var(--surface); border: 1px dashed var(--border); border-radius: var(--radius); padding: 1.25rem; color: var(--muted); text-align: center; margin: 0; }

/* pending review cards */
.cards { display: grid; gap: 1rem; }
.card { background: var(--surface); border: 1px solid var(--border); border-left: 4px solid var(--warn); border-radius: var(--radius); box-shadow: var(--shadow); padding: 1.1rem 1.25rem; }
.card-head { display: flex; align-items: baseline; gap: .75rem; flex-wrap: wrap; }
.card-head h3 code { font-size: 1.05rem; background: var(--code-bg); padding: .1rem .4rem; border-radius: 6px; }
.card-head .agent { color: var(--muted); }
.expires { margin-left: auto; font-size: .85rem; font-weight: 600; color: var(--warn); }
.expires.soon { color: var(--deny); }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .8rem 0 0; font-size: .9rem; }
.meta dt { color: var(--muted); }
.meta dd { margin: 0; overflow-wrap: anywhere; }
.grid-2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 0 1.25rem; }
pre.json { margin: 0; background: var(--code-bg); border: 1px solid var(--border); border-radius: 8px; padding: .6rem .75rem; max-height: 18rem; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
.policy-reason { margin: 0 0 .4rem; }
.rules { font-size: .9rem; color: var(--muted); margin: 0 0 .4rem; }
table { border-collapse: collapse; width: 100%; }
.checks { font-size: .88rem; }
.checks th, .checks td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--border); vertical-align: top; }
.checks th { color: var(--muted); font-weight: 600; }
.pass { color: var(--allow); font-weight: 600; } .fail { color: var(--muted); }
.decide { margin-top: 1rem; padding-top: 1rem; border-top: 1px solid var(--border); display: grid; gap: .4rem; }
.decide label { font-weight: 600; font-size: .9rem; }
.decide .actions { display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; }
.self-note { font-size: .85rem; color: var(--warn); margin: 0; }
.decide .alert { margin: 0; }

/* history */
.filters { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius); padding: .8rem 1rem; margin-bottom: .8rem; }
.filters label { display: grid; gap: .2rem; font-size: .85rem; font-weight: 600; color: var(--muted); min-width: 160px; }
.filter-actions { display: flex; gap: .4rem; }
.table-wrap { background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius); overflow-x: auto; }
.history th, .history td { text-align: left; padding: .55rem .75rem; border-bottom: 1px solid var(--border); vertical-align: top; font-size: .92rem; }
.history thead th { background: var(--surface-2); color: var(--muted); font-weight: 600; font-size: .82rem; white-space: nowrap; }
.history tbody tr:last-child > td { border-bottom: 0; }
.history td.reason { max-width: 22rem; }
.history td.when { white-space: nowrap; color: var(--muted); }
.verdict { display: inline-block; font-size: .8rem; font-weight: 700; padding: .05rem .5rem; border-radius: 999px; }
.verdict-allow { color: var(--allow); background: var(--allow-bg); }
.verdict-deny { color: var(--deny); background: var(--deny-bg); }
.verdict-review { color: var(--warn); background: var(--warn-bg); }
.history details summary { cursor: pointer; color: var(--accent); white-space: nowrap; }
.history tr.detail-row > td { background: var(--surface-2); }
.detail-grid { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1.4fr); gap: .25rem 1.5rem; align-items: start; padding: .25rem 0 .5rem; }
.detail-grid .span-all { grid-column: 1 / -1; }
.detail-grid h4 { margin-top: .5rem; }
@media (max-width: 760px) { .detail-grid { grid-template-columns: minmax(0, 1fr); } }
#history-more { margin-top: .8rem; }
@media (max-width: 640px) { .content { padding: 1rem; } .topbar { padding: .6rem 1rem; } .meta { grid-template-columns: 1fr; } }
`;
