import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OptionsError } from '@toolgate/core';
import { createMetrics } from './metrics';
import { createWebhookDispatcher, createWebhookSecret, signWebhook, type WebhookDispatcher } from './webhooks';

/** What the loopback receiver saw: the raw body, the Standard Webhooks headers, and whether they verified. */
interface Received {
  body: string;
  headers: Record<string, string>;
  verified: boolean;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  vi.useRealTimers();
  while (cleanups.length) await cleanups.pop()!();
});

function standardHeaders(h: IncomingHttpHeaders): Record<string, string> {
  return {
    'webhook-id': String(h['webhook-id'] ?? ''),
    'webhook-timestamp': String(h['webhook-timestamp'] ?? ''),
    'webhook-signature': String(h['webhook-signature'] ?? ''),
  };
}

/**
 * A receiver as a user writes it: verifies every request with the `standardwebhooks` package and
 * answers 400 when it does not verify. `answer` picks the status of each attempt (1-based).
 */
async function receiver(secret: string, answer: (n: number, res: ServerResponse) => number = () => 204) {
  const received: Received[] = [];
  const waiting: Array<{ n: number; resolve: () => void }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const headers = standardHeaders(req.headers);
      let verified = true;
      try {
        new Webhook(secret).verify(body, headers);
      } catch {
        verified = false;
      }
      received.push({ body, headers, verified });
      res.statusCode = verified ? answer(received.length, res) : 400;
      res.end();
      for (const w of waiting.filter((x) => received.length >= x.n)) w.resolve();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  const receivedAtLeast = (n: number) => new Promise<void>((resolve) => (received.length >= n ? resolve() : waiting.push({ n, resolve })));
  return { url, received, receivedAtLeast };
}

function dispatcher(...args: Parameters<typeof createWebhookDispatcher>): WebhookDispatcher {
  const d = createWebhookDispatcher(...args);
  cleanups.push(() => d.close());
  return d;
}

async function counted(metrics: ReturnType<typeof createMetrics>, result: string): Promise<number> {
  const m = await metrics.webhookDeliveries.get();
  return m.values.find((v) => v.labels.result === result)?.value ?? 0;
}

describe('webhooks: Standard Webhooks signatures', () => {
  it('a delivery verifies with the standardwebhooks package on a real receiver; a retry keeps the webhook-id and verifies too', async () => {
    const secret = createWebhookSecret();
    const r = await receiver(secret, (n) => (n === 1 ? 503 : 204));
    const metrics = createMetrics({ defaultMetrics: false });
    const d = dispatcher([{ url: r.url, secret }], metrics, { baseDelayMs: 1 });
    d.emit('review.decided', { id: 'rev_1', verdict: 'allow' });
    await r.receivedAtLeast(2);
    await vi.waitFor(async () => expect(await counted(metrics, 'delivered')).toBe(1));

    expect(r.received.map((x) => x.verified)).toEqual([true, true]);
    const [first, second] = r.received;
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(second!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const payload = new Webhook(secret).verify(second!.body, second!.headers) as { id: string; type: string; data: unknown };
    expect(payload).toMatchObject({ id: second!.headers['webhook-id'], type: 'review.decided', data: { id: 'rev_1', verdict: 'allow' } });
    expect(await counted(metrics, 'http_503')).toBe(1);
    expect(await counted(metrics, 'delivered')).toBe(1);
  });

  it('the receiver rejects a tampered body, another secret, and a replay outside the window (old timestamp)', async () => {
    const secret = createWebhookSecret();
    const r = await receiver(secret);
    const d = dispatcher([{ url: r.url, secret }], createMetrics({ defaultMetrics: false }), { baseDelayMs: 1 });
    d.emit('review.decided', { id: 'rev_2' });
    await r.receivedAtLeast(1);
    const got = r.received[0]!;
    expect(got.verified).toBe(true);

    expect(() => new Webhook(secret).verify(got.body.replace('rev_2', 'rev_3'), got.headers)).toThrow(/signature/i);
    expect(() => new Webhook(createWebhookSecret()).verify(got.body, got.headers)).toThrow(/signature/i);
    // A correctly signed message with a timestamp 10 minutes old is outside the verifier's window.
    const old = signWebhook(secret, { id: 'msg_old', timestamp: Math.floor(Date.now() / 1000) - 600, body: got.body });
    expect(() => new Webhook(secret).verify(got.body, old)).toThrow(/too old/i);
    // The same captured delivery replayed 10 minutes later is rejected too.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 10 * 60_000);
    expect(() => new Webhook(secret).verify(got.body, got.headers)).toThrow(/too old/i);
  });

  it('a 4xx from the receiver is final (not retried); 429 is retried', async () => {
    const secret = createWebhookSecret();
    const refusing = await receiver(secret, () => 410);
    const limited = await receiver(secret, (n, res) => {
      if (n === 1) res.setHeader('retry-after', '0');
      return n === 1 ? 429 : 204;
    });
    const metrics = createMetrics({ defaultMetrics: false });
    const d = dispatcher([{ url: refusing.url, secret }, { url: limited.url, secret }], metrics, { baseDelayMs: 1 });
    d.emit('review.decided', {});
    await limited.receivedAtLeast(2);
    await refusing.receivedAtLeast(1);
    await vi.waitFor(async () => expect(await counted(metrics, 'delivered') + (await counted(metrics, 'gave_up'))).toBe(2));
    expect(refusing.received).toHaveLength(1);
    expect(limited.received).toHaveLength(2);
    expect(await counted(metrics, 'gave_up')).toBe(1);
    expect(await counted(metrics, 'delivered')).toBe(1);
  });

  it('refuses a secret that is not whsec_ + base64 of 24 to 64 bytes', () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const url = 'http://127.0.0.1:1/hook';
    for (const secret of ['x'.repeat(32), 'whsec_', 'whsec_not base64!', `whsec_${Buffer.alloc(16).toString('base64')}`, `whsec_${Buffer.alloc(65).toString('base64')}`]) {
      expect(() => createWebhookDispatcher([{ url, secret }], metrics), secret).toThrow(OptionsError);
    }
    expect(createWebhookSecret()).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(() => signWebhook('plain-secret-0123456789', { id: 'a', timestamp: 1, body: '' })).toThrow(OptionsError);
  });
});
