import { createHmac, randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import { OptionsError } from '@toolgate/core';
import type { ServerMetrics } from './metrics';

/** One webhook endpoint. The body is signed: `x-toolgate-signature: sha256=<hex HMAC-SHA256(secret, body)>`. */
export interface WebhookTarget {
  url: string;
  secret: string;
}

export interface WebhookOptions {
  /** Attempts per delivery, first included. Default 5. */
  attempts?: number;
  /** First retry delay; doubles each time, with jitter. Default 500 ms. */
  baseDelayMs?: number;
  /** Per-attempt timeout. Default 10 000 ms. */
  timeoutMs?: number;
  /** Deliveries in flight or waiting to retry; beyond this, new ones are dropped (and counted). Default 10 000. */
  maxQueue?: number;
}

export interface WebhookDispatcher {
  /** Queues a signed delivery to every target. Never blocks or throws. */
  emit(type: string, data: unknown): void;
  /** False when there is no target (callers can skip building the payload). */
  readonly active: boolean;
  /** Stops retrying and waits (bounded) for attempts in flight. */
  close(): Promise<void>;
}

/** `sha256=<hex>` HMAC-SHA256 of `body` with `secret`: what receivers recompute to verify. */
export function signWebhookBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/**
 * Signed webhook deliveries with bounded retries (exponential backoff with jitter). Deliveries run
 * off the decision path: `emit` only queues.
 */
export function createWebhookDispatcher(targets: readonly WebhookTarget[], metrics: ServerMetrics, options: WebhookOptions = {}): WebhookDispatcher {
  for (const t of targets) {
    let u: URL;
    try {
      u = new URL(t.url);
    } catch {
      throw new OptionsError(`webhooks: url must be an absolute http(s) URL, got ${JSON.stringify(t.url)}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new OptionsError(`webhooks: ${t.url} must be http or https`);
    if (typeof t.secret !== 'string' || t.secret.length < 16) throw new OptionsError(`webhooks: the secret for ${t.url} must be at least 16 characters`);
  }
  const attempts = options.attempts ?? 5;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxQueue = options.maxQueue ?? 10_000;
  const agent = targets.length ? new Agent({ connections: 8, keepAliveTimeout: 10_000 }) : undefined;
  const inflight = new Set<Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  const closing = new AbortController();
  let closed = false;

  const deliver = async (target: WebhookTarget, body: string, signature: string, type: string, id: string): Promise<void> => {
    for (let attempt = 1; attempt <= attempts && !closed; attempt++) {
      try {
        const res = await request(target.url, {
          method: 'POST',
          dispatcher: agent,
          body,
          headers: {
            'content-type': 'application/json',
            'user-agent': 'toolgate-reviewer',
            'x-toolgate-event': type,
            'x-toolgate-delivery': id,
            'x-toolgate-signature': signature,
          },
          signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), closing.signal]),
        });
        await res.body.dump();
        if (res.statusCode >= 200 && res.statusCode < 300) {
          metrics.webhookDeliveries.inc({ result: 'delivered' });
          return;
        }
        metrics.webhookDeliveries.inc({ result: `http_${res.statusCode}` });
      } catch {
        metrics.webhookDeliveries.inc({ result: closed ? 'aborted' : 'network_error' });
      }
      if (attempt === attempts || closed) break;
      const delay = baseDelayMs * 2 ** (attempt - 1) * (0.75 + Math.random() / 2);
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, delay);
        timers.add(t);
        closing.signal.addEventListener('abort', () => {
          clearTimeout(t);
          timers.delete(t);
          resolve();
        }, { once: true });
      });
    }
    metrics.webhookDeliveries.inc({ result: 'gave_up' });
  };

  return {
    get active() {
      return !closed && targets.length > 0;
    },
    emit(type, data) {
      if (closed || targets.length === 0) return;
      const id = randomUUID();
      const body = JSON.stringify({ id, type, createdAt: new Date().toISOString(), data });
      for (const target of targets) {
        if (inflight.size >= maxQueue) {
          metrics.webhookDeliveries.inc({ result: 'dropped' });
          continue;
        }
        const p: Promise<void> = Promise.resolve()
          .then(() => deliver(target, body, signWebhookBody(target.secret, body), type, id))
          .finally(() => inflight.delete(p));
        inflight.add(p);
      }
    },
    async close() {
      closed = true;
      closing.abort();
      for (const t of timers) clearTimeout(t);
      await Promise.allSettled([...inflight]);
      await agent?.close();
    },
  };
}
