/**
 * Secrets are redacted once, before anything is stored: agent objects, context, outcome messages
 * and human reasons never reach the SQLite file, the JSONL mirror, /v1/reviews, /v1/audit, the
 * dashboard's views or webhook bodies in the clear.
 */
import { createServer } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { http, removeDir, startServer, type Started } from '../testing/fixture';
import { createWebhookSecret } from './webhooks';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const SECRETS = ['SECRET-AGENT-TOKEN-1', 'SECRET-AGENT-PW-2', 'SECRET-CTX-SESSION-3', 'SECRETCTXBEARER4', 'SECRETOUTCOME5', 'SECRETREASON6', 'SECRET-ARGS-7'];

/** Every byte the data dir holds (the database, its WAL, the audit mirror), as latin1 text. */
function dataDirText(dir: string): string {
  return ['toolgate.db', 'toolgate.db-wal', 'audit.jsonl']
    .map((f) => join(dir, f))
    .filter((p) => existsSync(p))
    .map((p) => readFileSync(p).toString('latin1'))
    .join('\n');
}

describe('secrets are redacted before anything is stored', () => {
  it('agent metadata, context, outcome message and a human reason never appear in the db, /v1/reviews, /v1/audit or webhook bodies', async () => {
    const hooks: string[] = [];
    let delivered!: () => void;
    const got = new Promise<void>((resolve) => (delivered = resolve));
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        hooks.push(body);
        res.end('ok');
        delivered();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
    const port = (receiver.address() as { port: number }).port;
    const s: Started = await startServer({ webhooks: [{ url: `http://127.0.0.1:${port}/hook`, secret: createWebhookSecret() }], webhookOptions: { baseDelayMs: 5 } });
    cleanups.push(() => removeDir(s.dataDir));
    cleanups.push(() => s.server.close());

    const submitted = await http(s.url, 'POST', '/v1/reviews', s.evalKey, {
      idempotencyKey: 'sec-1',
      call: { tool: 'transfer', args: { amount: 500, api_key: 'SECRET-ARGS-7' }, callId: 'c1' },
      agent: { id: 'agent-1', name: 'bot', apiToken: 'SECRET-AGENT-TOKEN-1', meta: { password: 'SECRET-AGENT-PW-2' } },
      context: { task: 'pay', session_id: 'SECRET-CTX-SESSION-3', note: 'call it with Bearer SECRETCTXBEARER4 please' },
    });
    expect(submitted.status).toBe(202);
    const id = submitted.body.id as string;
    const decided = await http(s.url, 'POST', `/v1/reviews/${id}/decision`, s.approveKey, { verdict: 'allow', reason: 'ok, the token is Bearer SECRETREASON6' });
    expect(decided.status).toBe(200);
    await got;
    const outcome = await http(s.url, 'POST', `/v1/reviews/${id}/outcome`, s.evalKey, { status: 'failure', message: 'upstream said Authorization: Bearer SECRETOUTCOME5 expired' });
    expect(outcome.status).toBe(200);

    const list = JSON.stringify((await http(s.url, 'GET', '/v1/reviews', s.approveKey)).body);
    const audit = JSON.stringify((await http(s.url, 'GET', '/v1/audit?limit=1000', s.approveKey)).body);
    const one = JSON.stringify((await http(s.url, 'GET', `/v1/reviews/${id}`, s.approveKey)).body);
    const view = JSON.stringify((await s.server.service.viewById(id)));
    expect((await http(s.url, 'GET', '/v1/audit/verify', s.approveKey)).body.ok).toBe(true);
    const stored = dataDirText(s.dataDir);

    // The non-secret parts are there (the checks below would pass on an empty store otherwise).
    expect(list).toContain('agent-1');
    expect(list).toContain('[REDACTED]');
    expect(view).toContain('"task":"pay"');
    expect(audit).toContain('"status":"failure"');
    expect(hooks.join('')).toContain('agent-1');
    expect(stored).toContain('agent-1');
    for (const secret of SECRETS) {
      expect(stored, `${secret} in the data dir`).not.toContain(secret);
      expect(list, `${secret} in /v1/reviews`).not.toContain(secret);
      expect(one, `${secret} in /v1/reviews/:id`).not.toContain(secret);
      expect(audit, `${secret} in /v1/audit`).not.toContain(secret);
      expect(view, `${secret} in the dashboard view`).not.toContain(secret);
      expect(hooks.join('\n'), `${secret} in a webhook body`).not.toContain(secret);
    }
  });
});
